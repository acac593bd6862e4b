"""Small file helpers shared by the loaders: existence checks, atomic writes, bundled files."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import IO, BinaryIO

from cnnviz.data.errors import DataError

# What a path names, when it is not a regular file, in words.
_SPECIAL = [(stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")]
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


class NotAFileError(DataError):
    """A user path that is not a readable regular file; `reason` says why, without the path."""

    def __init__(self, path: Path, reason: str, missing: bool = False) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.missing = path, reason, missing


def _kind_problem(mode: int) -> str | None:
    """Why a file of this st_mode cannot be read as data (None: a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    kind = next((name for test, name in _SPECIAL if test(mode)), "a special file")
    return f"is {kind}, not a regular file"


def regular_file(path: str | os.PathLike) -> Path:
    """The path as a Path if it names a regular file (symlinks followed), else NotAFileError
    saying it is missing, a directory or a FIFO; stat() never blocks, unlike open()."""
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise NotAFileError(p, "no such file", missing=True) from None
    except OSError as error:
        raise NotAFileError(p, f"cannot read it ({error.strerror or error})") from None
    problem = _kind_problem(mode)
    if problem:
        raise NotAFileError(p, problem)
    return p


def open_regular_file(path: str | os.PathLike) -> BinaryIO:
    """Open a regular file for reading; every user path is opened this way.

    O_NONBLOCK keeps a FIFO swapped in after the stat from blocking the open, and fstat
    checks what was actually opened; on a regular file O_NONBLOCK changes nothing.
    """
    p = regular_file(path)
    try:
        fd = os.open(p, _OPEN_FLAGS)
    except OSError as error:
        raise NotAFileError(p, f"cannot read it ({error.strerror or error})") from None
    problem = _kind_problem(os.fstat(fd).st_mode)
    if problem:
        os.close(fd)
        raise NotAFileError(p, problem)
    return os.fdopen(fd, "rb")


def read_regular_file(path: str | os.PathLike, max_bytes: int) -> bytes:
    """At most max_bytes + 1 bytes of a regular file (the caller refuses the +1)."""
    with open_regular_file(path) as handle:
        return handle.read(max_bytes + 1)


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

    In a source checkout (a pyproject.toml beside cnnviz/) the files are its resources/
    folder, even when an editable install of another checkout provides cnnviz.resources;
    installed, they are the package cnnviz.resources.
    """
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "resources").is_dir():
        return (checkout / "resources").joinpath(*parts)
    try:
        root: Traversable = resources.files("cnnviz.resources")
    except ModuleNotFoundError:
        root = checkout / "resources"
    return root.joinpath(*parts)
