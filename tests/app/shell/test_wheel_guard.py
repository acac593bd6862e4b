"""Issue 13 item 9: the mouse wheel scrolls the docks; it never edits a spin box, combo box
or slider it merely passes over (only a focused one, and the wheel gives no focus)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gui_helpers import preset_window
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget

from cnnviz.app.shell.main_window import MainWindow
from cnnviz.app.widgets.wheel_guard import is_guarded

NOTCH = 120  # one click of a mouse wheel


@pytest.fixture
def window(qtbot, settings):
    """LeNet-5 in a window too short for its docks, so that the docks scroll."""
    win = preset_window(qtbot, settings, "lenet5", 1280, 560, restore_layout=False)
    return win


def wheel_over(widget: QWidget, notches: int) -> None:
    """A real wheel turn (through the window system) over the middle of `widget`."""
    win = widget.window()
    pos = widget.mapTo(win, widget.rect().center())
    QTest.wheelEvent(win.windowHandle(), QPointF(pos), QPoint(0, NOTCH * notches))
    QApplication.processEvents()


def dock_scroll(win: MainWindow, key: str) -> QScrollArea:
    """The scroll area around a dock's panel (the dock raised)."""
    win.docks[key].raise_()
    QApplication.processEvents()
    area = win.docks[key].widget()
    assert isinstance(area, QScrollArea)
    return area


def assert_wheel_scrolls(win: MainWindow, key: str, widget: QWidget,
                         value: Callable[[], object]) -> None:
    """Wheel over an unfocused `widget`: its value stays, the dock scrolls instead."""
    area = dock_scroll(win, key)
    bar = area.verticalScrollBar()
    assert bar.maximum() > 0, "the test needs a dock that scrolls"
    bar.setValue(bar.maximum())
    area.ensureWidgetVisible(widget)  # scrolled as far down as the widget stays in view
    QApplication.processEvents()
    before_value, before_scroll = value(), bar.value()
    assert not widget.hasFocus()
    up = before_scroll > 0  # wheel towards the side where there is room to scroll
    wheel_over(widget, +3 if up else -3)
    assert value() == before_value
    scrolled = bar.value() < before_scroll if up else bar.value() > before_scroll
    assert scrolled, "the wheel should have scrolled the dock"
    assert not widget.hasFocus(), "the wheel must not give the focus"


def test_wheel_over_out_channels_leaves_the_spec_and_the_pass(window, qtbot):
    win = window
    editor = win.panels["editor"]
    for _ in range(2):
        qtbot.keyClick(win, Qt.Key.Key_F10)
    editor.table.select_row(3)  # conv2d 16 @ 5×5
    spin = editor.form.fields["out_channels"]
    assert spin.value() == 16
    spec, cursor, network = editor.spec_dict(), win.ctrl.stepper.cursor, win.ctrl.network
    assert_wheel_scrolls(win, "editor", spin, spin.value)
    assert editor.spec_dict() == spec
    assert win.ctrl.stepper.cursor == cursor == 2 and win.ctrl.network is network
    win.docks["editor"].widget().ensureWidgetVisible(spin)
    spin.setFocus()  # a focused spin box still takes the wheel
    qtbot.waitUntil(spin.hasFocus)
    wheel_over(spin, +1)
    assert spin.value() == 17


def test_wheel_over_a_combo_box_and_a_slider_scrolls_their_dock(window):
    win = window
    training = win.panels["training"]
    assert_wheel_scrolls(win, "training", training.optimizer_box,
                         training.optimizer_box.currentText)
    slider = win.panels["input"].width_slider
    assert_wheel_scrolls(win, "input", slider, slider.value)


def test_the_toolbar_speed_slider_ignores_the_wheel_unfocused(window):
    slider = window.debugger.speed_slider
    before = slider.value()
    wheel_over(slider, -2)
    assert slider.value() == before


def test_no_value_widget_in_the_window_takes_focus_from_the_wheel(window):
    guarded = [w for w in window.findChildren(QWidget) if is_guarded(w)]
    assert len(guarded) > 10
    wheel_focus = [type(w).__name__ for w in guarded
                   if w.focusPolicy() == Qt.FocusPolicy.WheelFocus]
    assert wheel_focus == []
