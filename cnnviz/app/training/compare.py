"""The "Compare runs" tab: loss curves of earlier runs on one plot, shown/hidden, exported.

`RunComparison` is plain data (no Qt) so it can be tested and exported on its own;
`ComparePanel` renders it: one loss plot above a checkable list of runs, where the
legend names each run's network, optimizer, learning rate, batch size and epochs.

A comparison is fair by default: `StartWeights` keeps the weights each network had when
its first compared run started, and every later run on that network starts from them
(unless the user ticks "continue from current weights").
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.training.curves import (
    BATCH_LINE_WIDTH,
    decimate,
    make_plot,
    metric_curves,
    run_colour,
)
from cnnviz.core.presets import get_preset
from cnnviz.core.spec import NetworkSpec, SpecError, parse_spec
from cnnviz.data.fileio import write_bytes_atomically
from cnnviz.engine.trainer import History, TrainConfig

CSV_COLUMNS = ["run", "label", "network", "optimizer", "lr", "batch_size", "epochs", "start",
               "dataset", "series", "epoch", "loss"]
StateDict = dict[str, np.ndarray]


def network_name(spec: NetworkSpec, preset: str | None) -> str:
    """The legend's name of a network: its preset, "lenet5 (edited)", or "custom"."""
    if preset is None:
        return "custom"
    try:
        same = parse_spec(get_preset(preset)) == spec
    except SpecError:
        same = False
    return preset if same else f"{preset} (edited)"


class StartWeights:
    """The weights each network had when its first compared run started."""

    def __init__(self) -> None:
        self._weights: dict[str, StateDict] = {}

    @staticmethod
    def key(spec: NetworkSpec) -> str:
        """One key per network architecture."""
        return json.dumps(spec.to_dict(), sort_keys=True)

    def take(self, spec: NetworkSpec, current: StateDict) -> StateDict | None:
        """The start weights for a run on `spec`: None if `current` is the start (the
        network's first compared run, whose weights are kept now), else a copy to load."""
        kept = self._weights.get(self.key(spec))
        if kept is None:
            self._weights[self.key(spec)] = {k: v.copy() for k, v in current.items()}
            return None
        return {k: v.copy() for k, v in kept.items()}

    def clear(self) -> None:
        """A new comparison: the next run's weights become the start."""
        self._weights.clear()


@dataclass
class RunRecord:
    """The loss curves of one finished (or stopped) training run."""

    optimizer: str
    lr: float
    batch_size: int
    dataset: str
    epoch: np.ndarray  # x of the per-batch training loss, in epochs
    loss: np.ndarray
    network: str = "network"
    epochs: int = 0  # as configured (a stopped run's curve ends earlier)
    continued: bool = False  # True: started from the current weights, not the common start
    test_epoch: np.ndarray = field(default_factory=lambda: np.zeros(0))
    test_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    visible: bool = True

    @classmethod
    def from_history(cls, history: History, config: TrainConfig, dataset: str,
                     batches_per_epoch: int, network: str = "network",
                     continued: bool = False) -> RunRecord:
        """The record of a run: its settings and its train/test loss curves."""
        curves = metric_curves(history, batches_per_epoch)
        (epoch, loss), (test_epoch, test_loss) = curves["train_loss"], curves["test_loss"]
        return cls(optimizer=config.optimizer, lr=config.lr, batch_size=config.batch_size,
                   dataset=dataset, epoch=epoch, loss=loss, test_epoch=test_epoch,
                   test_loss=test_loss, network=network, epochs=config.epochs,
                   continued=continued)

    @property
    def label(self) -> str:
        """The legend text: network, optimizer, learning rate, batch size and epochs."""
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        text = (f"{self.network} · {self.optimizer} lr={self.lr:g} · "
                f"batch {self.batch_size} · {epochs}")
        return text + (" · continued" if self.continued else "")

    @property
    def start(self) -> str:
        """Where the run's weights came from (CSV column)."""
        return "current weights" if self.continued else "common start"


class RunComparison:
    """An ordered list of runs with a visibility flag each."""

    def __init__(self) -> None:
        self.runs: list[RunRecord] = []

    def add(self, run: RunRecord) -> int:
        """Append a run; returns its index."""
        self.runs.append(run)
        return len(self.runs) - 1

    def clear(self) -> None:
        """Forget every run."""
        self.runs.clear()

    def set_visible(self, index: int, visible: bool) -> None:
        """Show or hide run `index` on the plot."""
        self.runs[index].visible = visible

    def rows(self) -> list[list]:
        """Long-format rows (one per point) for CSV export, header excluded."""
        rows = []
        for number, run in enumerate(self.runs, start=1):
            head = [number, run.label, run.network, run.optimizer, f"{run.lr:g}",
                    run.batch_size, run.epochs, run.start, run.dataset]
            for series, xs, ys in (("train", run.epoch, run.loss),
                                   ("test", run.test_epoch, run.test_loss)):
                points = zip(xs, ys, strict=True)
                rows += [head + [series, f"{x:.6g}", repr(float(y))] for x, y in points]
        return rows

    def export_csv(self, path: str | os.PathLike) -> Path:
        """Write every run's curves to `path` atomically (temp file + os.replace)."""
        path = Path(path)
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(self.rows())
        write_bytes_atomically(path, buffer.getvalue().encode("utf-8"))
        return path


class ComparePanel(QWidget):
    """A checkable list of runs and one plot of their training loss."""

    runs_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RunComparison()
        self.start_weights = StartWeights()
        self.plot = make_plot("Compare runs: training loss", "epoch", "loss", legend_columns=1)
        self.run_list = QListWidget()
        self.run_list.setToolTip("Compared runs: tick to show a run's loss curve")
        self.run_list.itemChanged.connect(self._on_item_changed)
        self.clear_button = QPushButton("Clear runs")
        self.clear_button.setToolTip("Clear runs: forget every compared run")
        self.clear_button.clicked.connect(self.clear)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Export CSV: write the loss curves of every run to a file")
        self.export_button.clicked.connect(self._ask_export)
        self._build_layout()
        self._update_buttons()

    def _build_layout(self) -> None:
        """The plot above, the list and buttons below (the dock is tall and narrow)."""
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.run_list)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.export_button)
        column.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plot)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setSizes([400, 120])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def add_run(self, run: RunRecord) -> None:
        """Keep `run` for comparison and draw it."""
        index = self.model.add(run)
        item = QListWidgetItem(f"{index + 1}. {run.label}")
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if run.visible else Qt.CheckState.Unchecked)
        item.setForeground(QColor(run_colour(index)))
        self.run_list.blockSignals(True)
        self.run_list.addItem(item)
        self.run_list.blockSignals(False)
        self._redraw()

    def clear(self) -> None:
        """Forget every run and their start weights, and empty the plot."""
        self.model.clear()
        self.start_weights.clear()
        self.run_list.clear()
        self._redraw()

    def export_csv(self, path: str | os.PathLike) -> Path:
        """Export the runs' curves to a CSV file."""
        return self.model.export_csv(path)

    def visible_labels(self) -> list[str]:
        """The legend entries currently on the plot."""
        legend = self.plot.getPlotItem().legend
        return [label.text for _sample, label in legend.items]

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        """A checkbox toggled: show or hide that run."""
        checked = item.checkState() == Qt.CheckState.Checked
        self.model.set_visible(self.run_list.row(item), checked)
        self._redraw()

    def _redraw(self) -> None:
        """Draw every visible run in its own colour, with its label in the legend."""
        item = self.plot.getPlotItem()
        item.clear()  # also empties the legend
        for index, run in enumerate(self.model.runs):
            if run.visible:
                pen = {"color": run_colour(index), "width": BATCH_LINE_WIDTH}
                item.plot(*decimate(run.epoch, run.loss), name=f"{index + 1}. {run.label}", pen=pen,
                          antialias=False)
        self._update_buttons()
        self.runs_changed.emit()

    def _update_buttons(self) -> None:
        """Clear and export only make sense with runs."""
        has_runs = bool(self.model.runs)
        self.clear_button.setEnabled(has_runs)
        self.export_button.setEnabled(has_runs)

    def _ask_export(self) -> None:
        """Ask for a file name and export; errors are shown, not raised."""
        path, _ = QFileDialog.getSaveFileName(self, "Export run curves", "runs.csv",
                                              "CSV files (*.csv)")
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as error:
            QMessageBox.warning(self, "Export failed", f"Could not write {path}: {error}")

