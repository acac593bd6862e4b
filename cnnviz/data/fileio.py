"""Small file helpers shared by the loaders: existence checks, atomic writes, bundled files."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import IO

from cnnviz.data.errors import DataError


def existing_file(path: str | os.PathLike) -> Path:
    """The path as a Path, or DataError if it is missing or not a regular file."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if not p.is_file():
        raise DataError(f"{p}: not a file")
    return p


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call write(handle) on a temp file beside `path`, then os.replace it into place."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` so that the file is either complete or untouched."""
    write_atomically(path, lambda handle: handle.write(data))


def bundled_file(*parts: str) -> Traversable:
    """A file shipped in cnnviz.resources, e.g. bundled_file("samples", "digit_7.png").

    Installed, the files are the package cnnviz.resources; in a source checkout that is
    imported without installing, they are the resources/ folder beside cnnviz/.
    """
    try:
        root: Traversable = resources.files("cnnviz.resources")
    except ModuleNotFoundError:
        root = Path(__file__).resolve().parents[2] / "resources"
    return root.joinpath(*parts)
