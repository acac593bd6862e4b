"""Helpers shared by the GUI tests (importable from every folder under tests/app, whose
conftest puts this folder on sys.path)."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QWidget

from cnnviz.app.controller import AppController
from cnnviz.app.shell.main_window import MainWindow

W = TypeVar("W", bound=QWidget)


def shown(qtbot, widget: W, *size: int) -> W:
    """Register the widget with qtbot (closed after the test), resize it to `size`, show
    it and wait until the window system has exposed it: the set-up of every test that
    draws or clicks."""
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def activated(qtbot, widget: W, *size: int) -> W:
    """Register, resize and show the widget, then wait until it is the active window
    (keyboard tests need the focus)."""
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget)
    return widget


def preset_window(qtbot, settings, preset: str, *size: int, active: bool = False,
                  **options) -> MainWindow:
    """A main window on a preset with fresh weights and the light theme, shown at `size`
    (1440×900 unless given) and, with `active`, the active window. `options` go to
    MainWindow (restore_layout=False, …)."""
    win = MainWindow(AppController(preset, user_weights=False), settings=settings,
                     theme="light", **options)
    return (activated if active else shown)(qtbot, win, *(size or (1440, 900)))


def pixel_rgb(widget: QWidget, pos: QPoint) -> tuple[int, int, int]:
    """The colour on screen at `pos` of the widget, read off a grab."""
    colour = widget.grab().toImage().pixelColor(pos)
    return colour.red(), colour.green(), colour.blue()


def expected_colour(x: np.ndarray, i: int, j: int) -> tuple[int, int, int]:
    """A (3, H, W) input's values at (i, j) as a colour: R, G, B in [0, 1] × 255, clipped."""
    return tuple(int(v) for v in np.round(np.clip(x[:, i, j], 0.0, 1.0) * 255))
