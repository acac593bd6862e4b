"""The main window: docks, defaults, and the debugger keys driving the engine and panels."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.pipeline import INPUT
from cnnviz.app.shell.main_window import DOCKS, MainWindow


@pytest.fixture
def window(qtbot, settings):
    """A main window on the small `square` network, shown offscreen."""
    win = MainWindow(AppController("square"), settings=settings, theme="light")
    qtbot.addWidget(win)
    win.resize(1280, 800)
    show_active(qtbot, win)
    return win


def show_active(qtbot, win: MainWindow) -> None:
    """Show the window and wait until it is the active window (shortcuts need that)."""
    win.show()
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)


def shown_pipeline(win: MainWindow, key) -> np.ndarray:
    """The array a pipeline column currently draws."""
    return win.panels["pipeline"].column(key).thumbs.array


def test_default_window_opens_lenet5_on_a_seven_ready_to_step(qtbot, settings, artifacts_dir):
    import cnnviz.app

    assert cnnviz.app.MainWindow is MainWindow
    win = cnnviz.app.MainWindow(settings=settings, theme="light")
    qtbot.addWidget(win)
    win.resize(1280, 800)
    show_active(qtbot, win)
    assert [win.docks[k].objectName() for k in DOCKS] == DOCKS
    assert win.ctrl.preset_name == "lenet5"
    assert win.ctrl.input_label == 7 and win.ctrl.input_image.shape == (1, 28, 28)
    assert win.ctrl.stepper.cursor == 0
    for key in ("editor", "input", "training"):  # the other engineers' panels, not a note
        assert not isinstance(win.panels[key], QLabel), f"{key} panel missing"
    for _ in range(3):
        qtbot.keyClick(win, Qt.Key.Key_F10)
    assert win.ctrl.stepper.current.name == "F2"
    win.ctrl.select_unit(0, (1, 10, 12))
    win.grab().save(str(artifacts_dir / "main_window_lenet5_F2_1280x800.png"))
    qtbot.keyClick(win, Qt.Key.Key_F5)  # no breakpoints: to the end of the pass
    assert win.ctrl.stepper.finished
    win.grab().save(str(artifacts_dir / "main_window_lenet5_U_1280x800.png"))


def test_f10_through_a_pass_shows_the_engine_records(window, qtbot, artifacts_dir):
    """Every step: the pipeline column and inspector tab show exactly the record's array."""
    win, st = window, window.ctrl.stepper
    inspector = win.panels["inspector"]
    for k in range(len(st.steps)):
        qtbot.keyClick(win, Qt.Key.Key_F10)
        rec = st.current
        assert rec.name == st.steps[k]
        if rec.kind == "forward":
            np.testing.assert_array_equal(shown_pipeline(win, rec.layer), rec.values["output"][0])
            win.ctrl.select_layer(rec.layer)
            view = inspector.show_tab("maps")
            np.testing.assert_array_equal(view.shown_maps().reshape(rec.values["output"][0].shape),
                                          rec.values["output"][0])
        elif rec.kind == "backward":
            key = INPUT if rec.layer == 0 else rec.layer - 1
            np.testing.assert_array_equal(shown_pipeline(win, key), rec.values["grad_input"][0])
            if rec.layer > 0:
                win.ctrl.select_layer(rec.layer - 1)
                view = inspector.show_tab("deltas")
                shown = view.shown_maps().reshape(rec.values["grad_input"][0].shape)
                np.testing.assert_array_equal(shown, rec.values["grad_input"][0])
        if k in (2, len(st.steps) - 1):
            win.grab().save(str(artifacts_dir / f"main_window_square_{rec.name}.png"))
    assert st.finished
    qtbot.keyClick(win, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    assert st.cursor == len(st.steps) - 1 and st.current.name == "B0"
    np.testing.assert_array_equal(shown_pipeline(win, INPUT), st.current.values["grad_input"][0])
    for _ in range(len(st.steps) - 1):
        qtbot.keyClick(win, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    assert st.cursor == 0
    np.testing.assert_array_equal(shown_pipeline(win, INPUT), win.ctrl.input_image)
    assert shown_pipeline(win, 0) is None


def test_back_after_update_restores_the_weights(window, qtbot):
    win = window
    before = win.ctrl.network.state_dict()
    qtbot.keyClick(win, Qt.Key.Key_F5, Qt.KeyboardModifier.ControlModifier)  # run to end
    assert win.ctrl.stepper.finished
    changed = win.ctrl.network.state_dict()
    assert any(not np.array_equal(before[k], changed[k]) for k in before)
    qtbot.keyClick(win, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    after = win.ctrl.network.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_a_breakpoint_set_in_the_pipeline_stops_f5(window, qtbot):
    win = window
    marker = win.panels["pipeline"].column(2).markers["B2"]
    qtbot.mouseClick(marker, Qt.MouseButton.LeftButton)
    assert win.ctrl.stepper.breakpoints == {"B2"}
    assert marker.isChecked()
    qtbot.keyClick(win, Qt.Key.Key_F5)
    assert win.ctrl.stepper.current.name == "B2"
    assert "B2 done" in win.step_label.text()
    qtbot.keyClick(win, Qt.Key.Key_F5)
    assert win.ctrl.stepper.finished


def test_reset_and_play(window, qtbot):
    win = window
    for _ in range(4):
        qtbot.keyClick(win, Qt.Key.Key_F10)
    qtbot.keyClick(win, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert win.ctrl.stepper.cursor == 0
    win.debugger.set_interval(30)
    win.debugger.actions["play"].trigger()
    assert win.debugger.playing
    qtbot.waitUntil(lambda: win.ctrl.stepper.finished, timeout=5000)
    assert not win.debugger.playing  # stopped by itself at the end of the pass
    win.debugger.play()
    assert win.debugger.playing
    win.close()  # closing stops the animation
    assert not win.debugger.playing


def test_presentation_mode_hides_secondary_docks_and_enlarges_fonts(window, qtbot):
    win = window
    size = win.font().pointSize()
    qtbot.keyClick(win, Qt.Key.Key_F11)
    assert win.presentation
    assert all(not win.docks[k].isVisible() for k in ("editor", "input", "training"))
    assert win.docks["pipeline"].isVisible() and win.docks["explain"].isVisible()
    qtbot.waitUntil(lambda: win.font().pointSize() > size)
    qtbot.keyClick(win, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: win.font().pointSize() == size)
    assert all(win.docks[k].isVisible() for k in ("editor", "input", "training"))


def test_stepping_is_refused_while_training(window, qtbot):
    win = window
    win.ctrl.begin_training()
    assert not win.debugger.actions["step"].isEnabled()
    win.ctrl.step()
    assert win.ctrl.stepper.cursor == 0
    with qtbot.waitSignal(win.ctrl.weights_changed):
        win.ctrl.end_training()
    assert win.debugger.actions["step"].isEnabled()


def test_kernel_warmup_runs_off_the_ui_thread_and_finishes(qtbot):
    from PySide6.QtCore import QThread

    from cnnviz.app.shell.launch import Warmup

    thread = Warmup()
    seen = []
    thread.finished_in.connect(seen.append)
    with qtbot.waitSignal(thread.finished, timeout=120_000):
        thread.start()
        assert thread is not QThread.currentThread()
    assert seen and seen[0] >= 0.0  # the core's warmup ran and reported its time
    assert not thread.isRunning()


def test_cnnviz_without_arguments_launches_the_window(monkeypatch):
    from cnnviz import cli

    calls = []
    monkeypatch.setattr("cnnviz.app.shell.launch.launch", lambda: calls.append("launch") or 0)
    assert cli.main([]) == 0
    assert calls == ["launch"]


def test_the_pyside_refcount_workaround_is_active_where_needed():
    """PySide6 6.12.0 on Python 3.11 steals a reference to True per emit(); the app must
    have protected the singletons, or a long session aborts in bool_dealloc."""
    import sys

    from cnnviz.app import qt_compat

    if sys.version_info < (3, 12) and qt_compat.emit_steals_references():
        assert qt_compat.APPLIED
        assert sys.getrefcount(True) > qt_compat.HEADROOM // 2
        assert sys.getrefcount(None) > qt_compat.HEADROOM // 2


def test_dropping_an_image_file_onto_the_window_sets_the_input(window, tmp_path):
    """Issue 7: an image dragged anywhere onto the window becomes the network's input."""
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    from cnnviz.data import load_image

    path = tmp_path / "blob.png"
    image = np.zeros((8, 8), dtype=np.uint8)
    image[2:6, 2:6] = 255
    from PIL import Image

    Image.fromarray(image).save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(window.rect().center(), *args)
    enter.ignore()
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(window.rect().center()), *args)
    QApplication.sendEvent(window, drop)
    expected = load_image(path, size=(8, 8))
    np.testing.assert_allclose(window.ctrl.input_image[0], expected, atol=1e-6)
