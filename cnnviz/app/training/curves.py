"""Plots of the training dock: loss and accuracy curves, gradient norms, their data.

The widgets only draw numbers they are handed (from the engine's `History`); they
compute nothing. Fonts are large and lines thick so a lecture hall can read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QSizePolicy, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from cnnviz.app.training.worker import Snapshot
    from cnnviz.engine.metrics import History

TITLE_SIZE = "14pt"
LABEL_SIZE = "13pt"
LEGEND_SIZE = "12pt"
TICK_PT = 12
LINE_WIDTH = 3  # curves with a few points (per epoch, per evaluation)
BATCH_LINE_WIDTH = 2  # per-batch curves: thousands of points, drawn 10 times a second
MAX_MARKERS = 60  # per-epoch curves drop their markers beyond this many points
# A curve handed to pyqtgraph has at most this many points: a redraw then costs the
# same after a minute or an hour of online learning (measured: 24k points x 11 gradient
# curves stalled the event loop for 120 ms per redraw; decimated, under 25 ms).
MAX_POINTS = 2000
# Gradient norms: a dozen noisy curves on one log plot; their trend is what a student
# reads, so long runs show a per-bin geometric mean of at most this many points.
MAX_NORM_POINTS = 400

TRAIN_COLOUR = "#1f5fbf"  # blue
TEST_COLOUR = "#d2551e"  # orange
# Distinct, high-contrast colours for compared runs (tab10 without the pale ones).
RUN_COLOURS = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
]

def run_colour(index: int) -> str:
    """The colour of the `index`-th compared run (cycles through RUN_COLOURS)."""
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def decimate(x: np.ndarray, y: np.ndarray,
             max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points of a long curve, keeping each bin's min and max.

    Short curves come back unchanged (exact numbers); a long one keeps its spikes
    (a divergence or a bad batch stays visible), like pyqtgraph's "peak" downsampling,
    but done once per redraw on NumPy arrays in O(n).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = min(len(x), len(y))
    if n <= max_points:
        return x[:n], y[:n]
    size = -(-2 * n // (max_points - 2))  # points per bin, so that 2 per bin fit
    bins = -(-n // size)
    padded = np.full(bins * size, np.nan)
    padded[:n] = y[:n]  # the padding of the last bin is never picked: real values come first
    lo = np.argmin(_finite_or_nan(padded, np.inf).reshape(bins, size), axis=1)
    hi = np.argmax(_finite_or_nan(padded, -np.inf).reshape(bins, size), axis=1)
    starts = np.arange(bins) * size
    picks = np.unique(np.concatenate([starts + lo, starts + hi]))
    return x[picks], y[picks]


def log_mean_bins(x: np.ndarray, y: np.ndarray,
                  max_points: int = MAX_NORM_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points: the geometric mean of y (> 0) per bin of a long curve.

    Short curves come back unchanged. For the log-scale gradient-norm plot, where the
    trend of each layer matters and a thousand jagged points per curve only cost paint time.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = min(len(x), len(y))
    if n <= max_points:
        return x[:n], y[:n]
    size = -(-n // max_points)
    bins = n // size
    mean_x = x[: bins * size].reshape(bins, size).mean(axis=1)
    mean_y = np.exp(np.log(y[: bins * size]).reshape(bins, size).mean(axis=1))
    return (np.concatenate([mean_x, x[bins * size : n]]),
            np.concatenate([mean_y, y[bins * size : n]]))


def _finite_or_nan(values: np.ndarray, fill: float) -> np.ndarray:
    """NaN/inf replaced by `fill`, so argmin/argmax never land on a gap by accident."""
    return np.where(np.isfinite(values), values, fill)


def depth_colours(count: int) -> list[QColor]:
    """`count` colours by depth: dark (input side) to bright (output side)."""
    cmap = pg.colormap.get("plasma")
    stops = np.linspace(0.0, 0.85, max(count, 1))  # skip plasma's pale yellow end
    return [cmap.map(float(t), mode="qcolor") for t in stops[:count]]


class BelowLegend(pg.LegendItem):
    """A legend in its own row under the x axis: it never covers a curve (issue 13)."""

    ROW = 4  # PlotItem's grid: title 0, top axis 1, view 2, bottom axis 3

    def __init__(self, columns: int) -> None:
        super().__init__(labelTextSize=LEGEND_SIZE, colCount=columns)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def attach(self, item: pg.PlotItem) -> None:
        """Become `item`'s legend, in the row under its bottom axis."""
        item.legend = self
        item.layout.addItem(self, self.ROW, 1)

    def updateSize(self) -> None:
        """Entries changed: ask the plot's layout for room (pyqtgraph resizes in place)."""
        self.updateGeometry()


def make_plot(title: str, x_label: str, y_label: str,
              legend_columns: int = 2) -> pg.PlotWidget:
    """A PlotWidget with the house style: large title, labels, ticks and a legend under
    the plot (`legend_columns` entries per row).

    Colours come from the application palette (Base, Text), which the app theme sets;
    `restyle_plot` re-colours an existing plot when the theme changes.
    """
    plot = pg.PlotWidget()
    item = plot.getPlotItem()
    item.setProperty("cnnviz_title", title)
    font = QFont()
    font.setPointSize(TICK_PT)
    for side, text in (("bottom", x_label), ("left", y_label)):
        axis = item.getAxis(side)
        axis.setLabel(text, **{"font-size": LABEL_SIZE})
        axis.setTickFont(font)
        axis.enableAutoSIPrefix(False)  # "loss", not "loss (x0.001)"
    item.layout.setContentsMargins(2, 12, 12, 2)  # the top tick label is not cut off
    item.getAxis("left").setWidth(95)  # room for "0.001" and the label at 12-13 pt
    # No grid: its alpha-blended lines tripled the cost of a repaint during training.
    BelowLegend(legend_columns).attach(item)
    palette = QApplication.palette()
    restyle_plot(plot, palette.color(QPalette.ColorRole.Base),
                 palette.color(QPalette.ColorRole.Text))
    plot.setMinimumHeight(150)
    return plot


def restyle_plot(plot: pg.PlotWidget, background: QColor | str, foreground: QColor | str) -> None:
    """Background, title, axes and legend text in the given colours (theme change)."""
    fg = pg.mkColor(foreground)
    plot.setBackground(background)
    item = plot.getPlotItem()
    item.setTitle(item.property("cnnviz_title") or None, size=TITLE_SIZE, color=fg)  # None: no row
    for side in ("bottom", "left"):
        axis = item.getAxis(side)
        axis.setPen(fg)
        axis.setTextPen(fg)  # also the axis label's colour
    if item.legend is not None:
        item.legend.setLabelTextColor(fg)


def _pen(colour: str | QColor, dashed: bool = False, width: int = LINE_WIDTH) -> pg.QtGui.QPen:
    """A thick pen; dashed for the test-set curves."""
    pen = pg.mkPen(colour, width=width)
    if dashed:
        pen.setStyle(pg.QtCore.Qt.PenStyle.DashLine)
    return pen


class MetricPlots(QWidget):
    """Loss and accuracy against epochs, for the training and the test set."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # No titles: the y axes say what they show, and the plots keep the height.
        self.loss_plot = make_plot("", "epoch", "loss")
        self.accuracy_plot = make_plot("", "epoch", "accuracy (%)")
        loss, acc = self.loss_plot.getPlotItem(), self.accuracy_plot.getPlotItem()
        self.train_loss = loss.plot(name="train (per batch)", antialias=False,
                                    pen=_pen(TRAIN_COLOUR, width=BATCH_LINE_WIDTH))
        self.test_loss = loss.plot(name="test (per epoch)", pen=_pen(TEST_COLOUR, True),
                                   symbol="o", symbolSize=9, symbolBrush=TEST_COLOUR)
        self.train_accuracy = acc.plot(name="train", pen=_pen(TRAIN_COLOUR), symbol="s",
                                       symbolSize=8, symbolBrush=TRAIN_COLOUR)
        self.test_accuracy = acc.plot(name="test", pen=_pen(TEST_COLOUR, True), symbol="o",
                                      symbolSize=9, symbolBrush=TEST_COLOUR)
        self.train_loss.setDownsampling(auto=True, method="peak")  # thousands of batches
        self.train_loss.setClipToView(True)
        acc.setYRange(0, 100, padding=0.02)
        self._lengths: dict[str, int] = {}
        self._symbols = {"test_loss": "o", "train_accuracy": "s", "test_accuracy": "o"}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.accuracy_plot)

    def set_curves(self, curves: Mapping[str, tuple[Sequence[float], Sequence[float]]]) -> None:
        """Set the curves (keys train_loss, test_loss, train_accuracy, test_accuracy).

        Within a run the curves only grow, so a curve whose length did not change is
        not re-set: that keeps a redraw cheap while most curves wait for an epoch end.
        """
        for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
            x, y = curves.get(key, ((), ()))
            if len(y) != self._lengths.get(key):
                curve = getattr(self, key)
                if key != "train_loss":  # markers only while they stay readable
                    curve.setSymbol(self._symbols[key] if len(y) <= MAX_MARKERS else None)
                curve.setData(*decimate(x, y))
                self._lengths[key] = len(y)

    def clear(self) -> None:
        """Empty every curve (a new run starts)."""
        self._lengths = {}
        self.set_curves({})


class GradNormPlot(QWidget):
    """Per-parameter-tensor gradient L2 norms on a log axis, coloured by depth.

    In a deep sigmoid network the curves of the first layers lie decades below the
    last ones: the vanishing gradient, visible at a glance.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = make_plot("Gradient norm per parameter tensor", "epoch",
                              "‖∂E/∂w‖ (log scale)", legend_columns=3)
        self.plot.getPlotItem().setLogMode(x=False, y=True)
        self.curves: dict[str, pg.PlotDataItem] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def set_norms(self, x: Sequence[float], norms: Mapping[str, Sequence[float]]) -> None:
        """Draw one curve per parameter name (in network order); zeros are dropped."""
        names = list(norms)
        if names != list(self.curves):
            self._rebuild(names)
        x = np.asarray(x, float)
        for name in names:
            y = np.asarray(norms[name], float)
            n = min(len(x), len(y))
            keep = np.isfinite(y[:n]) & (y[:n] > 0)  # log axis: no zeros or NaN
            self.curves[name].setData(*log_mean_bins(x[:n][keep], y[:n][keep]))

    def _rebuild(self, names: list[str]) -> None:
        """New parameter set (a new network): one fresh curve per tensor."""
        item = self.plot.getPlotItem()
        for curve in self.curves.values():
            item.removeItem(curve)
        self.curves = {}
        layers = sorted({name.split(".")[0] for name in names}, key=int)
        colour_of = dict(zip(layers, depth_colours(len(layers)), strict=True))
        for name in names:
            colour = colour_of[name.split(".")[0]]
            # A bias: thin, its weight's colour, no legend row. Never dashed: a dashed pen
            # over thousands of points took seconds per repaint in Qt's raster engine.
            bias = name.endswith("bias")
            pen = _pen(colour, width=1 if bias else BATCH_LINE_WIDTH)
            curve = item.plot(name=None if bias else name, pen=pen, antialias=False)
            curve.setDownsampling(auto=True, method="peak")
            self.curves[name] = curve

    def clear(self) -> None:
        """Remove every curve."""
        self._rebuild([])


def _percent(values: Sequence[float]) -> np.ndarray:
    """Accuracy fractions as percentages."""
    return np.asarray(values, float) * 100.0


def metric_curves(history: History | LiveHistory,
                  batches_per_epoch: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The (x in epochs, y) of each MetricPlots curve, read from an engine History."""
    bpe = float(max(batches_per_epoch, 1))
    batch_x = (np.asarray(history.batches["step"], float) + 1.0) / bpe
    eval_x = np.asarray(history.evals["step"], float) / bpe
    return {
        "train_loss": (batch_x, np.asarray(history.batches["loss"], float)),
        "test_loss": (eval_x, np.asarray(history.evals["test_loss"], float)),
        "train_accuracy": (np.asarray(history.epochs["epoch"], float),
                           _percent(history.epochs["train_accuracy"])),
        "test_accuracy": (eval_x, _percent(history.evals["test_accuracy"])),
    }


def norm_x(history: History | LiveHistory, batches_per_epoch: int) -> np.ndarray:
    """x (in epochs) of the per-batch gradient norms."""
    return (np.asarray(history.batches["step"], float) + 1.0) / float(max(batches_per_epoch, 1))


class GrowingArray:
    """A float64 column that grows by amortised doubling; np.asarray() gives a view.

    The live curves are re-read ten times a second; converting whole Python lists each
    time would make a redraw cost grow with the length of the run.
    """

    def __init__(self) -> None:
        self._data = np.empty(256)
        self._n = 0

    def extend(self, values: Sequence[float]) -> None:
        """Append values (None becomes NaN)."""
        new = np.array([np.nan if v is None else v for v in values], dtype=float)
        if self._n + len(new) > len(self._data):
            grown = np.empty(max(2 * len(self._data), self._n + len(new)))
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n : self._n + len(new)] = new
        self._n += len(new)

    def __len__(self) -> int:
        return self._n

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        view = self._data[: self._n]
        return view if dtype is None else view.astype(dtype, copy=False)


class LiveHistory:
    """The panel's running copy of a History's tables, fed with worker snapshots."""

    def __init__(self) -> None:
        self.batches: dict[str, GrowingArray] = {}
        self.evals: dict[str, GrowingArray] = {}
        self.epochs: dict[str, GrowingArray] = {}
        self.grad_norms: dict[str, GrowingArray] = {}
        for table, keys in ((self.batches, ("step", "loss")),
                            (self.evals, ("step", "test_loss", "test_accuracy")),
                            (self.epochs, ("epoch", "train_accuracy"))):
            for key in keys:
                table[key] = GrowingArray()

    def add(self, snapshot: Snapshot) -> None:
        """Append the rows of a worker Snapshot."""
        for table in ("batches", "evals", "epochs", "grad_norms"):
            self.extend(table, getattr(snapshot, table))

    def extend(self, table: str, rows: Mapping[str, Sequence[float]]) -> None:
        """Append new rows to one table ("batches", "evals", "epochs" or "grad_norms")."""
        columns = getattr(self, table)
        for key, values in rows.items():
            columns.setdefault(key, GrowingArray()).extend(values)
