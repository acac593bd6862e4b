"""Menu actions the shell builds: one helper so every action names its shortcut the same way."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

Shortcut = str | QKeySequence | QKeySequence.StandardKey | None


def add_action(owner: QWidget, menu: QMenu, text: str, slot: Callable[[], object],
               shortcut: Shortcut = None) -> QAction:
    """A menu action with an optional shortcut named in its tooltip."""
    action = QAction(text, owner)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{text} ({action.shortcut().toString()})")
    action.triggered.connect(lambda _=False: slot())
    menu.addAction(action)
    return action
