"""A whole figure (rows of number grids joined by operators) in a scroll area.

Rows wrap when the dock is narrow (`FlowLayout`), and the area scrolls both ways, so no
term of a long sum is ever cut off.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from cnnviz.app.widgets.flow_layout import FlowLayout
from cnnviz.app.widgets.glyphs import drawable
from cnnviz.app.widgets.number_grid import NumberGrid


def _label(text: str, scale: float = 1.0, bold: bool = False, wrap: bool = False) -> QLabel:
    """A text label sized relative to the application font."""
    label = QLabel(drawable(text))
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(bold)
    label.setFont(font)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class FigureView(QScrollArea):
    """Draws a `cnnviz.engine.figure.Figure`; `grids` are its NumberGrid widgets in order."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.figure: object | None = None
        self.digits = 4
        self.grids: list[NumberGrid] = []
        self.lines: list[QWidget] = []
        self.setWidget(QWidget())

    def set_figure(self, figure: object | None, message: str = "") -> None:
        """Lay out a figure (or show a message instead)."""
        self.figure = figure
        self.grids, self.lines = [], []
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        if figure is None:
            layout.addWidget(_label(message, 1.1, wrap=True))
        else:
            self._fill(layout, figure)
        self.setWidget(body)
        self._fit_lines()

    def _fill(self, layout: QVBoxLayout, figure: object) -> None:
        """Title, each row (caption + wrapped items), then the notes."""
        layout.addWidget(_label(figure.title, 1.15, bold=True, wrap=True))
        for row in figure.rows:
            layout.addWidget(_label(row.caption, 0.95, wrap=True))
            line = QWidget()
            flow = FlowLayout(line, spacing=10)
            height = 0
            for item in row.items:
                if isinstance(item, str):
                    op = _label(item, 1.5, bold=True)
                    op.setAlignment(Qt.AlignmentFlag.AlignCenter)
                    op.setMinimumHeight(min(height, 300))  # centred beside the grid before
                    flow.addWidget(op)
                else:
                    grid = NumberGrid(item, self.digits)
                    height = grid.sizeHint().height()
                    self.grids.append(grid)
                    flow.addWidget(grid)
            layout.addWidget(line)
            self.lines.append(line)
        for note in figure.notes:
            layout.addWidget(_label(note, 0.95, wrap=True))

    def set_digits(self, digits: int) -> None:
        """Significant digits of every grid."""
        self.digits = digits
        for grid in self.grids:
            grid.set_digits(digits)
        self._fit_lines()

    def _fit_lines(self) -> None:
        """Give each wrapped row the height its items need at the current width (the
        scroll area does not pass heights-for-width down reliably)."""
        body = self.widget()
        if body is None or body.layout() is None:
            return
        margins = body.layout().contentsMargins()
        sides = margins.left() + margins.right()
        widest = max((grid.sizeHint().width() for grid in self.grids), default=0)
        width = max(self.viewport().width() - sides, widest)
        body.setMaximumWidth(width + sides)  # wrap at the dock's width, scroll only if
        for line in self.lines:  # a single grid is wider than the dock
            line.setFixedHeight(line.layout().heightForWidth(max(50, width)))

    def resizeEvent(self, event: object) -> None:
        """Rows wrap again at the new width."""
        super().resizeEvent(event)
        self._fit_lines()
