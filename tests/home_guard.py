"""The test session's home isolation, imported by tests/conftest.py at collection time.

HOME, the XDG folders and CNNVIZ_DATA_DIR are pointed at one temporary folder by
assigning `os.environ` directly when this module is first imported (before any test,
fixture or `monkeypatch` exists): `monkeypatch.undo()` in a test cannot restore the real
ones, and subprocesses (the CLI tests) inherit them. An audit hook (which nothing can
remove) records every write, rename, mkdir or delete under the real home.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REAL_HOME = Path(os.path.expanduser("~")).resolve()
TEST_ROOT = Path(tempfile.mkdtemp(prefix="cnnviz-tests-")).resolve()
# Folders a test may write to even when they sit under the home: the session's temporary
# folder, the checkout (tests/artifacts, Numba's in-tree cache), the venv, $TMPDIR.
ALLOWED = [TEST_ROOT, Path(__file__).resolve().parents[1], Path(sys.prefix).resolve(),
           Path(tempfile.gettempdir()).resolve()]
ISOLATED_ENV = {
    "HOME": TEST_ROOT / "home",
    "XDG_DATA_HOME": TEST_ROOT / "home" / ".local" / "share",
    "XDG_CONFIG_HOME": TEST_ROOT / "home" / ".config",
    "XDG_CACHE_HOME": TEST_ROOT / "home" / ".cache",
    "XDG_STATE_HOME": TEST_ROOT / "home" / ".local" / "state",
    "CNNVIZ_DATA_DIR": TEST_ROOT / "cnnviz-data",
}
for _name, _folder in ISOLATED_ENV.items():
    _folder.mkdir(parents=True, exist_ok=True)
    os.environ[_name] = str(_folder)

# Paths written under the real home during the run (filled by the audit hook).
HOME_WRITES: list[str] = []
_WRITE_EVENTS = {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.chmod",
                 "os.truncate", "shutil.rmtree", "shutil.move", "shutil.copyfile"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def under_real_home(path: object) -> bool:
    """Whether a path (str, bytes or PathLike) lies under the real home but outside the
    ALLOWED folders (a home of "/" would hold everything: then nothing is checked)."""
    try:
        text = os.fsdecode(os.fspath(path))  # type: ignore[arg-type]
    except TypeError:
        return False  # a file descriptor: its path was checked when it was opened
    full = os.path.abspath(text)
    inside = lambda root: full == str(root) or full.startswith(str(root) + os.sep)  # noqa: E731
    if Path(REAL_HOME.anchor) == REAL_HOME:
        return False
    return inside(REAL_HOME) and not any(inside(root) for root in ALLOWED)


def is_write(event: str, args: tuple) -> bool:
    """Whether an audit event changes the file system (an open for writing, a rename ...)."""
    if event == "open":
        mode, flags = args[1], args[2]
        if isinstance(mode, str):
            return any(c in mode for c in "wax+")
        return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
    return event in _WRITE_EVENTS


def _audit(event: str, args: tuple) -> None:
    """Record writes under the real home (an audit hook cannot be removed or undone)."""
    if event == "open" or event in _WRITE_EVENTS:
        paths = args[:2] if event in ("os.rename", "shutil.move", "shutil.copyfile") else args[:1]
        if is_write(event, args) and any(under_real_home(p) for p in paths):
            HOME_WRITES.append(f"{event} {paths}")


sys.addaudithook(_audit)


