"""`pip install .` ships the bundled weights: a built wheel holds every preset's .npz and
.json under cnnviz/resources/weights."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cnnviz.core.presets import preset_names

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_ships_the_bundled_weights(tmp_path):
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns(".git", "tests", "benchmarks", "build", "dist", ".venv*",
                                    "*.egg-info", "__pycache__", "artifacts")
    shutil.copytree(ROOT, source, ignore=ignore)
    # pip builds in an isolated environment with the setuptools pyproject.toml asks for (a
    # fresh venv's own setuptools is too old for it)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("cnnviz-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for preset in preset_names():
        for suffix in ("npz", "json"):
            assert f"cnnviz/resources/weights/{preset}.{suffix}" in names
