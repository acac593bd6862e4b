"""The user's kept weights, per preset and dataset, so the app can open a network the user
trained; plus reading and writing weight files (.npz, no pickle)."""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz.data.arrays import ZIP_MAGIC, read_npz
from cnnviz.data.errors import DataError
from cnnviz.data.fileio import open_regular_file, write_bytes_atomically

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def user_data_dir() -> Path:
    """$CNNVIZ_DATA_DIR, else $XDG_DATA_HOME/cnnviz, else ~/.local/share/cnnviz."""
    override = os.environ.get("CNNVIZ_DATA_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "cnnviz"


def dataset_key(dataset: str) -> str:
    """A file-name-safe key for a dataset name (a path keeps a short hash of itself)."""
    name = str(dataset)
    if _SAFE_NAME.match(name) and len(name) <= 60:
        return name
    stem = re.sub(r"[^A-Za-z0-9_.\-]+", "_", Path(name).name or "data").strip("._-")[:40]
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{stem or 'data'}-{digest}"


def user_weights_path(preset: str, dataset: str) -> Path:
    """Where the weights kept for a preset trained on a dataset are:
    <data dir>/weights/<preset>/<dataset>.npz (the dataset's name, e.g. mnist)."""
    if not _SAFE_NAME.match(preset):
        raise ValueError(f"not a usable preset name for a file: {preset!r}")
    return user_data_dir() / "weights" / preset / f"{dataset_key(dataset)}.npz"


def save_weights_npz(path: str | os.PathLike, state_dict: dict[str, np.ndarray]) -> None:
    """Write a state dict as .npz (keys are parameter names), atomically, without pickle."""
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in state_dict.items()})
    write_bytes_atomically(path, buffer.getvalue())


def load_weights_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a .npz of weights; ValueError (naming the file and the problem: missing, a
    .npy, pickled objects, over the memory budget ...) if it is not usable."""
    try:
        with open_regular_file(path) as handle:
            head = handle.read(6)
            handle.seek(0)
            if head[:4] != ZIP_MAGIC:
                what = ("one array (.npy)" if head == b"\x93NUMPY" else "another kind of file")
                raise ValueError(f"{path}: not a readable .npz of weights ({what}, not an "
                                 ".npz archive of named arrays)")
            return read_npz(handle, path)
    except DataError as error:
        raise ValueError(str(error)) from None


def save_user_weights(preset: str, dataset: str, net: Any) -> Path:
    """Keep net's weights as the user's weights of preset on dataset; returns the file."""
    path = user_weights_path(preset, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_weights_npz(path, net.state_dict())
    return path


def load_user_weights(preset: str, dataset: str, net: Any) -> bool:
    """Load the user's kept weights of preset on dataset into net; False if there are
    none or they do not fit (net untouched). Files of cnnviz 0.1, which kept one
    <preset>.npz per preset after every run, are not read (see docs/training.md)."""
    try:
        path = user_weights_path(preset, dataset)
    except ValueError:
        return False
    if not path.is_file():
        return False
    try:
        return load_fitting(net, load_weights_npz(path))
    except ValueError:
        return False


def load_fitting(net: Any, state: dict[str, np.ndarray]) -> bool:
    """Load a state dict into net if its names and shapes fit (cast to net's dtype)."""
    current = net.state_dict()
    if set(state) != set(current) or any(
            state[k].shape != current[k].shape for k in current):
        return False
    try:
        net.load_state_dict({k: v.astype(current[k].dtype) for k, v in state.items()})
    except (ValueError, TypeError):
        net.load_state_dict(current)
        return False
    return True
