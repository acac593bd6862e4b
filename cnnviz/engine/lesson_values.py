"""The live numbers of lesson narrations, computed from the stepper, network and runs.

`evaluate(placeholder, view)` returns the number a ``{{…}}`` names, from the records of
the current pass (never recomputed by hand), the network's arrays, or the results of the
lesson's training runs; a ValueError says what is missing. No Qt here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnviz.engine.lessons import Placeholder
from cnnviz.engine.stepper import Stepper

DEFAULT_KEYS = {"F": "output", "B": "grad_input", "L": "loss"}
TRAIN_METRICS = ("test_loss", "test_accuracy", "final_loss", "first_loss", "epochs", "updates")


@dataclass
class LessonView:
    """What a lesson's numbers are read from: the app's stepper and the lesson's runs."""

    stepper: Stepper
    train: Any = None                                  # the last TrainResult
    compare: dict[str, Any] = field(default_factory=dict)  # optimizer name -> TrainResult


def index_of(text: str) -> tuple[int, ...]:
    """'0,0,3,3' -> (0, 0, 3, 3)."""
    try:
        return tuple(int(v) for v in text.split(",") if v != "")
    except ValueError:
        raise ValueError(f"{text!r} is not an index such as 0,0,3,3") from None


def _record(view: LessonView, step: str) -> Any:
    """The record of an executed step of the current pass."""
    st = view.stepper
    if step not in st.steps:
        raise ValueError(f"there is no step {step!r} (steps {st.steps[0]} … {st.steps[-1]})")
    rec = st.record(step)
    if rec is None:
        raise ValueError(f"step {step} has not run yet (run_to it first)")
    return rec


def _tensor(view: LessonView, step: str, key: str | None = None) -> np.ndarray:
    """A tensor of a step's record; the default key follows the step kind."""
    rec = _record(view, step)
    key = key or DEFAULT_KEYS.get(step[0], "output")
    if key not in rec.values:
        raise ValueError(f"step {step} recorded {', '.join(rec.values)}, not {key!r}")
    return np.asarray(rec.values[key], dtype=np.float64)


def _at(array: np.ndarray, index: tuple[int, ...]) -> float:
    """array[index], with a clear message when it does not fit."""
    if len(index) != array.ndim or any(not 0 <= i < n for i, n in zip(index, array.shape,
                                                                    strict=False)):
        raise ValueError(f"index {index} does not fit shape {array.shape}")
    return float(array[index])


def _value(view: LessonView, step: str, index: str, key: str | None = None) -> float:
    """A cell of a record: value F0 0,0,3,3 [output]."""
    return _at(_tensor(view, step, key), index_of(index))


def _loss(view: LessonView) -> float:
    """The loss of the current pass (its L step must have run)."""
    return float(_tensor(view, "L", "loss"))


def _probabilities(view: LessonView) -> np.ndarray:
    """Softmax (cross-entropy) or the outputs (mse) of example 0 at the L step."""
    rec = _record(view, "L")
    if "probabilities" in rec.values:
        return np.asarray(rec.values["probabilities"], dtype=np.float64)[0]
    return np.asarray(rec.values["logits"], dtype=np.float64)[0]


def _prob(view: LessonView, k: str) -> float:
    """The probability of class k for example 0."""
    return _at(_probabilities(view), index_of(k))


def _explain(view: LessonView, step: str, unit: str) -> float:
    """The value an explanation computes: explain B0 weight:0,0,1,1 / explain F0 0,0,3,3."""
    _record(view, step)
    if ":" in unit:
        kind, rest = unit.split(":", 1)
        return float(view.stepper.explain(step, (kind, index_of(rest))).value)
    return float(view.stepper.explain(step, index_of(unit)).value)


def _grad_norm(view: LessonView, param: str) -> float:
    """‖∂E/∂w‖ of a parameter ("1.weight") from the latest backward pass."""
    grads = view.stepper.net.grads()
    if param not in grads or grads[param] is None:
        raise ValueError(f"no gradient {param!r}; parameters: {', '.join(grads)}")
    return float(np.linalg.norm(np.asarray(grads[param], dtype=np.float64)))


def _delta_norm(view: LessonView, step: str) -> float:
    """‖δ_in‖ a backward step passed on (the error reaching the layer's input)."""
    rec = _record(view, step)
    key = "block_grad_input" if "block_grad_input" in rec.values else "grad_input"
    return float(np.linalg.norm(np.asarray(rec.values[key], dtype=np.float64)))


def _weight(view: LessonView, param: str, index: str) -> float:
    """A parameter's current value: weight 0.weight 0,0,1,1."""
    params = view.stepper.net.params()
    if param not in params:
        raise ValueError(f"no parameter {param!r}; parameters: {', '.join(params)}")
    return _at(np.asarray(params[param], dtype=np.float64), index_of(index))


def _shape(view: LessonView, layer: str, dim: str) -> float:
    """A layer's output size along a dimension (per example): shape 0 1 -> its height."""
    layers = view.stepper.net.spec.layers
    i, d = int(layer), int(dim)
    if not 0 <= i < len(layers) or not 0 <= d < len(layers[i].out_shape):
        raise ValueError(f"no dimension {d} of layer {i}")
    return float(layers[i].out_shape[d])


def _nonzero(view: LessonView, step: str, key: str) -> float:
    """How many cells of a record tensor are not zero."""
    return float(np.count_nonzero(_tensor(view, step, key)))


def _sum(view: LessonView, step: str, key: str) -> float:
    """The sum of a record tensor."""
    return float(np.sum(_tensor(view, step, key)))


def _run_metric(result: Any, metric: str, what: str) -> float:
    """test_loss, test_accuracy, final_loss, first_loss or epochs of a TrainResult."""
    if result is None:
        raise ValueError(f"no {what} has run yet in this lesson")
    if metric not in TRAIN_METRICS:
        raise ValueError(f"unknown metric {metric!r}; use {', '.join(TRAIN_METRICS)}")
    if metric in ("final_loss", "first_loss"):
        losses = result.history.batches["loss"]
        return float(losses[-1] if metric == "final_loss" else losses[0])
    if metric == "updates":
        return float(len(result.history.batches["step"]))
    if metric == "epochs":
        return float(result.epochs_completed)
    return float(getattr(result, metric))


def _train(view: LessonView, metric: str) -> float:
    """A metric of the lesson's last training run."""
    return _run_metric(view.train, metric, "training run")


def _compare(view: LessonView, optimizer: str, metric: str) -> float:
    """A metric of one optimizer's run in the lesson's last comparison."""
    if optimizer not in view.compare:
        raise ValueError(f"the comparison has no run {optimizer!r} "
                         f"(runs: {', '.join(view.compare) or 'none yet'})")
    return _run_metric(view.compare[optimizer], metric, "comparison")


QUANTITY_FUNCTIONS: dict[str, Callable[..., float]] = {
    "loss": _loss, "prob": _prob, "predicted": lambda v: float(np.argmax(_probabilities(v))),
    "value": _value, "explain": _explain, "grad_norm": _grad_norm, "delta_norm": _delta_norm,
    "weight": _weight, "shape": _shape, "nonzero": _nonzero, "sum": _sum, "train": _train,
    "compare": _compare,
}


def evaluate(placeholder: Placeholder, view: LessonView) -> float:
    """The live number a placeholder names; ValueError saying what is missing."""
    try:
        return QUANTITY_FUNCTIONS[placeholder.quantity](view, *placeholder.args)
    except (IndexError, KeyError, TypeError) as error:
        raise ValueError(f"{placeholder.text}: {error}") from None


def render(placeholders: tuple[Placeholder, ...], view: LessonView) -> tuple[dict[str, str],
                                                                             list[str]]:
    """(shown text per placeholder, problems): every number computed and checked."""
    shown: dict[str, str] = {}
    problems: list[str] = []
    for ph in placeholders:
        try:
            value = evaluate(ph, view)
        except ValueError as error:
            shown[ph.text] = "?"
            problems.append(f"{ph.text}: {error}".replace(f"{ph.text}: {ph.text}", ph.text))
            continue
        shown[ph.text] = ph.format(value)
        if not ph.agrees(value):
            problems.append(f"{ph.text}: the app computes {value:.6g}, the narration says "
                            f"{ph.expected:g} ± {ph.tolerance:.2g}")
    return shown, problems
