"""Forward and backward steps of the stepper, residual blocks' inner steps included.

Each function calls exactly what `Network.run_pass` calls (`Layer.forward` /
`Layer.backward`, the block's addition `body + shortcut` and the sum of the branches'
input gradients), so a stepped pass equals `run_pass` bit for bit. A forward step of batch
norm records the running statistics before and after it, one of dropout the generator's
state before its draw (`meta["rng_before"]`): `undo_forward` puts both back, so stepping
back and forward again gives the same records. Replaying a layer's forward for its
backward (`ensure_saved`) never moves the running statistics nor draws a mask.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np

from cnnviz.core.layers import BatchNorm, Dropout, Layer
from cnnviz.core.network import Network
from cnnviz.engine.records import StepRecord
from cnnviz.engine.steps import StepRef, inner_name, input_grad_of, layer_of, parse_step

STATISTICS = ("running_mean", "running_var")


class Stepping(Protocol):
    """What the step functions read from the Stepper."""

    net: Network
    x: np.ndarray

    def record(self, name: str) -> StepRecord | None:
        """The record of an executed step, or None."""


def _values(st: Stepping, name: str) -> dict[str, np.ndarray]:
    """The values of an executed step (it must have run)."""
    rec = st.record(name)
    assert rec is not None, f"step {name} has not run"
    return rec.values


def block_input(st: Stepping, i: int) -> np.ndarray:
    """The input of top-level layer i: the pass's input or layer i − 1's recorded output."""
    return st.x if i == 0 else _values(st, f"F{i - 1}")["output"]


def _branch_end(st: Stepping, i: int, branch: str) -> np.ndarray:
    """The output of a block's branch (its input for an identity shortcut)."""
    layers = getattr(st.net.layers[i], branch)
    if not layers:
        return block_input(st, i)
    return _values(st, inner_name("F", i, branch, len(layers) - 1))["output"]


def _forward_input(st: Stepping, ref: StepRef) -> np.ndarray:
    """The input of the layer of a forward step."""
    if ref.branch is None or ref.j == 0:
        return block_input(st, ref.layer)
    return _values(st, inner_name("F", ref.layer, ref.branch, ref.j - 1))["output"]


# -- forward --------------------------------------------------------------------------------


def run_forward(st: Stepping, name: str) -> StepRecord:
    """Execute forward step `name`: a layer (top-level or inner) or a block's addition."""
    ref = parse_step(name)
    layer = layer_of(st.net, ref)
    if layer.type == "residual":
        return _addition(st, ref.layer)
    x = _forward_input(st, ref)
    meta = _undo_meta(st.net, layer)
    before = {key: array.copy() for key, array in layer.buffers.items()}
    out = layer.forward(x)
    values = {"input": x.copy(), "output": out.copy(), **_saved_extras(layer, before)}
    return StepRecord(name, ref.layer, "forward", layer.type, values, meta, ref.inner)


def _undo_meta(net: Network, layer: Layer) -> dict[str, Any]:
    """The mode of batch norm and dropout, and the generator's state before a dropout draw."""
    if isinstance(layer, Dropout):
        return {"training": layer.training, "rng_before": net.rng.bit_generator.state}
    if isinstance(layer, BatchNorm):
        return {"training": layer.training}
    return {}


def _saved_extras(layer: Layer, before: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Winners of max pooling, the dropout mask, batch norm's statistics (copies)."""
    extras = {key: layer.saved[key].copy() for key in ("argmax", "mask") if key in layer.saved}
    if isinstance(layer, BatchNorm):
        extras.update({key: layer.saved[key].copy() for key in ("mean", "var", "x_hat")})
        for key in STATISTICS:
            extras[f"{key}_before"] = before[key]
            extras[f"{key}_after"] = layer.buffers[key].copy()
    return extras


def _addition(st: Stepping, i: int) -> StepRecord:
    """F<i> of a block: output = body(x) + shortcut(x), as `Residual.forward` adds them."""
    block = st.net.layers[i]
    x = block_input(st, i)
    body, shortcut = _branch_end(st, i, "body"), _branch_end(st, i, "shortcut")
    out = body + shortcut
    block.saved.update(input=x, output=out, body_output=body, shortcut_output=shortcut)
    values = {"input": x.copy(), "body_output": body.copy(),
              "shortcut_output": shortcut.copy(), "output": out.copy()}
    return StepRecord(f"F{i}", i, "forward", "residual", values)


def undo_forward(net: Network, rec: StepRecord) -> None:
    """Put back the running statistics and the mask generator a forward step moved."""
    layer = layer_of(net, parse_step(rec.name))
    for key in STATISTICS:
        if f"{key}_before" in rec.values:
            np.copyto(layer.buffers[key], rec.values[f"{key}_before"])
    if "rng_before" in rec.meta:
        net.rng.bit_generator.state = rec.meta["rng_before"]


# -- backward -------------------------------------------------------------------------------


def output_grad(st: Stepping, i: int) -> np.ndarray:
    """∂E/∂(output of top-level layer i): the loss gradient or the next layer's input grad."""
    if i == len(st.net.layers) - 1:
        return _values(st, "L")["grad_logits"]
    grad = input_grad_of(st, i + 1)
    assert grad is not None, f"the input gradient of layer {i + 1} has not been computed"
    return grad


def _backward_grad_out(st: Stepping, ref: StepRef) -> np.ndarray:
    """The δ a backward step starts from."""
    if ref.branch is None:
        return output_grad(st, ref.layer)
    last = len(getattr(st.net.layers[ref.layer], ref.branch)) - 1
    if ref.j == last:  # the δ the addition copied to this branch
        return _values(st, f"B{ref.layer}")[f"grad_{ref.branch}_output"]
    return _values(st, inner_name("B", ref.layer, ref.branch, ref.j + 1))["grad_input"]


def run_backward(st: Stepping, name: str) -> StepRecord:
    """Execute backward step `name`: a layer's backward or a block's copy of δ."""
    ref = parse_step(name)
    layer = layer_of(st.net, ref)
    if layer.type == "residual":
        delta = output_grad(st, ref.layer)
        values = {"grad_output": delta.copy(), "grad_body_output": delta.copy(),
                  "grad_shortcut_output": delta.copy()}
        return StepRecord(name, ref.layer, "backward", "residual", values)
    grad_out = _backward_grad_out(st, ref)
    ensure_saved(layer, st.record(name.replace("B", "F", 1)))
    grad_in = layer.backward(grad_out)
    values = {"grad_output": grad_out.copy(), "grad_input": np.array(grad_in, copy=True)}
    for key, grad in layer.grads.items():
        values[f"grad_{key}"] = np.array(grad, copy=True)
    if ref.branch == "body" and ref.j == 0:
        values["block_grad_input"] = _join(st, ref.layer, grad_in)
    return StepRecord(name, ref.layer, "backward", layer.type, values, {}, ref.inner)


def _join(st: Stepping, i: int, grad_body: np.ndarray) -> np.ndarray:
    """The block's input gradient: the body's plus the shortcut's (δ itself for identity)."""
    block = st.net.layers[i]
    if block.shortcut:
        grad_shortcut = _values(st, inner_name("B", i, "shortcut", 0))["grad_input"]
    else:
        grad_shortcut = _values(st, f"B{i}")["grad_shortcut_output"]
    block.grads = block.inner_grads()
    return grad_body + grad_shortcut


def ensure_saved(layer: Layer, fwd: StepRecord | None) -> None:
    """Make the layer's saved tensors those of its recorded forward step again.

    Something else (a prediction) may have run the layer since. Batch norm and dropout
    are always replayed, in the recorded mode, with the recorded statistics and mask.
    """
    assert fwd is not None, f"backward of layer {layer.key} before its forward step"
    recorded = fwd.values["input"]
    if "training" in fwd.meta:
        with _as_recorded(layer, fwd):
            layer.forward(recorded)
        return
    saved = layer.saved.get("input")
    if (saved is None or saved.shape != recorded.shape
            or not np.array_equal(saved, recorded, equal_nan=True)):
        layer.forward(recorded)


@contextmanager
def _as_recorded(layer: Layer, fwd: StepRecord) -> Iterator[None]:
    """The recorded mode, statistics and mask while a forward is replayed; then back."""
    training, now = layer.training, {k: v.copy() for k, v in layer.buffers.items()}
    fixed = getattr(layer, "fixed_mask", None)
    layer.set_training(fwd.meta["training"])
    for key in now:
        np.copyto(layer.buffers[key], fwd.values[f"{key}_before"])
    if isinstance(layer, Dropout):
        layer.fixed_mask = fwd.values.get("mask")
    try:
        yield
    finally:
        layer.set_training(training)
        for key, value in now.items():
            np.copyto(layer.buffers[key], value)
        if isinstance(layer, Dropout):
            layer.fixed_mask = fixed
