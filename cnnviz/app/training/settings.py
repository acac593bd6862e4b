"""The training dock's settings: optimizer, learning rate, batch size (1 = online),
epochs, schedule, augmentation, dataset and where the weights start, laid out two per row
or one in a narrow dock; the learning-rate box steps on a log scale."""

from __future__ import annotations

import math

from PySide6.QtCore import QSize
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from cnnviz.core.optim import OPTIMIZER_NAMES
from cnnviz.core.schedules import SCHEDULE_NAMES
from cnnviz.data import list_datasets
from cnnviz.engine.trainer import TrainConfig

NARROW_PX = 560  # below this width the settings go one per row


def settings_text(config: TrainConfig, dataset: str) -> str:
    """'adam · lr 0.001 · batch 64 · 5 epochs · mnist' (+ schedule, augmentation)."""
    batch = "batch 1 (online)" if config.batch_size == 1 else f"batch {config.batch_size}"
    parts = [config.optimizer, f"lr {config.lr:g}", batch, f"{config.epochs} epochs", dataset]
    if config.schedule != "constant":
        parts.append(f"{config.schedule} schedule")
    if config.augment:
        parts.append("augmented")
    return "<b>Run:</b> " + " · ".join(parts)


def start_text(continued: bool) -> str:
    """Where a run's weights come from, for the run summary."""
    return "continuing from the current weights" if continued else "from the common start"


class TrainingSettings(QWidget):
    """The settings widgets of a run; `config()` reads them as a TrainConfig."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = self._build_settings()
        grid.setContentsMargins(0, 0, 0, 0)
        self.setLayout(grid)

    def config(self) -> TrainConfig:
        """The TrainConfig the settings describe."""
        return TrainConfig(
            epochs=self.epochs_box.value(), batch_size=self.batch_box.value(),
            optimizer=self.optimizer_box.currentText(), lr=self.lr_box.value(),
            augment=self.augment_box.isChecked(), schedule=self.schedule_box.currentText(),
        )

    def _build_settings(self) -> QGridLayout:
        """The training settings, two per row."""
        self.optimizer_box = QComboBox()
        self.optimizer_box.addItems(list(OPTIMIZER_NAMES))
        self.optimizer_box.setCurrentText("adam")
        self.lr_box = LearningRateBox()
        self.lr_box.setValue(1e-3)
        self.batch_box = QSpinBox()
        self.batch_box.setRange(1, 4096)
        self.batch_box.setValue(32)
        self.batch_box.setSpecialValueText("1 (online)")
        self.epochs_box = QSpinBox()
        self.epochs_box.setRange(1, 1000)
        self.epochs_box.setValue(5)
        self.schedule_box = QComboBox()
        self.schedule_box.addItems(list(SCHEDULE_NAMES))
        self.schedule_box.setCurrentText("constant")
        self.augment_box = QCheckBox("shift ±2 px")
        self.dataset_box = QComboBox()
        self.dataset_box.addItems(list_datasets())
        self.continue_box = QCheckBox("continue from current")
        rows = [
            ("Optimizer", self.optimizer_box, "Optimizer: the update rule (torch.optim semantics)"),
            ("Learning rate", self.lr_box, "Learning rate: arrows step 1-2-5; type e.g. 3e-4"),
            ("Batch size", self.batch_box, "Batch size: examples per update; 1 = online learning"),
            ("Epochs", self.epochs_box, "Epochs: passes over the training set"),
            ("Schedule", self.schedule_box, "Schedule: how the learning rate changes over the run"),
            ("Augment", self.augment_box, "Augmentation: shift each training image by up to "
                                          "2 pixels at random"),
            ("Dataset", self.dataset_box, "Dataset: what to train on (must fit the input shape)"),
            ("Weights", self.continue_box, "Unticked (a fair comparison): every run starts from "
             "the weights the network had when its first compared run started. Ticked: this "
             "run continues from the current weights."),
        ]
        for combo in (self.optimizer_box, self.schedule_box, self.dataset_box):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)   # a long dataset name must not widen the dock
        self._settings: list[tuple[QLabel, QWidget]] = []
        for name, widget, tip in rows:
            label = QLabel(name)
            label.setBuddy(widget)
            widget.setToolTip(tip)
            label.setToolTip(tip)
            self._settings.append((label, widget))
        self._settings_grid = QGridLayout()
        self._pairs_per_row = 0
        self._arrange_settings(2)
        return self._settings_grid

    def _arrange_settings(self, pairs_per_row: int) -> None:
        """Lay the settings out one or two per row (a narrow dock gets one)."""
        if pairs_per_row == self._pairs_per_row:
            return
        self._pairs_per_row = pairs_per_row
        grid = self._settings_grid
        for i, (label, widget) in enumerate(self._settings):
            row, col = divmod(i, pairs_per_row)
            grid.addWidget(label, row, 2 * col)  # re-adding moves the widget
            grid.addWidget(widget, row, 2 * col + 1)
        for col in range(4):
            grid.setColumnStretch(col, 1 if col % 2 and col < 2 * pairs_per_row else 0)

    def resizeEvent(self, event) -> None:
        """Two settings per row when there is room, else one."""
        super().resizeEvent(event)
        self._arrange_settings(2 if event.size().width() >= NARROW_PX else 1)


class LearningRateBox(QDoubleSpinBox):
    """A learning-rate spin box that steps on a log scale (1, 2, 5, 10 …) and takes 1e-3."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(8)
        self.setRange(1e-6, 1e4)
        self.setKeyboardTracking(False)

    def minimumSizeHint(self) -> QSize:
        """Room for "0.0005", not for the 8 decimals of the range (which widened the dock)."""
        hint = super().minimumSizeHint()
        wide = self.fontMetrics().horizontalAdvance("0.00005") + 40
        return QSize(min(hint.width(), wide), hint.height())

    def sizeHint(self) -> QSize:
        """As wide as the minimum plus a little."""
        hint = super().sizeHint()
        return QSize(min(hint.width(), self.minimumSizeHint().width() + 20), hint.height())

    def stepBy(self, steps: int) -> None:
        """Each step multiplies or divides by about 2–2.5 (the 1-2-5 sequence)."""
        value = self.value()
        for _ in range(abs(steps)):
            value = _next_125(value, up=steps > 0)
        self.setValue(value)

    def textFromValue(self, value: float) -> str:
        """Short form: 0.001 rather than 0.00100000."""
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        """Accept any float literal (0.01, 1e-2)."""
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        """Intermediate while typing, Acceptable for a float in range."""
        try:
            ok = self.minimum() <= float(text) <= self.maximum()
        except ValueError:
            ok = False
        state = QValidator.State.Acceptable if ok else QValidator.State.Intermediate
        return state, text, pos


def _next_125(value: float, up: bool) -> float:
    """The next value of the 1-2-5 sequence above (or below) `value`."""
    exponent = math.floor(math.log10(value))
    grid = [m * 10.0 ** e for e in (exponent - 1, exponent, exponent + 1) for m in (1, 2, 5)]
    if up:
        return min(v for v in grid if v > value * 1.0001)
    return max(v for v in grid if v < value / 1.0001)
