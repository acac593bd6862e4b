"""What each pipeline column shows: a layer's output going forward, its δ once the backward
pass reached it. Columns are keyed by a top-level layer index, INPUT, LOSS, or the name of
a residual block's inner layer without its F/B ("4.0" body layer 0, "4.s1" shortcut layer 1).
"""

from __future__ import annotations

import numpy as np

from cnnviz.app.controller import AppController
from cnnviz.engine.steps import StepRef, inner_output_grad_of, input_grad_of, parse_step

INPUT, LOSS = "input", "loss"
Key = int | str
Content = tuple[np.ndarray | None, str, bool]


def inner_ref(key: Key) -> StepRef | None:
    """The forward StepRef of an inner column key ("4.s1"), None for other keys."""
    if not isinstance(key, str) or key in (INPUT, LOSS):
        return None
    return parse_step(f"F{key}")


def step_names_of(key: Key) -> list[str]:
    """The steps a column stands for (its breakpoint markers)."""
    if key == INPUT:
        return []
    if key == LOSS:
        return ["L"]
    return [f"F{key}", f"B{key}"]


def object_name(key: Key) -> str:
    """A style-sheet safe objectName of a column ("column_4_s1": no dots in ids)."""
    return f"column_{str(key).replace('.', '_')}"


def delta_of(ctrl: AppController, layer: int) -> np.ndarray | None:
    """δ = ∂E/∂o of a layer's output for the shown example, once the backward pass has
    reached it (written by L for the last layer, else by B<layer+1> — for a block, by the
    join of both branches at B<layer+1>.0); None before that."""
    st, n = ctrl.stepper, ctrl.selection.example
    if layer == len(ctrl.spec.layers) - 1:
        rec = st.record("L")
        return None if rec is None else rec.values["grad_logits"][n]
    grad = input_grad_of(st, layer + 1)  # a block's input gradient sums both branches'
    return None if grad is None else grad[n]


def inner_delta(ctrl: AppController, ref: StepRef) -> np.ndarray | None:
    """δ of an inner layer's output for the shown example: from the addition's copy (B<i>)
    for a branch's last layer, else from the next inner layer's backward step."""
    grad = inner_output_grad_of(ctrl.stepper, ref)
    return None if grad is None else grad[ctrl.selection.example]


def column_content(ctrl: AppController, key: Key) -> Content:
    """(array, mode, signed) a column shows now: its output o going forward, its delta δ
    once the backward pass reached it; mode is 'input', 'output', 'delta', 'loss' or ''."""
    st, n = ctrl.stepper, ctrl.selection.example
    if key == INPUT:
        grad = input_grad_of(st, 0)
        if grad is not None:
            return grad[n], "delta", True
        return st.x[n], "input", False
    if key == LOSS:
        rec = st.record("L")
        if rec is None:
            return None, "", False
        if "probabilities" in rec.values:
            return rec.values["probabilities"][n], "loss", False
        return rec.values["logits"][n], "loss", True
    ref = inner_ref(key)
    delta = delta_of(ctrl, key) if ref is None else inner_delta(ctrl, ref)
    if delta is not None:
        return delta, "delta", True
    fwd = st.record(f"F{key}")
    if fwd is not None:
        out = fwd.values["output"][n]
        return out, "output", bool(np.nanmin(out) < 0)
    return None, "", False
