"""The prediction panel: class probabilities of the current input as big horizontal bars.

Probabilities come from the stepper's loss record when this pass has reached ``L``,
else from the controller (the core's forward pass + ``cnnviz.core.losses.softmax``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cnnviz.app.controller import AppController
from cnnviz.app.debugger import unit_labels
from cnnviz.app.widgets.theme import LIGHT, Colors

MIN_BAR_PX = 40  # the bars give way down to this before the font shrinks
MIN_FONT_PX = 13


class ProbabilityBars(QWidget):
    """One labelled bar per class; the predicted class in the accent colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros(0)
        self.names: list[str] = []
        self.label: int | None = None
        self.colors = LIGHT
        self.setMinimumSize(200, 100)

    def set_values(self, values: np.ndarray, names: list[str], label: int | None) -> None:
        """Bars for these values (probabilities, or raw outputs for an MSE network)."""
        self.values, self.names, self.label = np.asarray(values, float), names, label
        self.setMinimumHeight(min(300, 15 * len(self.values)))
        self.updateGeometry()
        self.update()

    def row_font(self, pixels: int) -> QFont:
        """The bold font of names and numbers at a pixel size."""
        font = QFont(self.font())
        font.setPixelSize(pixels)
        font.setBold(True)
        return font

    def columns(self, font: QFont) -> tuple[float, float]:
        """(name width, number width) in a font: the widest name and the widest number."""
        metrics = QFontMetrics(font)
        k = len(self.values)
        name_w = max(metrics.horizontalAdvance(self._name(i)) for i in range(k)) + 8
        text_w = max(metrics.horizontalAdvance(t) for t in [*self.texts(), "100.0%"]) + 8
        return name_w, text_w

    def layout_for(self, width: int, height: int) -> tuple[QFont, float, float, float]:
        """(font, name width, bar width, number width) at a size: the font as large as the
        rows allow; in a narrow widget the bars shrink first (to MIN_BAR_PX), then the font,
        so names and numbers are never clipped."""
        row = height / max(1, len(self.values))
        pixels = int(max(MIN_FONT_PX, min(30, row * 0.78)))
        while True:
            font = self.row_font(pixels)
            name_w, text_w = self.columns(font)
            bar_w = width - name_w - text_w - 8
            if bar_w >= MIN_BAR_PX or pixels <= 8:
                return font, name_w, max(10.0, bar_w), text_w
            pixels -= 1

    def texts(self) -> list[str]:
        """The numbers at the bars' right ends."""
        if self.probabilities:
            return [f"{100 * v:.1f}%" for v in self.values]
        return [f"{v:.3g}" for v in self.values]

    def minimumSizeHint(self) -> QSize:
        """Wide enough for the names, MIN_BAR_PX of bar and the numbers at the font the
        rows' height gives."""
        if not len(self.values):
            return QSize(200, 100)
        row = self.height() / len(self.values)
        name_w, text_w = self.columns(self.row_font(int(max(MIN_FONT_PX, min(30, row * 0.78)))))
        return QSize(max(200, int(name_w + text_w + 8 + MIN_BAR_PX) + 1), self.minimumHeight())

    def resizeEvent(self, event) -> None:
        """A new height changes the font, and so the width the numbers need."""
        super().resizeEvent(event)
        if event.oldSize().height() != event.size().height():
            self.updateGeometry()

    def paintEvent(self, event) -> None:
        """Name, bar, and number per class, in a font as large as the rows allow."""
        k = len(self.values)
        if not k:
            return
        painter = QPainter(self)
        row = self.height() / k
        font, name_w, bar_w, text_w = self.layout_for(self.width(), self.height())
        painter.setFont(font)
        names = [self._name(i) for i in range(k)]
        texts = self.texts()
        best = int(np.argmax(self.values))
        zero_x, scale = self.bar_axis(name_w, bar_w)
        for i, value in enumerate(self.values):
            y = i * row
            color = self.colors.accent if i == best else self.colors.dim
            painter.setPen(QColor(self.colors.text))
            painter.drawText(QRectF(0, y, name_w, row), Qt.AlignmentFlag.AlignVCenter, names[i])
            width = float(value) * scale  # negative outputs grow left of the zero line
            painter.fillRect(QRectF(zero_x + min(0.0, width), y + row * 0.12, abs(width),
                                    row * 0.76), QColor(color))
            painter.drawText(self.number_rect(i, name_w, bar_w, text_w),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             texts[i])
        if zero_x > name_w:
            painter.setPen(QColor(self.colors.text))
            painter.drawLine(int(zero_x), 0, int(zero_x), self.height())
        painter.end()

    def number_rect(self, i: int, name_w: float, bar_w: float, text_w: float) -> QRectF:
        """Where class i's number is drawn (right-aligned)."""
        row = self.height() / max(1, len(self.values))
        return QRectF(name_w + bar_w + 4, i * row, text_w, row)

    def bar_axis(self, left: float, width: float) -> tuple[float, float]:
        """(x of the zero line, pixels per unit): probabilities fill the width from the left;
        raw outputs with negatives get a centred zero line, negatives drawn to its left."""
        if self.probabilities:
            return left, width
        top = max(1e-12, float(np.max(np.abs(self.values))))
        if float(np.min(self.values)) < 0:
            return left + width / 2, width / 2 / top
        return left, width / top

    def _name(self, i: int) -> str:
        """A class name, with a check mark for the input's label."""
        name = self.names[i] if i < len(self.names) else str(i)
        return name + (" ✓" if i == self.label else "")

    @property
    def probabilities(self) -> bool:
        """True when the values are a probability distribution."""
        return bool(len(self.values)) and abs(float(self.values.sum()) - 1.0) < 1e-3 and bool(
            np.all(self.values >= 0))


class PredictionPanel(QWidget):
    """Predicted class, the label, and the bars."""

    def __init__(self, ctrl: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctrl = ctrl
        self.summary = QLabel("")
        font = QFont(self.summary.font())
        font.setPointSize(16)
        font.setBold(True)
        self.summary.setFont(font)
        self.summary.setWordWrap(True)
        self.stage = QLabel("")
        self.stage.setObjectName("prediction_stage")
        self.stage.setWordWrap(True)
        self.stage.setToolTip("Which weights these probabilities come from: after the update "
                              "step U they are recomputed with the updated weights")
        self.bars = ProbabilityBars()
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.stage)
        layout.addWidget(self.bars, 1)
        for signal in (ctrl.stepper_changed, ctrl.input_changed, ctrl.weights_changed,
                       ctrl.spec_changed, ctrl.selection_changed):
            signal.connect(self.refresh)
        self.refresh()

    def class_names(self) -> list[str]:
        """Names from the dataset if it fits the network, else the class numbers."""
        return unit_labels.class_names(self.ctrl)

    def refresh(self) -> None:
        """Recompute from the engine (skipped while training changes the weights)."""
        if self.ctrl.busy:
            return
        values = self.ctrl.probabilities()
        label = self.ctrl.input_label
        self.bars.set_values(values, self.class_names(), label)
        predicted = int(np.argmax(values))
        names = self.class_names()
        label_text = "no label" if label is None else f"label {names[label]}"
        verdict = "" if label is None else (" ✓" if predicted == label else " ✗")
        self.summary.setText(f"predicted {names[predicted]}{verdict}")
        batch = len(self.ctrl.stepper.x)
        example = f"example {self.ctrl.selection.example} of {batch}, " if batch > 1 else ""
        self.stage.setText(f"{example}{label_text} · {self.ctrl.prediction_stage()}")

    def set_colors(self, colors: Colors) -> None:
        """Follow the theme."""
        self.bars.colors = colors
        self.bars.update()
