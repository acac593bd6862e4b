"""The controller's stepper: made over the current input, watched, and driven by the keys.

`StepDriver` is a collaborator of `AppController`, which keeps the public commands
(``ctrl.step()``, ``ctrl.back()`` …) as one-line calls into it. Every command runs the
stepper with its listener muted, turns a ``ValueError`` into ``error_raised`` and emits
``stepper_changed`` once; while training runs, stepping is refused with a status line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnviz.engine.records import StepRecord
from cnnviz.engine.stepper import Stepper


class StepDriver:
    """Makes the controller's steppers and runs the step commands on the current one."""

    def __init__(self, ctrl: Any) -> None:
        """`ctrl` is the AppController that owns this driver (its state and signals)."""
        self.ctrl = ctrl

    # ----- the stepper ---------------------------------------------------------------------
    def make_stepper(self) -> Stepper:
        """A fresh, watched Stepper over the current network, input and optimizer."""
        ctrl = self.ctrl
        if ctrl.batch is not None:
            stepper = Stepper(ctrl.network, ctrl.batch[0], ctrl.batch[1], ctrl.optimizer)
        else:
            stepper = Stepper(ctrl.network, ctrl.input_image, ctrl.target_label(),
                              ctrl.optimizer)
        return self.watch(stepper)

    def watch(self, stepper: Stepper) -> Stepper:
        """Re-emit the changes others make to `stepper` (sessions, tests) as stepper_changed."""
        stepper.add_listener(self._on_stepper_event)
        return stepper

    def _on_stepper_event(self, event: str) -> None:
        """A stepper change made outside a controller command: tell the panels."""
        if not self.ctrl.mute:
            self.ctrl.stepper_changed.emit()

    def drive(self, action: Callable[..., StepRecord | None],
              *args: Any) -> StepRecord | None:
        """Run a stepper action with listener signals muted, then emit stepper_changed once."""
        ctrl = self.ctrl
        if ctrl.busy:
            ctrl.status_changed.emit("Training is running: stepping is disabled until it stops.")
            return None
        with ctrl.mute:
            try:
                result = action(*args)
            except ValueError as error:
                ctrl.error_raised.emit("Stepper", str(error))
                result = None
        ctrl.stepper_changed.emit()  # the status bar's step label follows this signal
        return result

    def _new_pass_if_finished(self) -> Stepper:
        """At the end of a pass (and not training), start a new one; the current stepper."""
        stepper = self.ctrl.stepper
        if stepper.finished and not self.ctrl.busy:
            stepper.new_pass()
        return stepper

    # ----- the commands --------------------------------------------------------------------
    def step(self) -> StepRecord | None:
        """Execute the next step (F10); at the end of a pass, start a new pass first."""
        return self.drive(self._new_pass_if_finished().step)

    def back(self) -> StepRecord | None:
        """Undo the last step exactly (Shift+F10), weights included."""
        return self.drive(self.ctrl.stepper.back)

    def run_to_breakpoint(self) -> StepRecord | None:
        """Run to the next breakpoint or the end of the pass (F5)."""
        return self.drive(self._new_pass_if_finished().resume)

    def run_pass(self) -> StepRecord | None:
        """Run to the end of the pass, ignoring breakpoints (Ctrl+F5)."""
        return self.drive(self._new_pass_if_finished().run_all)

    def run_to(self, name: str) -> StepRecord | None:
        """Run until the named step has executed (or a breakpoint stops it)."""
        return self.drive(self.ctrl.stepper.run_to, name)

    def reset(self) -> StepRecord | None:
        """Back to the start of this pass, everything undone (Ctrl+R)."""
        return self.drive(self.ctrl.stepper.reset)

    def new_pass(self) -> StepRecord | None:
        """A fresh pass on the current weights and input."""
        return self.drive(self.ctrl.stepper.new_pass)

    def toggle_breakpoint(self, step_name: str) -> None:
        """Add or remove a breakpoint on a step name such as "B3"."""
        ctrl = self.ctrl
        if step_name not in ctrl.stepper.steps:
            ctrl.error_raised.emit("Breakpoint", f"there is no step named {step_name!r}")
            return
        points = ctrl.stepper.breakpoints
        points.symmetric_difference_update({step_name})
        state = "set" if step_name in points else "cleared"
        ctrl.stepper_changed.emit()
        ctrl.status_changed.emit(f"Breakpoint {state} on {step_name}")
