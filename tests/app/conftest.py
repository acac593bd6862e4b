"""GUI test set-up: every test must leave no QThread / Python thread running and no active
QTimer under a window; each test gets settings on a temp file, never the user's."""

from __future__ import annotations

import gc
import threading

import pytest
from PySide6.QtCore import QSettings, QThread, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QStatusBar

GRACE_MS = 1000  # a thread told to stop may need a moment to return from run()


def _running_qthreads() -> list[str]:
    """QThreads (other than the main one) that are still running after a short grace."""
    main = QApplication.instance().thread() if QApplication.instance() else None
    found = []
    for obj in gc.get_objects():
        try:
            # type(), not isinstance(): some modules (torch) warn when their objects are probed
            running = issubclass(type(obj), QThread) and obj is not main and obj.isRunning()
            if running and not obj.wait(GRACE_MS):
                found.append(f"QThread {type(obj).__name__} {obj.objectName()!r}")
        except RuntimeError:  # the C++ object is already gone
            continue
    return found


# The core's kernel thread pool lives as long as the process, by design (like BLAS's
# threads); a QThread that touches `threading` registers a placeholder _DummyThread.
PERMANENT_THREAD_PREFIXES = ("cnnviz-kernel",)


def _is_permanent(thread: threading.Thread) -> bool:
    dummy = isinstance(thread, threading._DummyThread)  # noqa: SLF001 - no public name for it
    return dummy or thread.name.startswith(PERMANENT_THREAD_PREFIXES)


def _new_python_threads(before: set[threading.Thread]) -> list[str]:
    """Python threads started during the test and still alive after a short grace."""
    found = []
    for thread in threading.enumerate():
        if thread not in before and thread.is_alive() and not _is_permanent(thread):
            thread.join(GRACE_MS / 1000)
            if thread.is_alive():
                found.append(f"thread {thread.name!r}")
    return found


def _active_timers() -> list[str]:
    """Active QTimers that Python code made and gave a parent (a panel, a window, a
    worker); a status bar's message timeout is not work left running (it only clears the
    text). Found through the garbage collector's list of Python objects, not by walking
    Qt's widget tree: findChildren() over the top-level windows segfaulted in full runs
    on a closed window's half-destroyed widgets."""
    found = []
    for obj in gc.get_objects():
        if not issubclass(type(obj), QTimer):
            continue
        try:
            parent = obj.parent()
            if obj.isActive() and parent is not None and not isinstance(parent, QStatusBar):
                found.append(f"QTimer {obj.objectName()!r} of {type(parent).__name__} "
                             f"({obj.interval()} ms)")
        except RuntimeError:  # the C++ object is already gone
            continue
    return found


@pytest.fixture(autouse=True)
def no_leftover_threads_or_timers(qtbot):
    """Fail a test that leaves a thread running or a timer active (checked before the
    test's widgets are closed, so the timers are still reachable)."""
    before = set(threading.enumerate())
    yield
    problems = _active_timers() + _running_qthreads() + _new_python_threads(before)
    assert not problems, "left running after the test: " + "; ".join(problems)


@pytest.fixture
def dialogs(monkeypatch) -> list[tuple[str, str]]:
    """Warning dialogs recorded as (title, text) instead of shown (offscreen they would
    block the test)."""
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda parent, title, text, *a, **k: shown.append((title, text)))
    return shown


@pytest.fixture
def settings(tmp_path) -> QSettings:
    """QSettings on a temp file, so tests never read or write the user's settings."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture(autouse=True)
def user_data_dir(tmp_path, monkeypatch):
    """Trained-weights lookups go to an empty temp folder, not the user's."""
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "data"))
