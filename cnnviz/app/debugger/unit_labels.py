"""Names of a network's output units: the dataset's class names (digits, shape names), so
that the output layer and the loss column say "circle", not "2"; other dense layers show
their unit indices (``ThumbGrid`` writes them)."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtWidgets import QWidget

from cnnviz.app.controller import AppController

LOSS = "loss"  # the pipeline's key of the loss column


class PipelineView(Protocol):
    """What this module needs of the pipeline (which imports this module)."""

    ctrl: AppController
    columns: dict[int | str, QWidget]


def class_names(ctrl: AppController) -> list[str]:
    """Names from the dataset if it fits the network, else the class numbers."""
    k = ctrl.spec.num_classes
    names = getattr(ctrl.dataset, "class_names", None)
    return list(names) if names is not None and len(names) == k else [str(i) for i in range(k)]


def label_outputs(pipeline: PipelineView) -> None:
    """Class names on the output layer's and the loss column's units."""
    spec = pipeline.ctrl.spec
    names = class_names(pipeline.ctrl)
    last = spec.layers[-1].index if spec.layers else None
    for key, column in pipeline.columns.items():
        if column.thumbs.vector:
            column.thumbs.set_labels(names if key in (last, LOSS) else None)


def install(pipeline: PipelineView) -> None:
    """Keep the names up to date: a new network or a new dataset may change them."""
    for signal in (pipeline.ctrl.spec_changed, pipeline.ctrl.dataset_changed):
        signal.connect(lambda: label_outputs(pipeline))
    label_outputs(pipeline)
