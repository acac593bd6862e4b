"""The weight actions of the window: File → Reset weights / Revert to bundled weights /
Keep these weights, Edit → Undo weights change (Ctrl+Alt+Z), and a status-bar field that
says where the weights come from.

Ctrl+Alt+Z, not Ctrl+Z: the layer editor's own undo (Ctrl+Z, Ctrl+Shift+Z) works while
the editor has the focus, and a window-wide Ctrl+Z would make that shortcut ambiguous.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow, QMenu

from cnnviz.app.controller import AppController
from cnnviz.app.shell.menus import add_action

UNDO_KEYS = "Ctrl+Alt+Z"


class WeightActions:
    """Builds the weight menu entries and keeps their state and the status field current."""

    def __init__(self, window: QMainWindow, ctrl: AppController) -> None:
        self.window, self.ctrl = window, ctrl
        self.label = QLabel("")
        self.label.setObjectName("status_weights")
        self.label.setContentsMargins(8, 0, 8, 0)
        window.statusBar().addPermanentWidget(self.label)
        for signal in (ctrl.weights_changed, ctrl.spec_changed, ctrl.status_changed):
            signal.connect(lambda *_: self.refresh())

    def add_to_file_menu(self, menu: QMenu) -> None:
        """Reset, revert to bundled and keep, in the File menu."""
        book = self.ctrl.weight_book
        self.reset_action = add_action(self.window, menu, "Reset weights", book.reset)
        self.reset_action.setToolTip("A fresh seeded initialisation (undoable)")
        self.bundled_action = add_action(self.window, menu, "Revert to bundled weights",
                                         book.revert_to_bundled)
        self.bundled_action.setToolTip("The trained weights shipped for this preset (undoable)")
        self.keep_action = add_action(self.window, menu, "Keep these weights", book.keep)
        self.keep_action.setToolTip("Open this preset with these weights next time (for "
                                    "the dataset in use)")

    def add_edit_menu(self, menu: QMenu) -> None:
        """Edit → Undo weights change."""
        self.undo_action = add_action(self.window, menu, "Undo weights change",
                                      self.ctrl.weight_book.undo, UNDO_KEYS)
        self.refresh()

    def refresh(self) -> None:
        """Status field and which actions apply now."""
        book = self.ctrl.weight_book
        self.label.setText(f"Weights: {book.source}")
        if hasattr(self, "undo_action"):
            label = book.undo_label()
            self.undo_action.setEnabled(bool(label))
            self.undo_action.setText(f"Undo {label.lower()}" if label else "Undo weights change")
        if hasattr(self, "bundled_action"):
            self.bundled_action.setEnabled(book.has_bundled())
            self.keep_action.setEnabled(bool(self.ctrl.preset_name))
