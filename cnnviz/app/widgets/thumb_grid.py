"""Small pixel-sharp thumbnails of a column of maps (the pipeline) or a vector of units.

A 3-channel stack can be drawn as one colour image instead (`set_rgb`): its channels are
R, G, B with values in [0, 1], shown as they are (an RGB input image)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QWidget

from cnnviz.app.widgets.colormaps import levels_for, rgb_qimage, to_qimage
from cnnviz.app.widgets.theme import LIGHT

GAP = 1  # pixels between the maps of a mosaic (MapView)
THUMB = 64  # target thumbnail size in pixels (pipeline columns)
STRIP = 22  # width in pixels of a vector's strip
LABEL_STEPS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def as_stack(array: np.ndarray) -> tuple[np.ndarray, bool]:
    """(C, H, W) view of a map stack, a single map or a vector (as a K×1 strip)."""
    array = np.asarray(array)
    if array.ndim == 1:
        return array.reshape(1, -1, 1), True
    if array.ndim == 2:
        return array[np.newaxis], False
    return array, False


class ThumbGrid(QWidget):
    """Small maps of one column, drawn pixel-sharp; clicks report (c, i, j) or (k,).

    A vector is a strip of units with their indices (or `labels`, e.g. class names) beside
    it. `zoom` scales the natural size; `arrange` sets the grid and scale (the overview).
    With `set_rgb(True)` a (3, H, W) stack is one colour image: `stack_shape` is then
    (1, H, W), the grid's layout, while `data_shape` stays (3, H, W)."""

    unit_clicked = Signal(tuple)

    def __init__(self, shape: tuple[int, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data_shape = as_stack(np.zeros(shape, dtype=np.float32))[0].shape
        self.stack_shape = self.data_shape  # what the grid lays out: (1, H, W) in RGB
        self.rgb = False
        self.vector = len(shape) == 1
        self.array: np.ndarray | None = None
        self.signed, self.levels = False, None
        self.images: list = []
        self.outlines: list[tuple[int, int, int, int, int]] = []  # c, i0, i1, j0, j1
        self.marks: list[tuple[int, ...]] = []
        self.outline_color = LIGHT.outline
        self.labels: list[str] | None = None  # a vector's unit names (None: indices)
        self.show_labels = True  # False: a bare strip (the overview's compact columns)
        self.zoom = 1.0
        self.strip = STRIP
        self._lay_out()
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def _lay_out(self) -> None:
        """The natural grid and scale of `stack_shape`."""
        C, H, W = self.stack_shape
        self.default_cols = 1 if self.vector or C <= 3 else 3 if C <= 6 else 4
        self.cols = self.default_cols
        self.rows = -(-C // self.cols)
        self.full_scale = self._scale(C, H, W)
        self.scale = self.full_scale
        self._resize()

    def set_rgb(self, on: bool) -> None:
        """One colour image of a 3-channel stack (R, G, B in [0, 1]), or a map per channel."""
        on = bool(on) and not self.vector and self.data_shape[0] == 3
        if on == self.rgb:
            return
        self.rgb = on
        _, H, W = self.data_shape
        self.stack_shape = (1, H, W) if on else self.data_shape
        self._lay_out()
        self.recolor()

    def _resize(self) -> None:
        """Fix the widget's size to the grid at the current scale."""
        w, h = self._cell_size()
        self.setFixedSize(self.label_width() + self.cols * (w + 4), self.rows * (h + 4))

    def label_width(self) -> int:
        """Room left of a vector's strip for its unit names (0 for maps)."""
        if not self.vector or not self.show_labels:
            return 0
        fm = QFontMetrics(self.font())
        return max(fm.horizontalAdvance(t) for t in self.unit_labels()) + 6

    def unit_labels(self) -> list[str]:
        """The names written beside a vector's units: `labels` if they fit, else indices."""
        K = self.stack_shape[1]
        if self.labels is not None and len(self.labels) == K:
            return list(self.labels)
        return [str(k) for k in range(K)]

    def set_labels(self, labels: list[str] | None) -> None:
        """Name a vector's units (class names); None: their indices."""
        self.labels = labels
        self._resize()
        self.update()

    def set_zoom(self, zoom: float) -> None:
        """Scale the natural thumbnail size (Ctrl+±)."""
        self.zoom = zoom
        self.full_scale = self._scale(*self.stack_shape)
        self.scale = self.full_scale
        self._resize()
        self.update()

    def arrange(self, cols: int, scale: float, strip: int = 0, labels: bool = True) -> None:
        """Lay the maps out `cols` per row at `scale` pixels per cell (a vector's strip
        `strip` pixels wide, 0 keeps it; with or without its unit names)."""
        self.show_labels = labels
        self.cols = max(1, min(cols, self.stack_shape[0]))
        self.rows = -(-self.stack_shape[0] // self.cols)
        self.strip = strip or self.strip
        self.scale = scale
        self._resize()
        self.update()

    def reset_arrangement(self) -> None:
        """Back to the natural grid, scale and strip width."""
        self.strip = STRIP
        self.arrange(self.default_cols, self.full_scale)

    def set_columns(self, cols: int) -> None:
        """Lay the maps out in `cols` columns (fewer rows: for a half-height lane)."""
        C = self.stack_shape[0]
        if self.vector or C <= 3:
            return
        self.cols = min(cols, C)
        self.rows = -(-C // self.cols)
        self._resize()
        self.update()

    def fit_height(self, height: int) -> None:
        """Shrink (or grow back) the maps so that the grid is at most `height` pixels tall,
        never larger than their natural size nor smaller than one pixel per cell."""
        _, H, _ = self.stack_shape
        per_row = max(1.0, height / self.rows - 4)
        scale = max(1.0 if not self.vector else 0.1, min(self.full_scale, per_row / H))
        if abs(scale - self.scale) > 1e-6:
            self.scale = scale
            self._resize()
            self.update()

    def _scale(self, C: int, H: int, W: int) -> float:
        """Pixels per cell: maps near THUMB px; vectors at most 360 px tall (times zoom)."""
        if self.vector:
            return max(0.6, min(20.0, 240.0 / H)) * self.zoom
        return max(1.0, (THUMB * 1.5 if C <= 3 else 64 if C <= 6 else 48) / max(H, W)
                   * self.zoom)

    def _cell_size(self) -> tuple[int, int]:
        """(width, height) in pixels of one map."""
        _, H, W = self.stack_shape
        if self.vector:
            return self.strip, max(1, int(round(H * self.scale)))
        return int(round(W * self.scale)), int(round(H * self.scale))

    def map_size(self) -> tuple[int, int]:
        """(width, height) in pixels of one drawn map (tests measure it)."""
        return self._cell_size()

    def _rect(self, c: int) -> QRect:
        """Where map c is drawn."""
        w, h = self._cell_size()
        row, col = divmod(c, self.cols)
        return QRect(self.label_width() + col * (w + 4) + 2, row * (h + 4) + 2, w, h)

    def set_array(self, array: np.ndarray | None, signed: bool,
                  levels: tuple[float, float] | None = None) -> None:
        """Draw a (C, H, W) stack or a (K,) vector (None = not computed yet), on its own
        range or on the given levels."""
        self.array = None if array is None else np.asarray(array)
        self.signed, self.levels = signed, levels
        self.recolor()

    def recolor(self) -> None:
        """Draw the maps again in the current colour maps (the palette changed)."""
        self.images = []
        if self.array is not None and self.rgb:
            self.images = [rgb_qimage(as_stack(self.array)[0])]
        elif self.array is not None:
            stack = as_stack(self.array)[0]
            levels = self.levels if self.levels is not None else levels_for(stack, self.signed)
            self.images = [to_qimage(m, self.signed, levels) for m in stack]
        self.update()

    def paintEvent(self, event) -> None:
        """Maps (or empty frames), then receptive-field outlines and marked cells."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        for c in range(self.stack_shape[0]):
            rect = self._rect(c)
            if c < len(self.images):
                painter.drawImage(rect, self.images[c])
            painter.setPen(QPen(QColor("#888888"), 1))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
        if self.vector and self.show_labels:
            self._paint_unit_labels(painter)
        self._paint_overlays(painter)
        painter.end()

    def _paint_unit_labels(self, painter: QPainter) -> None:
        """Every unit's index or name beside the strip, or every 2nd, 5th, 10th… if the
        units are thinner than a line of text."""
        fm = QFontMetrics(self.font())
        _, cell_h = self._cell_size()
        per_unit = cell_h / self.stack_shape[1]
        step = next((s for s in LABEL_STEPS if s * per_unit >= fm.height() * 0.9),
                    LABEL_STEPS[-1])
        painter.setPen(self.palette().windowText().color())
        r, width = self._rect(0), self.label_width() - 4
        for k, text in enumerate(self.unit_labels()):
            if k % step == 0:
                y = int(r.y() + (k + 0.5) * per_unit - fm.height() / 2)
                y = max(0, min(self.height() - fm.height(), y))  # the first and last whole
                painter.drawText(QRect(0, y, width, fm.height()),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                                 text)

    def _paint_overlays(self, painter: QPainter) -> None:
        """Receptive-field boxes and marked units."""
        w, h = self._cell_size()
        _, H, W = self.stack_shape
        sx, sy = w / W, h / H
        painter.setPen(QPen(QColor(self.outline_color), 2))
        for c, i0, i1, j0, j1 in self.outlines:
            r = self._rect(0 if self.rgb else c)  # a colour image: all channels in one
            painter.drawRect(int(r.x() + j0 * sx), int(r.y() + i0 * sy),
                             max(2, int((j1 - j0) * sx)), max(2, int((i1 - i0) * sy)))
        painter.setPen(QPen(QColor("#ff00ff"), 2))
        for unit in self.marks:
            c, i, j = (0, unit[0], 0) if self.vector else unit
            r = self._rect(0 if self.rgb else c)
            painter.drawRect(int(r.x() + j * sx), int(r.y() + i * sy),
                             max(3, int(sx)), max(3, int(sy)))

    def unit_at(self, pos: QPoint) -> tuple[int, ...] | None:
        """The unit under a widget position."""
        _, H, W = self.stack_shape
        for c in range(self.stack_shape[0]):
            r = self._rect(c)
            if r.contains(pos):
                i = min(H - 1, int((pos.y() - r.y()) * H / r.height()))
                j = min(W - 1, int((pos.x() - r.x()) * W / r.width()))
                return (i,) if self.vector else (c, i, j)
        return None

    def pos_of(self, unit: tuple[int, ...]) -> QPoint:
        """Widget position of a unit's centre (tests click there)."""
        c, i, j = (0, unit[0], 0) if self.vector else unit
        r = self._rect(0 if self.rgb else c)
        _, H, W = self.stack_shape
        return QPoint(int(r.x() + (j + 0.5) * r.width() / W),
                      int(r.y() + (i + 0.5) * r.height() / H))

    def changeEvent(self, event: QEvent) -> None:
        """A new font (zoom, presentation mode) changes the width of a vector's names."""
        if event.type() == QEvent.Type.FontChange and self.vector:
            self._resize()
        super().changeEvent(event)

    def mousePressEvent(self, event) -> None:
        """Report the clicked unit."""
        unit = self.unit_at(event.position().toPoint())
        if unit is not None and event.button() == Qt.MouseButton.LeftButton:
            self.unit_clicked.emit(unit)
        super().mousePressEvent(event)
