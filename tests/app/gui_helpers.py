"""Helpers shared by the GUI tests (importable from every folder under tests/app, whose
conftest puts this folder on sys.path)."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QWidget

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
