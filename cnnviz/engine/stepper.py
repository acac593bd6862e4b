"""The backprop debugger: a pass as a sequence of steps F0 … L … B0, U, with a cursor.

A residual block runs as inner steps (`F3.0`, `F3.s0`, `F3`; `B3`, `B3.s0`, `B3.0`; see
`cnnviz.engine.steps`); the forward and backward steps themselves are in `stepper_blocks`.

Each step calls exactly what `Network.run_pass` / `Network.train_step` call, in the same
order, so stepping a pass one operation at a time gives bit-for-bit the same numbers.
Every executed step leaves a `StepRecord` holding copies of the tensors it read and wrote;
`back()` undoes the last step exactly (the update step restores the weights and the
optimizer's state), so a whole pass can be walked forward and back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from cnnviz.core.losses import softmax
from cnnviz.core.network import Network
from cnnviz.core.optim import SGD
from cnnviz.core.optim_base import Optimizer
from cnnviz.engine.explain import Explanation, explain_step
from cnnviz.engine.receptive import receptive_field
from cnnviz.engine.records import StepRecord
from cnnviz.engine.stepper_blocks import run_backward, run_forward, undo_forward
from cnnviz.engine.steps import param_step, step_names

__all__ = ["Listener", "StepRecord", "Stepper"]

Listener = Callable[[str], None]


class Stepper:
    """Cursor over the steps of one pass, with exact undo, breakpoints and listeners."""

    def __init__(
        self, net: Network, x: np.ndarray, y: Any, optimizer: Optimizer | None = None
    ) -> None:
        """Prepare a pass of `net` on input `x` (C,H,W or N,C,H,W) with labels `y`."""
        if optimizer is None:
            optimizer = SGD(lr=0.01)
        self.net = net
        self.optimizer = optimizer
        self.steps: list[str] = step_names(net.spec)
        self._position = {name: k for k, name in enumerate(self.steps)}
        self._start: dict[str, Any] | None = None  # buffers and mask generator at cursor 0
        self.breakpoints: set[str] = set()
        self.records: list[StepRecord] = []
        self._undo_update: dict[str, Any] | None = None
        self._listeners: list[Listener] = []
        self._set_input(x, y)

    # -- state --------------------------------------------------------------------------

    def _set_input(self, x: np.ndarray, y: Any) -> None:
        """Prepare and keep the input batch and its labels."""
        self.x = self.net.prepare_input(x)
        self.y = self.net.prepare_labels(y, self.x.shape[0])

    @property
    def cursor(self) -> int:
        """Number of steps executed in this pass."""
        return len(self.records)

    @property
    def current(self) -> StepRecord | None:
        """The last executed record, or None before the first step."""
        return self.records[-1] if self.records else None

    @property
    def next_step_name(self) -> str | None:
        """Name of the step `step()` would execute, or None at the end of the pass."""
        return self.steps[self.cursor] if self.cursor < len(self.steps) else None

    @property
    def finished(self) -> bool:
        """True once every step of the pass, the update included, has run."""
        return self.cursor == len(self.steps)

    def record(self, name: str) -> StepRecord | None:
        """The record of an executed step, or None if it has not run (yet)."""
        self._check_name(name)
        index = self._position[name]
        return self.records[index] if index < self.cursor else None

    def _check_name(self, name: str) -> None:
        """Raise ValueError for a name that is not a step of this pass."""
        if name not in self._position:
            raise ValueError(
                f"unknown step {name!r}: this pass has steps {self.steps[0]} … {self.steps[-1]}"
                f" ({', '.join(self.steps)})"
            )

    # -- listeners ----------------------------------------------------------------------

    def add_listener(self, fn: Listener) -> None:
        """Call `fn(event)` after every change: "step", "back", "reset", "new_pass"."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        """Stop calling `fn`; unknown listeners are ignored."""
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _notify(self, event: str) -> None:
        """Tell every listener what changed."""
        for fn in list(self._listeners):
            fn(event)

    # -- moving -------------------------------------------------------------------------

    def step(self) -> StepRecord | None:
        """Execute the next step and return its record (None past the end)."""
        record = self._execute_next()
        if record is not None:
            self._notify("step")
        return record

    def back(self) -> StepRecord | None:
        """Undo the last executed step exactly; return the record that is now current."""
        if not self.records:
            return None
        self._undo_last()
        self._notify("back")
        return self.current

    def run_to(self, name: str) -> StepRecord | None:
        """Execute until step `name` has run, or stop right after a breakpoint step ran.

        Only moves forward: if `name` already ran, nothing changes. Listeners get one
        "step" event when anything ran. Returns the last record.
        """
        self._check_name(name)
        target = self.steps.index(name)
        start = self.cursor
        try:
            while self.cursor <= target:
                record = self._execute_next()
                if record is not None and record.name in self.breakpoints:
                    break
        finally:
            if self.cursor != start:
                self._notify("step")
        return self.current

    def resume(self) -> StepRecord | None:
        """Run to the next breakpoint or the end of the pass (the F5 key)."""
        return self.run_to(self.steps[-1])

    def run_all(self) -> StepRecord | None:
        """Run every remaining step, ignoring breakpoints; return the last record."""
        start = self.cursor
        try:
            while self._execute_next() is not None:
                pass
        finally:
            if self.cursor != start:
                self._notify("step")
        return self.current

    def seek(self, name: str) -> StepRecord | None:
        """Move forward or back until `name` is the current step (breakpoints ignored)."""
        self._check_name(name)
        target = self.steps.index(name) + 1
        event = "back" if target < self.cursor else "step"
        moved = target != self.cursor
        while self.cursor > target:
            self._undo_last()
        while self.cursor < target:
            self._execute_next()
        if moved:
            self._notify(event)
        return self.current

    def reset(self) -> None:
        """Back to cursor 0 of this pass, undoing everything (weights included)."""
        while self.records:
            self._undo_last()
        self._notify("reset")

    def new_pass(self, x: np.ndarray | None = None, y: Any = None) -> None:
        """Start a fresh pass with the current weights, optionally on a new input/label."""
        if x is not None or y is not None:
            new_x = self.x if x is None else x
            new_y = self.y if y is None else y
            self._set_input(new_x, new_y)
        self.records = []
        self._undo_update = None
        self._start = None
        self._notify("new_pass")

    # -- executing ----------------------------------------------------------------------

    def _execute_next(self) -> StepRecord | None:
        """Run the step under the cursor and append its record."""
        name = self.next_step_name
        if name is None:
            return None
        if self.cursor == 0:
            self._start = {"buffers": self.net.buffers(), "rng": self.net.rng.bit_generator.state}
            self._start["buffers"] = {k: v.copy() for k, v in self._start["buffers"].items()}
        if name == "L":
            record = self._loss()
        elif name == "U":
            record = self._update()
        elif name[0] == "F":
            record = run_forward(self, name)
        else:
            record = run_backward(self, name)
        self.records.append(record)
        return record

    def _undo_last(self) -> None:
        """Drop the last record; forward steps put back running statistics and the mask
        generator, the update step the weights and the optimizer."""
        record = self.records.pop()
        if record.kind == "forward":
            undo_forward(self.net, record)
        if record.kind == "update" and self._undo_update is not None:
            self._restore_update()

    def _restore_update(self) -> None:
        """Put back the weights and optimizer state from before the update step."""
        params = self.net.params()
        for key, before in self._undo_update["params"].items():
            np.copyto(params[key], before)
        self.optimizer.load_state_dict(copy.deepcopy(self._undo_update["optimizer"]))
        self._undo_update = None

    def _loss(self) -> StepRecord:
        """The loss and its gradient w.r.t. the logits, via `net.compute_loss`."""
        logits = self.record(f"F{len(self.net.layers) - 1}").values["output"]
        loss, grad = self.net.compute_loss(logits, self.y)
        values = {
            "loss": np.asarray(loss, dtype=np.float64),
            "grad_logits": np.array(grad, copy=True),
            "logits": logits.copy(),
        }
        if self.net.spec.loss == "cross_entropy":
            values["probabilities"] = np.asarray(softmax(logits)).copy()
        return StepRecord("L", None, "loss", self.net.spec.loss, values)

    def _update(self) -> StepRecord:
        """The optimizer step on the gradients of this pass (as `train_step` does)."""
        params = self.net.params()
        grads = self._pass_grads()
        before = {key: value.copy() for key, value in params.items()}
        self._undo_update = {
            "params": before,
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
        }
        try:
            self.optimizer.step(params, grads)
        except BaseException:
            self._restore_update()
            raise
        values: dict[str, np.ndarray] = {}
        for key, value in params.items():
            values[f"{key}_before"] = before[key]
            values[f"{key}_after"] = value.copy()
            values[f"{key}_grad"] = grads[key].copy()
        name = getattr(self.optimizer, "name", type(self.optimizer).__name__)
        meta = {"optimizer": self.optimizer.state_dict()}  # what explain("U") shows, frozen
        return StepRecord("U", None, "update", str(name), values, meta)

    def _pass_grads(self) -> dict[str, np.ndarray]:
        """This pass's parameter gradients from the B records, keyed like `net.params()`."""
        grads = {}
        for key in self.net.params():
            step, pname = param_step(key)
            grads[key] = self.record(step).values[f"grad_{pname}"]
        return grads

    def pass_params(self) -> dict[str, np.ndarray]:
        """The parameters this pass ran with (the weights before U once U has run)."""
        if self.record("U") is not None and self._undo_update is not None:
            return self._undo_update["params"]
        return self.net.params()

    def pass_state_dict(self) -> dict[str, np.ndarray]:
        """Parameters and buffers as this pass started (copies): what a session saves."""
        buffers = self.net.buffers()
        if self.cursor > 0 and self._start is not None:
            buffers = self._start["buffers"]
        arrays = {**self.pass_params(), **buffers}
        return {key: np.array(value) for key, value in arrays.items()}

    def pass_rng_state(self) -> dict:
        """The dropout masks' generator state as this pass started."""
        if self.cursor > 0 and self._start is not None:
            return copy.deepcopy(self._start["rng"])
        return self.net.rng.bit_generator.state

    def pass_optimizer_state(self) -> dict:
        """The optimizer's state_dict at the start of this pass (before U, if U ran)."""
        if self.record("U") is not None and self._undo_update is not None:
            return copy.deepcopy(self._undo_update["optimizer"])
        return self.optimizer.state_dict()

    # -- explanations and receptive fields ----------------------------------------------

    def explain(self, step_name: str, unit: Any) -> Explanation:
        """The formula of one unit of an executed step with its numbers; ValueError if the
        step has not run."""
        rec = self.record(step_name)
        if rec is None:
            raise ValueError(
                f"step {step_name} has not been executed yet (cursor is at {self.cursor}, "
                f"next step {self.next_step_name}); step to it first"
            )
        return explain_step(self, rec, unit)

    def receptive_field(self, layer: int, unit: tuple, inner: str | None = None) -> dict:
        """The region of the input and of every earlier map that influences `unit` (of an
        inner layer of block `layer` with `inner`)."""
        return receptive_field(self.net, layer, unit, inner)
