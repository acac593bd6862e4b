"""The test suite cannot touch the user's home: every folder the code writes to resolves
under the session's temporary root, even after a test calls `monkeypatch.undo()`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import home_guard

from cnnviz.engine.userweights import user_data_dir, user_weights_path


def _under_test_root(path: str | Path) -> bool:
    """Whether path lies inside the session's temporary root."""
    return Path(path).resolve().is_relative_to(home_guard.TEST_ROOT)


def test_home_and_xdg_folders_point_under_the_temporary_root():
    for name in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
                 "CNNVIZ_DATA_DIR"):
        assert _under_test_root(os.environ[name]), f"${name} = {os.environ[name]}"
    assert _under_test_root(Path.home())
    assert _under_test_root(user_data_dir())
    assert _under_test_root(user_weights_path("lenet5", "mnist"))


def test_monkeypatch_undo_cannot_restore_the_real_home(monkeypatch):
    """What once wrote ~/.local/share/cnnviz/weights/square.npz: undo() in a test."""
    monkeypatch.delenv("CNNVIZ_DATA_DIR")
    monkeypatch.setenv("HOME", "/somewhere/else")
    monkeypatch.undo()
    assert _under_test_root(os.environ["HOME"])
    assert _under_test_root(user_weights_path("square", "shapes-8x8-2"))
    monkeypatch.delenv("CNNVIZ_DATA_DIR")  # even without the override: XDG_DATA_HOME
    assert _under_test_root(user_weights_path("square", "shapes-8x8-2"))


def test_subprocesses_and_qt_settings_resolve_under_the_temporary_root():
    """The CLI tests run `cnnviz` in subprocesses; Qt's QSettings follows XDG_CONFIG_HOME."""
    code = ("from PySide6.QtCore import QSettings\n"
            "from cnnviz.engine.userweights import user_data_dir\n"
            "print(user_data_dir()); print(QSettings('cnnviz', 'cnnviz').fileName())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[1]).stdout.split("\n")
    assert _under_test_root(out[0]) and _under_test_root(out[1]), out


def test_the_guard_recognises_writes_under_the_real_home():
    """The audit hook's predicates: a write under the real home counts, a read does not."""
    target = home_guard.REAL_HOME / ".local" / "share" / "cnnviz" / "weights" / "square.npz"
    if Path(home_guard.REAL_HOME.anchor) != home_guard.REAL_HOME:
        assert home_guard.under_real_home(target)
        assert home_guard.under_real_home(os.fsencode(target))
    assert not home_guard.under_real_home(home_guard.TEST_ROOT / "x.npz")
    assert not home_guard.under_real_home(3)  # a file descriptor
    assert home_guard.is_write("open", (str(target), "wb", 0))
    assert home_guard.is_write("open", (str(target), None, os.O_WRONLY | os.O_CREAT))
    assert not home_guard.is_write("open", (str(target), "rb", 0))
    assert not home_guard.is_write("open", (str(target), None, os.O_RDONLY))
    assert home_guard.is_write("os.rename", (str(target), str(target)))
