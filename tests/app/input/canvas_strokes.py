"""Drawing on the canvas in tests: real mouse and tablet events, sent through Qt."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication

from cnnviz.app.input.canvas import SIZE, DrawingCanvas

# A handwritten-looking "7" in canvas pixels (of 280): the top bar, then the long stroke
# down to the left, then a short cross bar.
SEVEN = [
    [(62, 70), (100, 64), (140, 60), (180, 58), (212, 60)],
    [(212, 60), (196, 100), (178, 140), (160, 180), (146, 215), (138, 240)],
    [(128, 150), (160, 148), (196, 146)],
]


def widget_point(canvas: DrawingCanvas, x: float, y: float) -> QPointF:
    """Where canvas pixel (x, y) is on the widget."""
    rect = canvas.target_rect()
    scale = rect.width() / SIZE
    return QPointF(rect.left() + x * scale, rect.top() + y * scale)


def _mouse(canvas: DrawingCanvas, kind: QEvent.Type, pos: QPointF,
           buttons: Qt.MouseButton) -> None:
    """Send one mouse event to the canvas."""
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas, event)


def press_and_move(canvas: DrawingCanvas, points: list[tuple[float, float]]) -> None:
    """Press at the first point and move through the others with the button held."""
    held = Qt.MouseButton.LeftButton
    positions = [widget_point(canvas, x, y) for x, y in points]
    _mouse(canvas, QEvent.Type.MouseButtonPress, positions[0], held)
    for pos in positions[1:]:
        _mouse(canvas, QEvent.Type.MouseMove, pos, held)


def release(canvas: DrawingCanvas, point: tuple[float, float]) -> None:
    """Let the button go at a point."""
    pos = widget_point(canvas, *point)
    _mouse(canvas, QEvent.Type.MouseButtonRelease, pos, Qt.MouseButton.NoButton)


def draw_stroke(canvas: DrawingCanvas, points: list[tuple[float, float]]) -> None:
    """Press at the first point, move through the others with the button held, release."""
    press_and_move(canvas, points)
    release(canvas, points[-1])


def draw_seven(canvas: DrawingCanvas) -> None:
    """Draw the "7" stroke by stroke."""
    for stroke in SEVEN:
        draw_stroke(canvas, stroke)


def tablet_stroke(canvas: DrawingCanvas, points: list[tuple[float, float]],
                  pressure: float) -> None:
    """The same as draw_stroke with a pen at a given pressure."""
    device = QPointingDevice.primaryPointingDevice()
    positions = [widget_point(canvas, x, y) for x, y in points]
    kinds = ([QEvent.Type.TabletPress] + [QEvent.Type.TabletMove] * (len(points) - 2)
             + [QEvent.Type.TabletRelease])
    for kind, pos in zip(kinds, positions, strict=True):
        event = QTabletEvent(kind, device, pos, canvas.mapToGlobal(pos), pressure, 0.0, 0.0,
                             0.0, 0.0, 0.0, Qt.KeyboardModifier.NoModifier,
                             Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
        QApplication.sendEvent(canvas, event)
