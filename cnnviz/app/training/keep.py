"""The row the Training dock shows after a run: keep its weights for next time, or undo
the run (back to the weights before it). A run never replaces the kept weights by itself.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from cnnviz.app.controller import AppController


class KeepBar(QWidget):
    """'Keep these weights' and 'Undo this run' buttons; hidden until a run has ended."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.keep_button = QPushButton("Keep these weights")
        self.keep_button.setToolTip("Open this preset with these weights next time (kept "
                                    "for this preset and the dataset trained on)")
        self.undo_button = QPushButton("Undo this run")
        self.undo_button.setToolTip("Back to the weights from before this run "
                                    "(Edit → Undo weights change)")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.keep_button.clicked.connect(self.keep)
        self.undo_button.clicked.connect(self.undo)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.keep_button, self.undo_button):
            layout.addWidget(widget)
        layout.addWidget(self.note, 1)
        self.hide()

    def offer(self) -> None:
        """A run ended with a new network: offer to keep it or to undo the run."""
        book = self.controller.weight_book
        self.keep_button.setEnabled(bool(self.controller.preset_name))
        self.undo_button.setEnabled(book.undo_label() == "Training run")
        self.note.setText("" if self.controller.preset_name else
                          "(a custom network: save a session to keep it)")
        self.show()

    def keep(self) -> None:
        """Keep the weights as the user's for this preset and dataset."""
        path = self.controller.weight_book.keep()
        if path is not None:
            self.keep_button.setEnabled(False)
            self.note.setText(f"Kept in {path}")

    def undo(self) -> None:
        """Put back the weights from before the run."""
        if self.controller.weight_book.undo():
            self.hide()
