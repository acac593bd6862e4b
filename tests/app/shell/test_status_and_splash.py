"""Issue 13 item 16 (window part): the status bar says how training ended and forgets old
news; Play is disabled while training runs; the cold-start splash shows progress."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QSplashScreen

from cnnviz.app.controller import AppController
from cnnviz.app.shell import launch
from cnnviz.app.shell import main_window as mw
from cnnviz.app.shell.main_window import MainWindow
from cnnviz.data.shapes import make_shapes

WAIT_MS = 60_000


@pytest.fixture
def window(qtbot, settings):
    """The `square` network in a window, with a small shapes dataset to train on."""
    ctrl = AppController("square", user_weights=False)
    ctrl.set_dataset(make_shapes(n=120, size=8, classes=("square", "other"), seed=1))
    win = MainWindow(ctrl, settings=settings, theme="light", restore_layout=False)
    qtbot.addWidget(win)
    win.resize(1440, 900)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    yield win
    win.panels["training"].shutdown()


def train(qtbot, win: MainWindow, epochs: int) -> str:
    """Start a run with the Start button and wait for its end; the final state."""
    panel = win.panels["training"]
    panel.optimizer_box.setCurrentText("sgd")
    panel.lr_box.setValue(0.5)
    panel.batch_box.setValue(8)
    panel.epochs_box.setValue(epochs)
    with qtbot.waitSignal(panel.run_changed, timeout=WAIT_MS,
                          check_params_cb=lambda s: s not in ("running", "paused")) as blocker:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def test_a_finished_run_is_reported_as_finished(window, qtbot):
    assert train(qtbot, window, epochs=1) == "finished"
    message = window.statusBar().currentMessage()
    assert "finished" in message.lower() and "stopped" not in message.lower()


def test_status_messages_go_away(window, qtbot, monkeypatch):
    monkeypatch.setattr(mw, "STATUS_MS", 200)
    window.ctrl.status_changed.emit("New network: 3 layers")
    assert window.statusBar().currentMessage() == "New network: 3 layers"
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "", timeout=3000)


def test_play_is_disabled_while_training(window, qtbot):
    play = window.debugger.actions["play"]
    window.ctrl.begin_training()
    assert not play.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.debugger.playing and window.ctrl.stepper.cursor == 0
    with qtbot.waitSignal(window.ctrl.weights_changed):
        window.ctrl.end_training("finished")
    assert play.isEnabled()
    assert window.statusBar().currentMessage().startswith("Training finished")


def test_the_splash_counts_the_compiled_kernels(qtbot):
    from cnnviz.core import warmup

    warmup("float32")  # as the launcher's worker thread does
    counts = launch.kernel_counts()
    assert set(counts) == set(launch.KERNEL_FAMILIES)
    assert counts["conv"] > 0 and counts["pool"] > 0 and sum(counts.values()) >= 8
    splash = QSplashScreen()
    qtbot.addWidget(splash)
    progress = launch.SplashProgress(splash)
    progress.start()
    try:
        assert progress.timer.isActive()
        assert f"{sum(counts.values())} ready" in splash.message()
    finally:
        progress.stop()
    assert launch.splash_text(dict.fromkeys(counts, 0), 3.2).startswith(
        "cnnviz: loading the numeric core")
