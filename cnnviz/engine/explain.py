"""Explanations: the formula of one unit of an executed step, with its actual numbers.

`explain_step` dispatches on the step's kind to the forward, backward and loss/update
explainers. Each is a function of the step record and a `PassView` (the network, labels,
optimizer and records of the pass); none of them knows the Stepper.
"""

from __future__ import annotations

from typing import Any

from cnnviz.engine.explain_backward import explain_backward
from cnnviz.engine.explain_blocks import explain_block_step, is_block_step
from cnnviz.engine.explain_forward import explain_forward
from cnnviz.engine.explain_loss import explain_loss, explain_update
from cnnviz.engine.explain_terms import Explanation, fmt
from cnnviz.engine.records import PassView, StepRecord

__all__ = ["Explanation", "explain_step", "fmt"]


def explain_step(view: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """Dispatch to the explainer of the record's kind."""
    if is_block_step(rec):  # blocks, their inner layers, batch norm, dropout
        return explain_block_step(view, rec, unit)
    if rec.kind == "forward":
        return explain_forward(view, rec, unit)
    if rec.kind == "backward":
        return explain_backward(view, rec, unit)
    if rec.kind == "loss":
        return explain_loss(view, rec, unit)
    return explain_update(view, rec, unit)
