"""A grid of numbers drawn as coloured cells with their values: the computation view's brick.

Diverging colours centred on zero for signed data, sequential for activations
(`colormaps`); padded cells hatched; marked cells (a max-pool winner, region Q) framed;
an optional box outlined. Hovering a cell shows its symbol and the full-precision value.
The grid only draws the numbers it is given.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QHelpEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from cnnviz.app.widgets.colormaps import levels_for, to_rgb
from cnnviz.app.widgets.glyphs import drawable

DIGITS = (3, 4, 6, 0)  # 0: all digits (the shortest text that reads back the same float)
MARK_COLORS = {"winner": "#ff8c00", "hit": "#111111"}
BOX_COLOR = "#d62728"


def format_value(value: float, digits: int) -> str:
    """A number with `digits` significant digits (0: all), minus sign as −, no −0."""
    v = float(value) + 0.0
    if not np.isfinite(v):
        return "" if np.isnan(v) else str(v)
    text = repr(v) if digits == 0 else f"{v:.{digits}g}"
    return text.replace("-", "−")


def format_fixed(value: float, decimals: int) -> str:
    """A number with `decimals` decimals (an exact zero as "0"), minus sign as −; a tiny
    negative that rounds to zero shows unsigned ("0.00", not "−0.00")."""
    v = float(value) + 0.0
    if not np.isfinite(v) or v == 0.0:
        return format_value(v, 3)
    text = f"{v:.{decimals}f}"
    if float(text) == 0.0:
        text = text.lstrip("-")
    return text.replace("-", "−")


class NumberGrid(QWidget):
    """One Grid (cnnviz.engine.figure.Grid or the like) as cells with numbers."""

    def __init__(self, grid: object | None = None, digits: int = 4,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = grid
        self.digits = digits
        self.decimals: int | None = None  # fixed decimals instead of significant digits
        self.number_scale = 1.1  # the numbers' font size / the widget's
        self.cell: QSize | None = None  # fixed cell size; None: from the font and digits
        self.levels: tuple[float, float] | None = None
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)

    # ----- data ---------------------------------------------------------------------------
    def set_grid(self, grid: object, levels: tuple[float, float] | None = None) -> None:
        """Show another grid (animations swap frames this way)."""
        self.grid, self.levels = grid, levels
        self.updateGeometry()
        self.update()

    def set_digits(self, digits: int) -> None:
        """3, 4, 6 or 0 (all) significant digits."""
        self.digits = digits
        self.updateGeometry()
        self.update()

    def cell_text(self, r: int, c: int) -> str:
        """The text drawn in a cell."""
        if self.decimals is not None:
            return format_fixed(self.grid.values[r, c], self.decimals)
        return format_value(self.grid.values[r, c], self.digits)

    def tooltip_text(self, r: int, c: int) -> str:
        """Symbol and full-precision value of a cell."""
        v = float(self.grid.values[r, c])
        pad = self.grid.pad is not None and bool(self.grid.pad[r, c])
        note = "   (padding: a zero that is not in the map)" if pad else ""
        return f"{self.grid.name(r, c)} = {v!r}{note}"

    # ----- geometry -----------------------------------------------------------------------
    def number_font(self) -> QFont:
        """The font of the numbers: the widget's font, a little larger (`number_scale`)."""
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * self.number_scale)
        return font

    def cell_size(self) -> QSize:
        """Width fits the widest number at the chosen digits; height a line and a half."""
        if self.cell is not None:
            return self.cell
        fm = QFontMetrics(self.number_font())
        if self.grid.overview:
            return QSize(int(fm.height() * 0.9), int(fm.height() * 0.9))
        sample = "−0." + "8" * (self.digits or 12) + "e−05" * (self.digits == 0)
        widest = max([fm.horizontalAdvance(sample[: 3 + (self.digits or 17)])]
                     + [fm.horizontalAdvance(self.cell_text(r, c))
                        for r, c in np.ndindex(*self.grid.values.shape)][:400])
        return QSize(widest + fm.averageCharWidth(), int(fm.height() * 1.5))

    def margins(self) -> tuple[int, int, int]:
        """(caption height, row-label width, column-label height)."""
        fm = QFontMetrics(self.font())
        rows = self.grid.row_labels or []
        left = max([fm.horizontalAdvance(t) for t in rows], default=0)
        return fm.height() + 4, left + (6 if rows else 0), (fm.height() + 2
                                                           if self.grid.col_labels else 0)

    def sizeHint(self) -> QSize:
        """The whole grid, its caption and labels."""
        if self.grid is None:
            return QSize(10, 10)
        cap, left, top = self.margins()
        cell = self.cell_size()
        rows, cols = self.grid.values.shape
        caption = QFontMetrics(self.font()).horizontalAdvance(self.grid.symbol) + 4
        return QSize(max(left + cols * cell.width() + 2, caption), cap + top +
                     rows * cell.height() + 2)

    def cell_rect(self, r: int, c: int) -> QRect:
        """Where cell (r, c) is drawn."""
        cap, left, top = self.margins()
        cell = self.cell_size()
        return QRect(left + c * cell.width(), cap + top + r * cell.height(), cell.width(),
                     cell.height())

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        """The cell under a widget position, or None."""
        if self.grid is None:
            return None
        cap, left, top = self.margins()
        cell = self.cell_size()
        c = (pos.x() - left) // max(1, cell.width())
        r = (pos.y() - cap - top) // max(1, cell.height())
        rows, cols = self.grid.values.shape
        inside = pos.x() >= left and pos.y() >= cap + top and 0 <= r < rows and 0 <= c < cols
        return (int(r), int(c)) if inside else None

    # ----- drawing ------------------------------------------------------------------------
    def paintEvent(self, event: object) -> None:
        """Caption, labels, coloured cells with numbers, padding, marks and the box."""
        if self.grid is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        g = self.grid
        p.setPen(self.palette().windowText().color())
        p.drawText(QRect(0, 0, self.width(), self.margins()[0]),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, drawable(g.symbol))
        self._draw_labels(p)
        finite = np.where(np.isfinite(g.values), g.values, np.nan)
        rgb = to_rgb(finite, g.signed, self.levels or levels_for(finite, g.signed))
        show = self._numbers_fit()
        p.setFont(self.number_font())
        for r, c in np.ndindex(*g.values.shape):
            self._draw_cell(p, r, c, rgb[r, c], show)
        self._draw_marks(p)
        p.end()

    def _numbers_fit(self) -> bool:
        """False when the cells are too small for their numbers (a big animated plane)."""
        if self.grid.overview:
            return False
        return self.cell is None or self.cell.width() >= QFontMetrics(
            self.number_font()).horizontalAdvance("−0.00") + 4

    def _draw_cell(self, p: QPainter, r: int, c: int, rgb: np.ndarray, show: bool) -> None:
        """One cell: colour (hatched if padding), thin frame, its number."""
        rect = self.cell_rect(r, c)
        pad = self.grid.pad is not None and bool(self.grid.pad[r, c])
        empty = not np.isfinite(self.grid.values[r, c])
        plain = pad or empty or (self.grid.values.size == 1 and self.levels is None)
        color = QColor("#e6e6e6" if pad or empty else "#fbfbf2") if plain else QColor(
            *(int(v) for v in rgb))
        p.fillRect(rect, color)
        if pad:
            p.fillRect(rect, QBrush(QColor("#9a9a9a"), Qt.BrushStyle.BDiagPattern))
        if rect.width() >= 10:  # tiny cells (a whole animated map): colour only
            p.setPen(QPen(QColor("#bbbbbb"), 1))
            p.drawRect(rect.adjusted(0, 0, -1, -1))
        if show and not empty:
            light = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140 or plain
            p.setPen(QColor("#606060" if pad else ("#000000" if light else "#ffffff")))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.cell_text(r, c))

    def _draw_labels(self, p: QPainter) -> None:
        """Row and column labels (the absolute indices of the cells)."""
        g = self.grid
        p.setPen(QColor("#777777"))
        for r, text in enumerate(g.row_labels or []):
            rect = self.cell_rect(r, 0)
            p.drawText(QRect(0, rect.top(), rect.left() - 4, rect.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, drawable(text))
        for c, text in enumerate(g.col_labels or []):
            rect = self.cell_rect(0, c)
            p.drawText(QRect(rect.left(), rect.top() - self.margins()[2], rect.width(),
                             self.margins()[2]), Qt.AlignmentFlag.AlignCenter, drawable(text))

    def _draw_marks(self, p: QPainter) -> None:
        """Framed cells (winner, region Q) and the outlined box."""
        for kind, cells in self.grid.marks.items():
            p.setPen(QPen(QColor(MARK_COLORS.get(kind, "#111111")), 3 if kind == "winner" else 2))
            for r, c in cells:
                p.drawRect(self.cell_rect(r, c).adjusted(2, 2, -2, -2))
        if self.grid.box is not None:
            r0, r1, c0, c1 = self.grid.box
            rect = self.cell_rect(r0, c0).united(self.cell_rect(r1, c1))
            p.setPen(QPen(QColor(BOX_COLOR), 3, Qt.PenStyle.DashLine))
            p.drawRect(rect.adjusted(1, 1, -1, -1))

    def changeEvent(self, event: QEvent) -> None:
        """A new font (zoom, presentation mode) changes the cell size."""
        if event.type() == QEvent.Type.FontChange:
            self.updateGeometry()
        super().changeEvent(event)

    def event(self, event: QEvent) -> bool:
        """Tooltips: the hovered cell's symbol and full-precision value."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            cell = self.cell_at(event.pos())
            if cell is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.tooltip_text(*cell), self)
            return True
        return super().event(event)
