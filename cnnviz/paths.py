"""Per-user folders (XDG) and the set-up a frozen bundle needs before Numba is imported."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_ID = "io.github.cnnviz.CnnViz"  # reverse-DNS id: .desktop file, metainfo, icon name
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)  # the icon's PNGs (hicolor sizes)


def xdg_home(variable: str, fallback: str) -> Path:
    """$XDG_<...>_HOME if set to an absolute path, else ~/<fallback> (the XDG rule)."""
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / fallback


def user_cache_dir() -> Path:
    """cnnviz's cache folder: $XDG_CACHE_HOME/cnnviz (~/.cache/cnnviz)."""
    return xdg_home("XDG_CACHE_HOME", ".cache") / "cnnviz"


def user_data_home() -> Path:
    """$XDG_DATA_HOME (~/.local/share): where applications/ and icons/ live."""
    return xdg_home("XDG_DATA_HOME", ".local/share")


def is_frozen() -> bool:
    """True inside the PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def configure_frozen() -> None:
    """In the bundle, Numba caches compiled kernels in the user's cache folder, never in
    the (possibly read-only, shared) bundle folder. Runs before Numba is imported."""
    if is_frozen():
        os.environ.setdefault("NUMBA_CACHE_DIR", str(user_cache_dir() / "numba"))
