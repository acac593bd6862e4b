"""The GUI's single source of truth: network, input, stepper and selection, with Qt signals.

Widgets never change engine objects directly: they call the methods here, which do the
work through the core/engine and emit one signal per change (``<noun>_changed``).
Conventions used by every panel:

- ``selection`` is the engine's ``Selection``: ``layer`` is a layer index or ``None``;
  ``selection.inner`` ("body.0", "shortcut.1") an inner layer of block ``layer``, or None.
- ``selection.unit`` is a unit of that layer's OUTPUT *per example*: ``(c, i, j)`` for maps,
  ``(k,)`` for vectors; the example of the batch is ``selection.example``.
- ``weight_focus`` ``(layer, index)`` is a weight of the selected (inner) layer, or None.
- while ``busy`` (training runs in a worker thread) stepping and editing are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, SignalInstance

from cnnviz.app.controller import app_state, modes
from cnnviz.app.controller.predictions import Predictions
from cnnviz.app.controller.sessions import SessionFileError, read_session, write_session
from cnnviz.app.controller.weights import WeightBook
from cnnviz.core.network import Network
from cnnviz.core.optim import SGD
from cnnviz.core.optim_base import Optimizer
from cnnviz.core.presets import get_preset
from cnnviz.core.spec import NetworkSpec, SpecError, parse_spec
from cnnviz.data.dataset import Dataset
from cnnviz.engine.explain_terms import idx
from cnnviz.engine.metrics import History
from cnnviz.engine.records import StepRecord
from cnnviz.engine.selection import Selection
from cnnviz.engine.session import Restored
from cnnviz.engine.stepper import Stepper
from cnnviz.engine.steps import layer_spec_of

DEFAULT_PRESET = "lenet5"


class AppController(QObject):
    """Holds the network, input, optimizer, stepper and selection; emits a signal per change.

    Predictions (the prediction panel's numbers) and session files are collaborators of
    their own; training runs in the training dock's worker and hands over through
    `begin_training` / `end_training`.
    """

    spec_changed = Signal()
    weights_changed = Signal()
    input_changed = Signal()
    stepper_changed = Signal()
    selection_changed = Signal()
    dataset_changed = Signal()
    status_changed = Signal(str)
    error_raised = Signal(str, str)
    busy_changed = Signal(bool)

    def __init__(self, preset: str | None = DEFAULT_PRESET, *,
                 spec: dict | NetworkSpec | None = None, seed: int = 0,
                 dtype: str = "float32", user_weights: bool = True,
                 weights: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.seed, self.dtype = seed, dtype
        self.preset_name: str | None = preset if spec is None else None
        self.spec: NetworkSpec = parse_spec(spec if spec is not None else get_preset(preset))
        self.network: Network = Network.from_spec(self.spec, seed=seed, dtype=dtype)
        self.weight_book = WeightBook(self)  # weights: auto (user, bundled, fresh) or one
        self._trained = self.weight_book.open_initial(weights or (
            "auto" if user_weights else "fresh"))
        self.optimizer: Optimizer = SGD(lr=0.01)  # the seeds' update rule, the easiest to read
        self.input_image, self.input_label = app_state.default_input(self.spec)
        self.dataset: Dataset | None = None
        self.batch: tuple[np.ndarray, np.ndarray] | None = None  # (N,C,H,W), (N,): N > 1
        self.predictions = Predictions()
        self.history: History | None = None
        self.busy = False
        self.weight_focus: tuple[int, tuple[int, ...]] | None = None
        self._quiet = 0  # > 0 while a controller method drives the stepper itself
        self.selection = self._make_selection()
        self.stepper = self._make_stepper()

    # ----- construction helpers -------------------------------------------------------
    def _make_selection(self) -> Selection:
        """The engine's observable selection, bounds-checked against this network's shapes."""
        batch = 1 if self.batch is None else len(self.batch[0])
        selection = Selection.for_spec(self.spec, batch_size=batch)
        selection.add_listener(self._on_selection_event)
        return selection

    def _make_stepper(self) -> Stepper:
        """A fresh Stepper over the current network, input and optimizer."""
        if self.batch is not None:
            stepper = Stepper(self.network, self.batch[0], self.batch[1], self.optimizer)
        else:
            stepper = Stepper(self.network, self.input_image, self.target_label(), self.optimizer)
        stepper.add_listener(self._on_stepper_event)
        return stepper

    def target_label(self) -> int:
        """The label the loss uses: the given one, else the network's own prediction."""
        if self.input_label is not None:
            return int(self.input_label)
        return int(np.argmax(self.probabilities()))

    # ----- listeners ---------------------------------------------------------------------
    def _on_stepper_event(self, event: str) -> None:
        """Turn stepper changes made by others (sessions, tests) into stepper_changed."""
        if not self._quiet:
            self.stepper_changed.emit()

    def _on_selection_event(self, *args: Any) -> None:
        """Selection object changed: tell the panels."""
        if not self._quiet:
            self.selection_changed.emit()

    @staticmethod
    def _emit(*signals: SignalInstance) -> None:
        """Emit several payload-free signals in order."""
        for signal in signals:
            signal.emit()

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

    # ----- queries -------------------------------------------------------------------------
    def has_trained_weights(self) -> bool:
        """True if the weights came from training (user weights, a session, a training run)."""
        return self._trained

    # ----- changes -----------------------------------------------------------------------
    def set_spec(self, spec: dict | NetworkSpec, *, keep_weights: bool = True,
                 preset_name: str | None = None) -> bool:
        """Rebuild the network for a new spec; weights of unchanged-shape layers are kept."""
        if self.busy:
            self.status_changed.emit("Training is running: the network cannot change now.")
            return False
        try:
            new_spec = spec if isinstance(spec, NetworkSpec) else parse_spec(spec)
            network = Network.from_spec(new_spec, seed=self.seed, dtype=self.dtype)
        except SpecError as error:
            self.error_raised.emit("Invalid network", str(error))
            return False
        kept = app_state.transfer_matching(self.network, network) if keep_weights else 0
        if self.batch is not None and app_state.batch_problem(new_spec, *self.batch):
            self.batch = None
        self.spec, self.network, self.preset_name = new_spec, network, preset_name
        self._trained = self._trained and kept > 0
        self.weight_book.forget(f"fresh weights, {kept} layers kept" if kept else "")
        self.optimizer = app_state.fresh_optimizer(self.optimizer)
        if self.input_image.shape != new_spec.input_shape:
            self.input_image, self.input_label = app_state.default_input(new_spec)
        if self.input_label is not None and self.input_label >= new_spec.num_classes:
            self.input_label = None
        self.selection, self.weight_focus = self._make_selection(), None
        self.stepper = self._make_stepper()
        self._emit(self.spec_changed, self.input_changed, self.stepper_changed,
                   self.selection_changed)
        self.status_changed.emit(f"New network: {len(new_spec.layers)} layers, "
                                 f"weights kept for {kept} layers")
        return True

    def load_preset(self, name: str) -> bool:
        """Switch to a named preset: the user's kept weights, else bundled, else fresh."""
        try:
            spec = get_preset(name)
        except SpecError as error:
            self.error_raised.emit("Unknown preset", str(error))
            return False
        if not self.set_spec(spec, keep_weights=False, preset_name=name):
            return False
        if self.weight_book.open_initial():
            self._trained = True
            self.new_pass()
            self.weights_changed.emit()
        self.status_changed.emit(f"{name}: {self.weight_book.source}")
        return True

    def set_weights(self, state_dict: dict[str, np.ndarray], trained: bool = True) -> bool:
        """Load weights from outside the stepper (a file); starts a new pass."""
        try:
            self.network.load_state_dict(state_dict)
        except (ValueError, KeyError) as error:
            self.error_raised.emit("Weights do not fit", str(error))
            return False
        self._trained = trained
        self.optimizer = app_state.fresh_optimizer(self.optimizer)
        self.stepper = self._make_stepper()
        self._emit(self.weights_changed, self.stepper_changed)
        return True

    def set_input(self, image: np.ndarray, label: int | None = None) -> bool:
        """Use a new input (H, W) or (C, H, W) of exactly the spec's input shape; new pass."""
        array = np.asarray(image, dtype=np.float32)
        if array.ndim == 2:
            array = array[np.newaxis]
        if array.shape != tuple(self.spec.input_shape):
            self.error_raised.emit("Input does not fit", f"the image has shape {array.shape}, "
                                   f"the network expects {tuple(self.spec.input_shape)} (C, H, W)")
            return False
        if label is not None and not 0 <= int(label) < self.spec.num_classes:
            self.error_raised.emit("Bad label", f"label {label} is not a class of this network "
                                                f"(0 to {self.spec.num_classes - 1})")
            return False
        self.input_image = np.ascontiguousarray(array)
        self.input_label = None if label is None else int(label)
        self.batch = None
        self.selection.batch_size, self.selection.example = 1, 0
        if not self.busy:
            self.stepper = self._make_stepper()
        self._emit(self.input_changed, self.stepper_changed)
        return True

    def set_batch(self, images: np.ndarray, labels: np.ndarray) -> bool:
        """Step a mini-batch (N, C, H, W) with labels (N,); the panels show one example."""
        if self.busy:
            self.status_changed.emit("Training is running: the input cannot change now.")
            return False
        problem = app_state.batch_problem(self.spec, images, labels)
        if problem:
            self.error_raised.emit("Mini-batch does not fit", problem)
            return False
        x = np.ascontiguousarray(images, dtype=np.float32)
        y = np.asarray(labels, dtype=np.int64)
        self.batch = (x, y) if len(x) > 1 else None
        self.input_image, self.input_label = x[0], int(y[0])
        self.selection.batch_size, self.selection.example = len(x), 0
        self.stepper = self._make_stepper()
        self._emit(self.input_changed, self.stepper_changed, self.selection_changed)
        self.status_changed.emit(f"Stepping a mini-batch of {len(x)} examples")
        return True

    def use_test_batch(self, size: int) -> bool:
        """Step the first `size` test examples of the dataset (MNIST if none is open)."""
        try:
            images, labels = app_state.dataset_test_batch(self.dataset, self.spec, size)
        except ValueError as error:
            self.error_raised.emit("No mini-batch", str(error))
            return False
        return self.set_batch(images, labels)

    def set_dataset(self, dataset: Dataset | None) -> None:
        """The dataset browsed and trained on."""
        self.dataset = dataset
        self.dataset_changed.emit()

    def set_optimizer(self, optimizer: Optimizer) -> None:
        """The optimizer used by the stepper's U step (and training); starts a new pass."""
        self.optimizer = optimizer
        if not self.busy:
            self.stepper = self._make_stepper()
            self.stepper_changed.emit()

    def set_training_mode(self, training: bool) -> bool:
        """Train or eval mode (batch norm's statistics, dropout on/off); starts a new pass."""
        if self.busy:
            self.status_changed.emit("Training is running: the mode cannot change now.")
            return False
        self.network.train(bool(training))
        self.stepper = self._make_stepper()
        self.stepper_changed.emit()
        self.status_changed.emit(f"New pass in {modes.mode_effects(self.network)}")
        return True

    def set_history(self, history: History | None) -> None:
        """The latest training history (for sessions)."""
        self.history = history

    # ----- stepping ------------------------------------------------------------------------
    def step(self) -> StepRecord | None:
        """Execute the next step (F10); at the end of a pass, start a new pass first."""
        if self.stepper.finished and not self.busy:
            self.stepper.new_pass()
        return self._drive(self.stepper.step)

    def back(self) -> StepRecord | None:
        """Undo the last step exactly (Shift+F10), weights included."""
        return self._drive(self.stepper.back)

    def run_to_breakpoint(self) -> StepRecord | None:
        """Run to the next breakpoint or the end of the pass (F5)."""
        if self.stepper.finished and not self.busy:
            self.stepper.new_pass()
        return self._drive(self.stepper.resume)

    def run_pass(self) -> StepRecord | None:
        """Run to the end of the pass, ignoring breakpoints (Ctrl+F5)."""
        if self.stepper.finished and not self.busy:
            self.stepper.new_pass()
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

    # ----- selection -----------------------------------------------------------------------
    def select_layer(self, index: int | None, inner: str | None = None) -> None:
        """Select a layer (None = nothing), or an inner layer of block `index`; the unit is
        kept only if it still fits, a focused weight only on the same layer."""
        if (index, inner) != (self.selection.layer, self.selection.inner):
            self.weight_focus = None
        self._set_selection(lambda: self.selection.select_layer(index, inner))

    def select_unit(self, layer: int, unit: tuple[int, ...] | None,
                    inner: str | None = None) -> None:
        """Select one unit of a layer's output, per example: (c, i, j) or (k,); with
        `inner`, a unit of that inner layer of block `layer`."""
        self.weight_focus = None
        self._set_selection(lambda: self.selection.select(layer, unit, inner))

    def select_weight(self, layer: int, index: tuple[int, ...] | None,
                      inner: str | None = None) -> None:
        """Focus one weight of a layer (or of inner layer `inner` of block `layer`),
        (o, c, m, n) or (o, k): the explain panel shows its gradient on B steps and its
        update on U."""
        try:
            shape = layer_spec_of(self.spec, layer, inner).param_shapes.get("weight")
        except (IndexError, ValueError):
            shape = None
        if index is not None and (shape is None or len(index) != len(shape)):
            name = layer if inner is None else f"{layer}.{inner}"
            self.error_raised.emit("Selection", f"layer {name} has no weight w{idx(*index)}")
            return
        self.weight_focus = None if index is None else (layer, tuple(int(i) for i in index))
        self._set_selection(lambda: self.selection.select_layer(layer, inner))

    def select_example(self, n: int) -> None:
        """Which example of the mini-batch the panels show."""
        self._set_selection(lambda: setattr(self.selection, "example", int(n)))
        st = self.stepper
        if len(st.x) > 1 and 0 <= n < len(st.x):  # the input panel shows that example
            self.input_image, self.input_label = st.x[n].copy(), int(st.y[n])
            self.input_changed.emit()

    def _set_selection(self, change: Callable[[], None]) -> None:
        """Apply a selection change; one selection_changed, or error_raised if it is invalid."""
        self._quiet += 1
        try:
            change()
        except ValueError as error:
            self.error_raised.emit("Selection", str(error))
            return
        finally:
            self._quiet -= 1
        self.selection_changed.emit()

    # ----- predictions -----------------------------------------------------------------
    def probabilities(self) -> np.ndarray:
        """Class probabilities of the shown example (see `Predictions.probabilities`)."""
        return self.predictions.probabilities(self.network, self.stepper, self.selection.example)

    def prediction_stage(self) -> str:
        """Which weights the prediction panel's numbers come from, in words."""
        return Predictions.stage(self.stepper)

    # ----- sessions ------------------------------------------------------------------------
    def save_session(self, path: str, extra: dict | None = None) -> bool:
        """Write everything (spec, weights, optimizer, input, cursor, selection) to a file."""
        try:
            write_session(path, self.network, self.optimizer, self.stepper, self.selection,
                          self.history, {"preset": self.preset_name, **(extra or {})})
        except SessionFileError as error:
            self.error_raised.emit("Could not save the session", str(error))
            return False
        self.status_changed.emit(f"Session saved to {path}")
        return True

    def open_session(self, path: str) -> dict | None:
        """Load a session file (returns its extra dict); on a problem keep the current one."""
        try:
            restored = read_session(path)
        except SessionFileError as error:
            self.error_raised.emit("Could not open the session", str(error))
            return None
        self._adopt(restored)
        self.status_changed.emit(f"Session opened from {path}")
        return restored.extra

    def _adopt(self, restored: Restored) -> None:
        """Take over the objects a session restored, then tell every panel."""
        self.network, self.spec = restored.net, restored.net.spec
        self.preset_name = restored.extra.get("preset")
        self.history, self._trained, self.weight_focus = restored.history, True, None
        self.weight_book.forget("weights from the session")
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

    # ----- training hand-over --------------------------------------------------------------
    def begin_training(self) -> None:
        """Training starts in a worker thread: stepping and editing are disabled."""
        self.weight_book.push("Training run")
        self.busy = True
        self.busy_changed.emit(True)
        self.status_changed.emit("Training…")

    def end_training(self, outcome: str = "stopped") -> None:
        """Training ended (`outcome`: finished, stopped, diverged, failed): the weights
        changed, so start a new pass on them."""
        self.busy = False
        self._trained = True
        self.weight_book.source = "trained in this window (not kept)"
        self.optimizer = app_state.fresh_optimizer(self.optimizer)
        self.stepper = self._make_stepper()
        self.busy_changed.emit(False)
        self._emit(self.weights_changed, self.stepper_changed)
        self.status_changed.emit(f"Training {outcome}: new pass on the trained weights")
