"""The controller's stepping: F10, Shift+F10, F5, Ctrl+F5, run to a step, reset, new pass
and breakpoints, each one call of the engine's `Stepper` with one `stepper_changed`.

A mixin of `AppController` (which holds the stepper and the signals); the panels call
these as `controller.step()` … and never the stepper itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import SignalInstance

from cnnviz.engine.records import StepRecord
from cnnviz.engine.stepper import Stepper


class Stepping:
    """Drive the pass: every change goes through `_drive`, which refuses while training
    runs, turns a stepper's ValueError into `error_raised` and emits `stepper_changed`
    once (the stepper's own listener is muted meanwhile)."""

    stepper: Stepper
    busy: bool
    _quiet: int
    stepper_changed: SignalInstance
    status_changed: SignalInstance
    error_raised: SignalInstance

    def _on_stepper_event(self, event: str) -> None:
        """Turn stepper changes made by others (sessions, tests) into stepper_changed."""
        if not self._quiet:
            self.stepper_changed.emit()

    def _drive(self, action: Callable[..., StepRecord | None],
               *args: Any) -> StepRecord | None:
        """Run a stepper action with listener signals muted, then emit stepper_changed once."""
        if self.busy:
            self.status_changed.emit("Training is running: stepping is disabled until it stops.")
            return None
        self._quiet += 1
        try:
            result = action(*args)
        except ValueError as error:
            self.error_raised.emit("Stepper", str(error))
            result = None
        finally:
            self._quiet -= 1
        self.stepper_changed.emit()  # the status bar's step label follows this signal
        return result

    def _fresh_if_finished(self) -> None:
        """At the end of a pass, start a new pass first (not while training runs)."""
        if self.stepper.finished and not self.busy:
            self.stepper.new_pass()

    def step(self) -> StepRecord | None:
        """Execute the next step (F10); at the end of a pass, start a new pass first."""
        self._fresh_if_finished()
        return self._drive(self.stepper.step)

    def back(self) -> StepRecord | None:
        """Undo the last step exactly (Shift+F10), weights included."""
        return self._drive(self.stepper.back)

    def run_to_breakpoint(self) -> StepRecord | None:
        """Run to the next breakpoint or the end of the pass (F5)."""
        self._fresh_if_finished()
        return self._drive(self.stepper.resume)

    def run_pass(self) -> StepRecord | None:
        """Run to the end of the pass, ignoring breakpoints (Ctrl+F5)."""
        self._fresh_if_finished()
        return self._drive(self.stepper.run_all)

    def run_to(self, name: str) -> StepRecord | None:
        """Run until the named step has executed (or a breakpoint stops it)."""
        return self._drive(self.stepper.run_to, name)

    def reset(self) -> StepRecord | None:
        """Back to the start of this pass, everything undone (Ctrl+R)."""
        return self._drive(self.stepper.reset)

    def new_pass(self) -> StepRecord | None:
        """A fresh pass on the current weights and input."""
        return self._drive(self.stepper.new_pass)

    def toggle_breakpoint(self, step_name: str) -> None:
        """Add or remove a breakpoint on a step name such as "B3"."""
        if step_name not in self.stepper.steps:
            self.error_raised.emit("Breakpoint", f"there is no step named {step_name!r}")
            return
        points = self.stepper.breakpoints
        points.symmetric_difference_update({step_name})
        state = "set" if step_name in points else "cleared"
        self.stepper_changed.emit()
        self.status_changed.emit(f"Breakpoint {state} on {step_name}")
