"""In the bundle, Numba's cache goes to the user's XDG cache folder, not the bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cnnviz import paths


def test_frozen_sets_the_numba_cache_to_the_xdg_cache(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    paths.configure_frozen()
    expected = Path(os.environ["XDG_CACHE_HOME"]) / "cnnviz" / "numba"
    assert os.environ["NUMBA_CACHE_DIR"] == str(expected)


def test_not_frozen_leaves_numba_alone(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    paths.configure_frozen()
    assert "NUMBA_CACHE_DIR" not in os.environ


def test_a_relative_xdg_folder_is_ignored(monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert paths.user_cache_dir() == Path.home() / ".cache" / "cnnviz"


def test_every_resource_file_is_in_the_wheel_s_package_data():
    """pyproject.toml's package-data patterns (setuptools globs) cover all of resources/."""
    import glob
    import tomllib

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["package-data"]["cnnviz.resources"]
    resources = root / "resources"
    covered = {Path(p) for pattern in patterns for p in glob.glob(str(resources / pattern))}
    files = {p for p in resources.rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and p.name != "__init__.py"}
    assert sorted(map(str, files - covered)) == []
