"""Remembered trained weights per preset, so the app can open a network the user trained."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz.data.fileio import write_bytes_atomically

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def user_data_dir() -> Path:
    """$CNNVIZ_DATA_DIR, else $XDG_DATA_HOME/cnnviz, else ~/.local/share/cnnviz."""
    override = os.environ.get("CNNVIZ_DATA_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "cnnviz"


def user_weights_path(preset: str) -> Path:
    """Where the weights trained for a preset are kept: <data dir>/weights/<preset>.npz."""
    if not _SAFE_NAME.match(preset):
        raise ValueError(f"not a usable preset name for a file: {preset!r}")
    return user_data_dir() / "weights" / f"{preset}.npz"


def save_weights_npz(path: str | os.PathLike, state_dict: dict[str, np.ndarray]) -> None:
    """Write a state dict as .npz (keys are parameter names), atomically, without pickle."""
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in state_dict.items()})
    write_bytes_atomically(path, buffer.getvalue())


def load_weights_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a .npz of weights; ValueError if it is not a readable array archive."""
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("one array (.npy), not an .npz archive of named arrays")
        with data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        detail = "not an .npz archive" if "pickle" in str(error) else str(error)
        raise ValueError(f"{path}: not a readable .npz of weights ({detail})") from error


def save_user_weights(preset: str, net: Any) -> Path:
    """Remember net's weights as the trained weights of preset; returns the file written."""
    path = user_weights_path(preset)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_weights_npz(path, net.state_dict())
    return path


def load_user_weights(preset: str, net: Any) -> bool:
    """Load the remembered weights of preset into net; False if none fit (net untouched)."""
    try:
        path = user_weights_path(preset)
    except ValueError:
        return False
    if not path.is_file():
        return False
    try:
        state = load_weights_npz(path)
    except ValueError:
        return False
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
