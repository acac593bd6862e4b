"""The computation view: the selected unit's explanation as grids of numbers.

It draws `Explanation.figures` (built by the engine from the step records): no number
is computed here. A switch sets the significant digits; a toggle shows a backward conv
step in seed 001's combined form (eq. 20–22, the activation's f′ folded in).
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnnviz.app.widgets.figure_view import FigureView
from cnnviz.app.widgets.number_grid import DIGITS
from cnnviz.engine.explain import Explanation


class ComputationView(QWidget):
    """Digits switch, seed-form toggle, and the figure of the current explanation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.explanation: Explanation | None = None
        self.message = ""
        self.digits = QComboBox()
        self.digits.setObjectName("digits")
        for d in DIGITS:
            self.digits.addItem("all digits" if d == 0 else f"{d} digits", d)
        self.digits.setCurrentIndex(DIGITS.index(4))
        self.digits.setToolTip("Significant digits in the cells (hover a cell: full precision)")
        self.digits.currentIndexChanged.connect(self._on_digits)
        self.seed = QCheckBox("Seed form (eq. 20–22)")
        self.seed.setToolTip("Show a backward conv step as seed 001 writes it: layer l = conv "
                             "+ activation, with the activation's f′ folded in")
        self.seed.toggled.connect(self._render)
        self.view = FigureView()
        top = QHBoxLayout()
        top.addWidget(QLabel("Cells:"))
        top.addWidget(self.digits)
        top.addWidget(self.seed)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)

    def show_explanation(self, ex: Explanation | None, message: str = "") -> None:
        """Draw an explanation's figure (or the message why there is none)."""
        self.explanation, self.message = ex, message
        has_seed = ex is not None and "seed" in ex.figures
        self.seed.setEnabled(has_seed)
        self._render()

    def figure(self) -> object | None:
        """The figure on screen: the seed form if toggled and available."""
        ex = self.explanation
        if ex is None:
            return None
        if self.seed.isChecked() and "seed" in ex.figures:
            return ex.figures["seed"]
        return ex.figures.get("computation")

    def _render(self) -> None:
        """Lay the figure out again."""
        figure = self.figure()
        message = self.message or "This step has no computation view."
        self.view.digits = self.digits.currentData()
        self.view.set_figure(figure, message)

    def _on_digits(self) -> None:
        """Redraw the cells with the chosen number of digits."""
        self.view.set_digits(self.digits.currentData())
