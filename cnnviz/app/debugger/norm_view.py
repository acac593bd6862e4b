"""The inspector's batch-norm table and dropout mask, and RGB filters of a colour layer.

The table and the mask come from the forward record of a batch-norm or dropout step: the
current step's layer when it is one (inside a block too), else the inspected layer (an
inner layer too). γ and β
are the layer's live parameters. Nothing is computed here but the display scaling.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.targets import Target
from cnnviz.app.widgets.mapview import MapView
from cnnviz.engine.records import StepRecord
from cnnviz.engine.steps import layer_of, parse_step

NORM_TYPES = ("batchnorm2d", "batchnorm1d")
COLUMNS = ["c", "batch μ", "batch σ²", "running μ before", "running μ after",
           "running σ² before", "running σ² after", "γ", "β"]


def layer_record(ctrl: AppController, target: Target,
                 types: tuple[str, ...]) -> StepRecord | None:
    """The forward record of the current step's layer if its type is one of `types`, else
    that of the inspected layer (inner ones too) if it is; None when neither ran."""
    st, current = ctrl.stepper, ctrl.stepper.current
    if current is not None and current.layer_type in types and current.kind != "update":
        return st.record("F" + current.name[1:])
    if target.spec(ctrl).type in types:
        return st.record(target.step("F"))
    return None


def norm_rows(ctrl: AppController, rec: StepRecord) -> list[list[float]]:
    """Per channel: the statistics it normalised with, the running ones before and after,
    γ and β (in eval mode the 'batch' columns are the running statistics used)."""
    params = layer_of(ctrl.network, parse_step(rec.name)).params
    v = rec.values
    cols = [v["mean"], v["var"], v["running_mean_before"], v["running_mean_after"],
            v["running_var_before"], v["running_var_after"], params["weight"], params["bias"]]
    return [[c, *(float(col[c]) for col in cols)] for c in range(len(v["mean"]))]


def mask_of(rec: StepRecord | None, example: int) -> np.ndarray | None:
    """The dropout mask of one example (1 kept, 0 dropped), None in eval mode."""
    if rec is None or "mask" not in rec.values:
        return None
    return rec.values["mask"][example]


def rgb_filters(weight: np.ndarray) -> np.ndarray:
    """(out, kh, kw, 3) colours of [out, 3, kh, kw] weights: each filter scaled to its own
    largest |w|, so 0 is mid-grey, positive weights brighten a channel, negative darken it."""
    peak = np.abs(weight).reshape(len(weight), -1).max(axis=1)
    scaled = 0.5 + 0.5 * weight / np.where(peak > 0, peak, 1.0)[:, None, None, None]
    return np.clip(np.moveaxis(scaled, 1, -1), 0.0, 1.0)


class NormStatsView(QTableWidget):
    """One row per channel of a batch-norm layer: batch and running statistics, γ, β."""

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setObjectName("inspector_norm")
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setStretchLastSection(True)
        self.rows: list[list[float]] = []

    def show_rows(self, rows: list[list[float]], training: bool) -> None:
        """Fill the table (empty rows: nothing to show)."""
        self.rows = rows
        labels = list(COLUMNS)
        if not training:
            labels[1:3] = ["used μ (running)", "used σ² (running)"]
        self.setHorizontalHeaderLabels(labels)
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                text = str(int(value)) if c == 0 else f"{value:.4g}"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, item)
        self.resizeColumnsToContents()


def show_rgb(view: MapView, weight: np.ndarray) -> None:
    """Draw [out, 3, kh, kw] filters as one colour tile each (hover: the channel mean)."""
    view.set_array(weight.mean(axis=1), True)
    colours = rgb_filters(weight)
    tiled = np.stack([view.mosaic.tile(colours[..., k]) for k in range(3)], axis=-1)
    view.image.setImage(np.nan_to_num(tiled, nan=1.0), levels=(0.0, 1.0))
    view.colorbar.setVisible(False)
