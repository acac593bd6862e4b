"""Helpers shared by the GUI tests (importable from every folder under tests/app, whose
conftest puts this folder on sys.path)."""

from __future__ import annotations

from typing import TypeVar

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
