"""The drawing canvas: draw a digit with the mouse or a tablet, white ink on black like MNIST.

Strokes are painted antialiased with QPainter onto a 280×280 grayscale QImage, and, for
networks that take colour, in the pen's colour onto an RGB one as well. Every
stroke is kept, so undo replays the remaining ones; clearing is a step that undo can take
back too. ``drawing_changed`` fires when a stroke ends (not on every mouse move), after
undo and after clear; ``ink_changed`` fires while a stroke is being drawn (for previews).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QImage,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QTabletEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

SIZE = 280


@dataclass
class Stroke:
    """One stroke: points (x, y, width) in image pixels; eraser strokes paint black."""

    points: list[tuple[float, float, float]] = field(default_factory=list)
    eraser: bool = False
    colour: tuple[int, int, int] = (255, 255, 255)  # the pen's colour on the RGB surface
    clear: bool = False   # a "clear the canvas" step, so that undo can restore the ink


class DrawingCanvas(QWidget):
    """A square drawing surface; the ink is read back with ``ink()``."""

    drawing_changed = Signal()
    ink_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image = QImage(SIZE, SIZE, QImage.Format.Format_Grayscale8)
        self._image.fill(0)
        self._rgb = QImage(SIZE, SIZE, QImage.Format.Format_RGB888)  # colour networks' ink
        self._rgb.fill(QColor(0, 0, 0))
        self.colour_mode = False  # show and use the RGB surface (3-channel networks)
        self.pen_colour = (255, 255, 255)
        self._strokes: list[Stroke] = []
        self._current: Stroke | None = None
        self.brush_width = 20.0
        self.eraser = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit with the mouse or a pen (pressure sets the width). "
                        "Ctrl+Z undoes the last stroke.")
        self.undo_action = QAction("Undo stroke", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.undo_action.triggered.connect(self.undo_stroke)
        self.addAction(self.undo_action)

    # ----- queries -----------------------------------------------------------------------
    def ink(self) -> np.ndarray:
        """The drawing as (280, 280) float32 in [0, 1]; 1 is full ink."""
        ptr = self._image.constBits()
        stride = self._image.bytesPerLine()
        raw = np.frombuffer(ptr, dtype=np.uint8, count=stride * SIZE).reshape(SIZE, stride)
        return raw[:, :SIZE].astype(np.float32) / np.float32(255)

    def ink_rgb(self) -> np.ndarray:
        """The drawing in colour as (3, 280, 280) float32 in [0, 1]."""
        ptr = self._rgb.constBits()
        stride = self._rgb.bytesPerLine()
        raw = np.frombuffer(ptr, dtype=np.uint8, count=stride * SIZE).reshape(SIZE, stride)
        rgb = raw[:, : 3 * SIZE].reshape(SIZE, SIZE, 3)
        return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) / np.float32(255)

    def has_ink(self) -> bool:
        """True when anything is drawn."""
        return bool(self.ink().any())

    def can_undo(self) -> bool:
        """True when there is a stroke (or a clear) to undo."""
        return bool(self._strokes)

    def image(self) -> QImage:
        """A copy of the drawing surface."""
        return self._image.copy()

    # ----- commands ----------------------------------------------------------------------
    def set_brush_width(self, width: float) -> None:
        """Brush diameter in canvas pixels (of 280)."""
        self.brush_width = float(max(1.0, width))

    def set_eraser(self, on: bool) -> None:
        """Switch between the pen and the eraser."""
        self.eraser = bool(on)

    def set_colour_mode(self, on: bool) -> None:
        """Show the colour surface (a network over RGB images) or the grayscale one."""
        self.colour_mode = bool(on)
        self.update()

    def set_pen_colour(self, colour: QColor | str) -> None:
        """The colour the next strokes paint on the colour surface."""
        c = QColor(colour)
        self.pen_colour = (c.red(), c.green(), c.blue())

    def clear(self) -> None:
        """Erase everything (undoable)."""
        if not self.has_ink():
            return
        self._strokes.append(Stroke(clear=True))
        self._image.fill(0)
        self._rgb.fill(QColor(0, 0, 0))
        self.update()
        self.drawing_changed.emit()

    def undo_stroke(self) -> None:
        """Take back the last stroke or clear."""
        if not self._strokes:
            return
        self._strokes.pop()
        self._replay()
        self.drawing_changed.emit()

    def _replay(self) -> None:
        """Repaint the image from the kept strokes."""
        self._image.fill(0)
        self._rgb.fill(QColor(0, 0, 0))
        for stroke in self._strokes:
            if stroke.clear:
                self._image.fill(0)
                self._rgb.fill(QColor(0, 0, 0))
            else:
                self._paint(stroke, 0)
        self.update()

    # ----- painting strokes --------------------------------------------------------------
    def _paint(self, stroke: Stroke, start: int) -> None:
        """Paint a stroke on both surfaces: white ink on the grayscale one, the stroke's
        colour on the RGB one (black for the eraser)."""
        black, white = QColor(0, 0, 0), QColor(255, 255, 255)
        self._paint_on(self._image, stroke, start, black if stroke.eraser else white)
        pen = black if stroke.eraser else QColor(*stroke.colour)
        self._paint_on(self._rgb, stroke, start, pen)

    @staticmethod
    def _paint_on(image: QImage, stroke: Stroke, start: int, colour: QColor) -> None:
        """Paint a stroke's segments from point `start` on (a lone point is a dot)."""
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        points = stroke.points
        for k in range(max(start, 0), len(points)):
            x, y, width = points[k]
            pen = QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                       Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            if k == 0:
                painter.drawPoint(QPointF(x, y))
            else:
                painter.drawLine(QPointF(*points[k - 1][:2]), QPointF(x, y))
        painter.end()

    def begin_stroke(self, pos: QPointF, pressure: float = 1.0) -> None:
        """Start a stroke at an image position."""
        self._current = Stroke(eraser=self.eraser, colour=self.pen_colour)
        self._strokes.append(self._current)
        self.extend_stroke(pos, pressure)

    def extend_stroke(self, pos: QPointF, pressure: float = 1.0) -> None:
        """Add a point to the stroke being drawn and paint the new segment."""
        if self._current is None:
            return
        width = self.brush_width * (0.25 + 0.75 * min(max(pressure, 0.0), 1.0))
        self._current.points.append((pos.x(), pos.y(), width))
        self._paint(self._current, len(self._current.points) - 1)
        self.update()
        self.ink_changed.emit()

    def end_stroke(self) -> None:
        """Finish the stroke: now the network input should follow."""
        if self._current is None:
            return
        self._current = None
        self.drawing_changed.emit()

    # ----- geometry ----------------------------------------------------------------------
    def target_rect(self) -> QRectF:
        """Where the 280×280 image is drawn: the largest centred square."""
        side = float(min(self.width(), self.height()))
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_image(self, pos: QPointF) -> QPointF:
        """Widget coordinates to image pixels."""
        rect = self.target_rect()
        scale = SIZE / max(rect.width(), 1.0)
        return QPointF((pos.x() - rect.left()) * scale, (pos.y() - rect.top()) * scale)

    # ----- events ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        """The drawing, scaled smoothly into the square, with a frame."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        rect = self.target_rect()
        painter.drawImage(rect, self._rgb if self.colour_mode else self._image)
        frame = self.palette().color(self.palette().ColorRole.Highlight if self.hasFocus()
                                     else self.palette().ColorRole.Mid)
        painter.setPen(QPen(frame, 2))
        painter.drawRect(rect.adjusted(1, 1, -1, -1))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Left button starts a stroke."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.begin_stroke(self.to_image(event.position()))
            event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Dragging with the left button draws."""
        if self._current is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.extend_stroke(self.to_image(event.position()))
            event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """Releasing the button ends the stroke."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.end_stroke()
            event.accept()

    def tabletEvent(self, event: QTabletEvent) -> None:
        """A pen: pressure sets the width; accepted so no mouse event is synthesised."""
        pos, pressure = self.to_image(event.position()), float(event.pressure())
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            self.begin_stroke(pos, pressure)
        elif kind == QTabletEvent.Type.TabletMove and self._current is not None:
            self.extend_stroke(pos, pressure)
        elif kind == QTabletEvent.Type.TabletRelease:
            self.end_stroke()
        event.accept()
