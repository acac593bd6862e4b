"""The controller's longer duties, kept apart so that ``controller.py`` stays a short list of
commands: what the prediction panel shows, sessions, and training hand-over.

Mixed into ``AppController``; every method uses only the controller's own attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnviz.app.controller import app_state
from cnnviz.core.optim import SGD


class PredictionMixin:
    """Class probabilities for the shown example, from the core."""

    def probabilities(self) -> np.ndarray:
        """Class probabilities of the shown example: after U with the updated weights, else
        from this pass's loss record, else from a forward pass (softmax for cross-entropy;
        the raw outputs for an MSE network)."""
        st = getattr(self, "stepper", None)
        n = self.selection.example if st is not None else 0
        if st is not None and st.record("U") is not None:
            return self._updated_outputs(st)[n]
        record = st.record("L") if st is not None else None
        if record is not None:
            key = "probabilities" if "probabilities" in record.values else "logits"
            return np.asarray(record.values[key][n], dtype=np.float64)
        x = self.input_image[np.newaxis] if st is None else st.x[n : n + 1]
        return self._outputs(self.network.forward(x))[0]

    def prediction_stage(self) -> str:
        """Which weights the prediction panel's numbers come from, in words."""
        st = self.stepper
        if st.record("U") is not None:
            return "after the update U (new weights)"
        return "this pass (step L)" if st.record("L") is not None else "forward pass"

    def _outputs(self, logits: np.ndarray) -> np.ndarray:
        """Softmax of the logits for cross-entropy, the logits themselves for MSE."""
        from cnnviz.core.losses import softmax

        z = softmax(logits) if self.spec.loss == "cross_entropy" else logits
        return np.asarray(z, dtype=np.float64)

    def _updated_outputs(self, st: Any) -> np.ndarray:
        """The core's forward pass of this batch with the weights U wrote (cached per U)."""
        record = st.record("U")
        if self._after_update is None or self._after_update[0] is not record:
            self._after_update = (record, self._outputs(self.network.forward(st.x)))
        return self._after_update[1]



class SessionTrainingMixin:
    """Open/save sessions; begin and end a training run in the worker thread."""

    # ----- sessions ------------------------------------------------------------------------
    def save_session(self, path: str, extra: dict | None = None) -> bool:
        """Write everything (spec, weights, optimizer, input, cursor, selection) to a file."""
        return app_state.save_session(self, path, extra)

    def open_session(self, path: str) -> dict | None:
        """Load a session file (returns its extra dict); on a problem keep the current one."""
        restored = app_state.load_session(self, path)
        if restored is None:
            return None
        self._adopt(restored)
        self.status_changed.emit(f"Session opened from {path}")
        return restored.extra

    def _adopt(self, restored: Any) -> None:
        """Take over the objects a session restored, then tell every panel."""
        self.network, self.spec = restored.net, restored.net.spec
        self.preset_name = restored.extra.get("preset")
        self.history, self._trained, self.weight_focus = restored.history, True, None
        if restored.stepper is not None:
            self.stepper, self.optimizer = restored.stepper, restored.stepper.optimizer
            self.input_image = np.array(self.stepper.x[0], dtype=np.float32)
            self.input_label = int(self.stepper.y[0])
            many = len(self.stepper.x) > 1
            self.batch = (self.stepper.x.copy(), self.stepper.y.copy()) if many else None
            self.stepper.add_listener(self._on_stepper_event)
        else:
            self.optimizer = restored.optimizer or SGD(lr=0.01)
            self.input_image, self.input_label = app_state.default_input(self.spec)
            self.batch = None
            self.stepper = self._make_stepper()
        self.selection = restored.selection or self._make_selection()
        if restored.selection is not None:
            self.selection.add_listener(self._on_selection_event)
        self._emit(self.spec_changed, self.weights_changed, self.input_changed,
                   self.stepper_changed, self.selection_changed)

    # ----- training ------------------------------------------------------------------------
    def begin_training(self) -> None:
        """Training starts in a worker thread: stepping and editing are disabled."""
        self.busy = True
        self.busy_changed.emit(True)
        self.status_changed.emit("Training…")

    def end_training(self) -> None:
        """Training stopped: the weights changed, so start a new pass on them."""
        self.busy = False
        self._trained = True
        self.optimizer = app_state.fresh_optimizer(self.optimizer)
        self.stepper = self._make_stepper()
        self.busy_changed.emit(False)
        self._emit(self.weights_changed, self.stepper_changed)
        self.status_changed.emit("Training stopped: new pass on the trained weights")
