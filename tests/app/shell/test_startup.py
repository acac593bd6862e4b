"""Fast first start: the window comes up on the opening network's forward kernels, the
rest compile in a background thread, and nothing ever compiles on the UI thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from cnnviz.app.controller import AppController
from cnnviz.app.shell.kernel_gate import KernelGate
from cnnviz.app.shell.main_window import MainWindow
from cnnviz.core.presets import get_preset
from cnnviz.core.spec import parse_spec

DRIVER = Path(__file__).with_name("startup_driver.py")
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_start_up_compiles_nothing_on_the_ui_thread(tmp_path):
    """A cold start (empty Numba cache) in a fresh interpreter, F10 pressed at once."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, str(DRIVER)], env=env, capture_output=True,
                         text=True, timeout=170, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    probe, records = (json.loads(line) for line in run.stdout.splitlines()
                      if line.startswith("{"))
    times, overloads = probe["times"], records["overloads"]
    on_ui_thread = [name for main, name, _ in overloads if main]
    assert on_ui_thread == [], f"compiled on the UI thread: {on_ui_thread}"
    # The forward kernels were there before the window said it was ready: F10 ran at once.
    assert not probe["waited"] and times["forward"] <= times["ready"] <= times["step"]
    # The rest finished afterwards, in the background thread.
    assert probe["stage"] == "all" and times["ready"] < times["pass"] <= times["all"]
    later = [name for _, name, when in overloads if when > times["ready"]]
    assert later, "nothing was left for the background: the window waited for everything"


def _spec(name: str) -> dict:
    return parse_spec(get_preset(name)).to_dict()


def test_the_gate_allows_steps_stage_by_stage():
    gate = KernelGate()
    lenet = _spec("lenet5")
    assert not gate.ready_for(lenet, "float32", "F0")
    gate.advance("forward", lenet)
    assert gate.ready_for(lenet, "float32", "F3")
    assert not gate.ready_for(lenet, "float32", "L")  # backward kernels still compiling
    assert not gate.ready_for(lenet, "float32", None)  # a whole pass
    assert not gate.ready_for(_spec("square"), "float32", "F0")  # another network
    assert not gate.ready_for(lenet, "float64", "F0")
    gate.advance("pass")
    assert gate.ready_for(lenet, "float32", "B4") and gate.ready_for(lenet, "float32", None)
    assert not gate.ready_for(_spec("square"), "float32", "F0")
    gate.advance("all")
    assert gate.finished and gate.ready_for(_spec("square"), "float64", None)


@pytest.fixture
def gated_window(qtbot, settings):
    """LeNet-5's window attached to a gate whose warm-up has not started."""
    win = MainWindow(AppController("lenet5"), settings=settings, theme="light")
    qtbot.addWidget(win)
    gate = KernelGate()
    win.attach_kernel_gate(gate)
    win.resize(1280, 800)
    win.show()
    return win, gate


def test_a_step_waits_for_its_kernels_with_a_busy_cursor(gated_window):
    win, gate = gated_window
    win.debugger.actions["step"].trigger()
    try:
        assert win.ctrl.stepper.cursor == 0 and gate.waiting
        assert QApplication.overrideCursor().shape() == Qt.CursorShape.BusyCursor
        win.debugger.actions["step"].trigger()  # a second press while waiting is dropped
        gate.advance("forward", win.ctrl.spec.to_dict())
        assert win.ctrl.stepper.cursor == 1 and not gate.waiting
        assert QApplication.overrideCursor() is None
        win.debugger.actions["run_to_end"].trigger()  # needs the backward kernels too
        assert win.ctrl.stepper.cursor == 1 and gate.waiting
        gate.advance("pass")
        assert win.ctrl.stepper.finished
    finally:
        while QApplication.overrideCursor() is not None:
            QApplication.restoreOverrideCursor()


def test_the_status_bar_shows_the_background_progress(gated_window, qtbot, artifacts_dir):
    win, gate = gated_window
    gate.advance("forward", win.ctrl.spec.to_dict())
    gate.progress.emit(2, 5, "pooling")
    progress = win.kernel_progress
    assert progress.isVisible() and "pooling (2/5)" in progress.label.text()
    assert progress.bar.value() == 2 and progress.bar.maximum() == 5
    qtbot.wait(50)  # the status bar lays the longer text out
    win.statusBar().grab().save(str(artifacts_dir / "status_bar_kernel_progress.png"))
    gate.advance("all")
    assert not progress.isVisible()


def test_the_splash_shows_the_icon_and_the_progress_without_waiting(qtbot, artifacts_dir):
    import time

    from cnnviz.app.shell import launch
    from cnnviz.app.shell.app_icon import app_icon_pixmap
    from cnnviz.app.shell.splash import Splash

    splash = Splash(app_icon_pixmap(128))
    qtbot.addWidget(splash)
    splash.resize(560, 200)
    started = time.perf_counter()
    splash.show()
    splash.finish(None)
    assert time.perf_counter() - started < 0.5  # QSplashScreen waits 1 s in each of these
    counts = dict.fromkeys(launch.KERNEL_FAMILIES, 0) | {"conv": 4}
    splash.showMessage(launch.splash_text(counts, 1.4))
    assert splash.message().startswith("cnnviz: preparing the numeric kernels")
    splash.grab().save(str(artifacts_dir / "splash.png"))


def test_the_warm_up_stops_between_parts_when_asked(qtbot):
    """Closing the window early does not wait for every kernel to compile."""
    from cnnviz.app.shell.launch import Warmup

    thread = Warmup()
    stages, parts = [], []

    def first_part(*args: object) -> None:  # runs in the thread: the app quits now
        parts.append(args)
        thread.requestInterruption()

    thread.stage_ready.connect(lambda stage, _spec: stages.append(stage),
                               Qt.ConnectionType.DirectConnection)
    thread.part.connect(first_part, Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(thread.finished, timeout=60_000):
        thread.start()
    assert parts == [(0, 4, "convolutions")] and stages == []  # no "all", no "failed"
