"""Status-bar lines: where the cursor is, and the selected unit with its value and δ."""

from __future__ import annotations

from cnnviz.app.controller.modes import mode_name
from cnnviz.core.spec import NetworkSpec
from cnnviz.engine.explain_terms import idx
from cnnviz.engine.selection import Selection
from cnnviz.engine.stepper import Stepper
from cnnviz.engine.steps import (
    inner_output_grad_of,
    input_grad_of,
    layer_spec_of,
    parse_step,
    step_suffix,
)


def step_status(stepper: Stepper) -> str:
    """One line: the last step done, the next one, the count and the mode (train/eval)."""
    current = f"{stepper.current.name} done" if stepper.current is not None else "start of pass"
    nxt = f"next {stepper.next_step_name}" if stepper.next_step_name else "pass complete"
    mode = mode_name(stepper.net.training)
    return f"{current} · {nxt} · {stepper.cursor}/{len(stepper.steps)} · {mode}"


def unit_status(stepper: Stepper, spec: NetworkSpec, selection: Selection) -> str:
    """The selected unit and its latest value and δ ('' when no unit is selected)."""
    if selection.layer is None or selection.unit is None:
        return ""
    index = (selection.example, *selection.unit)
    if selection.inner is not None:
        return _inner_unit_status(stepper, spec, selection, index)
    value = unit_value(stepper, selection.layer, index)
    text = "" if value is None else f" = {value:.6g}"
    last = selection.layer == len(spec.layers) - 1
    delta = unit_delta(stepper, selection.layer, index, last)
    text += "" if delta is None else f"   δ = {delta:.6g}"
    return f"layer {selection.layer} unit {idx(*selection.unit)}{text}"


def _inner_unit_status(stepper: Stepper, spec: NetworkSpec, selection: Selection,
                       index: tuple[int, ...]) -> str:
    """The same line for a unit of a block's inner layer: `layer 4.body.0 unit [2,3,4] = …`."""
    layer = layer_spec_of(spec, selection.layer, selection.inner)
    name = "F" + step_suffix(selection.layer, selection.inner)
    record = stepper.record(name)
    text = "" if record is None else f" = {float(record.values['output'][index]):.6g}"
    grad = inner_output_grad_of(stepper, parse_step(name))
    text += "" if grad is None else f"   δ = {float(grad[index]):.6g}"
    return f"layer {layer.key} unit {idx(*selection.unit)}{text}"


def unit_value(stepper: Stepper, layer: int, index: tuple[int, ...]) -> float | None:
    """The forward value of a unit (n, …) in this pass, or None before it was computed."""
    record = stepper.record(f"F{layer}")
    return None if record is None else float(record.values["output"][index])


def unit_delta(stepper: Stepper, layer: int, index: tuple[int, ...], last: bool) -> float | None:
    """δ = ∂E/∂o of a unit (n, …) once the backward pass has reached it, else None."""
    if last:
        record = stepper.record("L")
        return None if record is None else float(record.values["grad_logits"][index])
    grad = input_grad_of(stepper, layer + 1)  # a block's: the sum of both branches'
    return None if grad is None else float(grad[index])
