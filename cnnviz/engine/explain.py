"""Explanations: the formula of one unit of an executed step, with its actual numbers.

`explain_step` dispatches on the step's kind to the forward, backward and loss/update
explainers. Each is a function of the step record and a `PassView` (the network, labels,
optimizer and records of the pass); none of them knows the Stepper. Every step kind gets
its computation figure: a block's inner conv, pool or activation step through `InnerView`
(the ordinary builders, the inner layer named), the addition, batch norm and dropout by
their own builders.
"""

from __future__ import annotations

from typing import Any

from cnnviz.engine.explain_backward import explain_backward
from cnnviz.engine.explain_blocks import InnerView, explain_block_step, is_block_step
from cnnviz.engine.explain_forward import explain_forward
from cnnviz.engine.explain_loss import explain_loss, explain_update, optimizer_after
from cnnviz.engine.explain_norm import NORM_TYPES
from cnnviz.engine.explain_terms import Explanation, fmt
from cnnviz.engine.figures_backward import backward_figure, seed_form
from cnnviz.engine.figures_blocks import addition_figure, inner_figure
from cnnviz.engine.figures_forward import forward_figure
from cnnviz.engine.figures_norm import norm_figure
from cnnviz.engine.figures_update import loss_figure, update_figure
from cnnviz.engine.records import PassView, StepRecord

__all__ = ["Explanation", "explain_step", "fmt"]


def explain_step(view: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """Dispatch to the explainer of the record's kind, then lay its numbers out as grids."""
    ex = _explain(view, rec, unit)
    figure = _figure(view, rec, ex)
    if figure is not None:
        ex.figures["computation"] = figure
    seed = _seed(view, rec, ex)
    if seed is not None:
        ex.figures["seed"] = seed
    return ex


def _update_figure(view: PassView, rec: StepRecord, ex: Explanation) -> Any:
    """The update's figure, with the optimizer as that U step left it."""
    return update_figure(view, rec, ex, optimizer_after(view, rec))


_EXPLAINERS = {"forward": explain_forward, "backward": explain_backward, "loss": explain_loss,
               "update": explain_update}
_FIGURES = {"forward": forward_figure, "backward": backward_figure, "loss": loss_figure,
            "update": _update_figure}


def _explain(view: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """The Explanation of one unit, by the record's kind (blocks, batch norm and dropout
    by their own explainers)."""
    if is_block_step(rec):
        return explain_block_step(view, rec, unit)
    return _EXPLAINERS[rec.kind](view, rec, unit)


def _figure(view: PassView, rec: StepRecord, ex: Explanation) -> Any:
    """The computation view's Figure of an explanation (None for a layer it cannot draw)."""
    if rec.layer_type == "residual":
        return addition_figure(view, rec, ex)
    if rec.layer_type in NORM_TYPES:
        return norm_figure(view, rec, ex)
    if rec.inner is not None:
        return inner_figure(view, rec, _FIGURES[rec.kind](InnerView(view, rec), rec, ex))
    return _FIGURES[rec.kind](view, rec, ex)


def _seed(view: PassView, rec: StepRecord, ex: Explanation) -> Any:
    """The seed form of a backward conv input delta, None for other steps. A block's first
    inner conv has none: its input's delta is the sum of both branches', not one formula."""
    if rec.kind != "backward" or rec.layer_type != "conv2d":
        return None
    if rec.inner is None:
        return seed_form(view, rec, ex)
    inner = InnerView(view, rec)
    return None if inner.first else inner_figure(view, rec, seed_form(inner, rec, ex))
