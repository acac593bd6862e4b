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

The controller keeps the state and the changes of network, weights and optimizer; it
composes collaborators for the rest, each with one job, and keeps their public commands
as one-line calls: `StepDriver` (stepping.py: the stepper and the step keys), `Selector`
(selecting.py: layer, unit, weight, example), `Inputs` (inputs.py: one example or a
mini-batch), `SessionFiles` (sessions.py), `Predictions` (predictions.py) and `WeightBook`
(weights.py: where the weights come from, their undo stack).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from cnnviz.app.controller import app_state, modes
from cnnviz.app.controller.inputs import Inputs
from cnnviz.app.controller.muting import Mute, emit_all
from cnnviz.app.controller.predictions import Predictions
from cnnviz.app.controller.selecting import Selector
from cnnviz.app.controller.sessions import SessionFiles
from cnnviz.app.controller.stepping import StepDriver
from cnnviz.app.controller.weights import WeightBook
from cnnviz.core.network import Network
from cnnviz.core.optim import SGD
from cnnviz.core.optim_base import Optimizer
from cnnviz.core.presets import get_preset
from cnnviz.core.spec import NetworkSpec, SpecError, parse_spec
from cnnviz.data.dataset import Dataset
from cnnviz.engine.metrics import History
from cnnviz.engine.records import StepRecord
from cnnviz.engine.selection import Selection
from cnnviz.engine.stepper import Stepper

DEFAULT_PRESET = "lenet5"


class AppController(QObject):
    """Holds the network, input, optimizer, stepper and selection; emits a signal per change.

    Stepping, selecting, inputs, sessions, predictions and weight sources are collaborators
    of their own (see the module docstring); training runs in the training dock's worker and
    hands over through `begin_training` / `end_training`.
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
        self.weights_trained = self.weight_book.open_initial(weights or (
            "auto" if user_weights else "fresh"))  # see has_trained_weights
        self.optimizer: Optimizer = SGD(lr=0.01)  # the seeds' update rule, the easiest to read
        self.input_image, self.input_label = app_state.default_input(self.spec)
        self.dataset: Dataset | None = None
        self.batch: tuple[np.ndarray, np.ndarray] | None = None  # (N,C,H,W), (N,): N > 1
        self.predictions = Predictions()
        self.history: History | None = None
        self.busy = False
        self.weight_focus: tuple[int, tuple[int, ...]] | None = None
        self.mute = Mute()  # on while a command drives the stepper or selection itself
        self.driver, self.selector = StepDriver(self), Selector(self)
        self.inputs, self.session_files = Inputs(self), SessionFiles(self)
        self.selection: Selection = self.selector.make_selection()
        self.stepper: Stepper = self.driver.make_stepper()

    # ----- queries -------------------------------------------------------------------------
    def target_label(self) -> int:
        """The label the loss uses: the given one, else the network's own prediction."""
        if self.input_label is not None:
            return int(self.input_label)
        return int(np.argmax(self.probabilities()))

    def has_trained_weights(self) -> bool:
        """True if the weights came from training (user weights, a session, a training run)."""
        return self.weights_trained

    def probabilities(self) -> np.ndarray:
        """Class probabilities of the shown example (see `Predictions.probabilities`)."""
        return self.predictions.probabilities(self.network, self.stepper, self.selection.example)

    def prediction_stage(self) -> str:
        """Which weights the prediction panel's numbers come from, in words."""
        return Predictions.stage(self.stepper)

    # ----- changes of the network, its weights and its optimizer ---------------------------
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
        self.weights_trained = self.weights_trained and kept > 0
        self.weight_book.forget(f"fresh weights, {kept} layers kept" if kept else "")
        self.optimizer = app_state.fresh_optimizer(self.optimizer)
        if self.input_image.shape != new_spec.input_shape:
            self.input_image, self.input_label = app_state.default_input(new_spec)
        if self.input_label is not None and self.input_label >= new_spec.num_classes:
            self.input_label = None
        self.selection, self.weight_focus = self.selector.make_selection(), None
        self.stepper = self.driver.make_stepper()
        emit_all(self.spec_changed, self.input_changed, self.stepper_changed,
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
            self.weights_trained = True
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
        self.weights_trained = trained
        self.optimizer = app_state.fresh_optimizer(self.optimizer)
        self.stepper = self.driver.make_stepper()
        emit_all(self.weights_changed, self.stepper_changed)
        return True

    def set_optimizer(self, optimizer: Optimizer) -> None:
        """The optimizer used by the stepper's U step (and training); starts a new pass."""
        self.optimizer = optimizer
        if not self.busy:
            self.stepper = self.driver.make_stepper()
            self.stepper_changed.emit()

    def set_training_mode(self, training: bool) -> bool:
        """Train or eval mode (batch norm's statistics, dropout on/off); starts a new pass."""
        if self.busy:
            self.status_changed.emit("Training is running: the mode cannot change now.")
            return False
        self.network.train(bool(training))
        self.stepper = self.driver.make_stepper()
        self.stepper_changed.emit()
        self.status_changed.emit(f"New pass in {modes.mode_effects(self.network)}")
        return True

    def set_dataset(self, dataset: Dataset | None) -> None:
        """The dataset browsed and trained on."""
        self.dataset = dataset
        self.dataset_changed.emit()

    def set_history(self, history: History | None) -> None:
        """The latest training history (for sessions)."""
        self.history = history

    # ----- input (inputs.py) ---------------------------------------------------------------
    def set_input(self, image: np.ndarray, label: int | None = None) -> bool:
        """Use a new input (H, W) or (C, H, W) of exactly the spec's input shape; new pass."""
        return self.inputs.set_input(image, label)

    def set_batch(self, images: np.ndarray, labels: np.ndarray) -> bool:
        """Step a mini-batch (N, C, H, W) with labels (N,); the panels show one example."""
        return self.inputs.set_batch(images, labels)

    def use_test_batch(self, size: int) -> bool:
        """Step the first `size` test examples of the dataset (MNIST if none is open)."""
        return self.inputs.use_test_batch(size)

    # ----- stepping (stepping.py) ----------------------------------------------------------
    def step(self) -> StepRecord | None:
        """Execute the next step (F10); at the end of a pass, start a new pass first."""
        return self.driver.step()

    def back(self) -> StepRecord | None:
        """Undo the last step exactly (Shift+F10), weights included."""
        return self.driver.back()

    def run_to_breakpoint(self) -> StepRecord | None:
        """Run to the next breakpoint or the end of the pass (F5)."""
        return self.driver.run_to_breakpoint()

    def run_pass(self) -> StepRecord | None:
        """Run to the end of the pass, ignoring breakpoints (Ctrl+F5)."""
        return self.driver.run_pass()

    def run_to(self, name: str) -> StepRecord | None:
        """Run until the named step has executed (or a breakpoint stops it)."""
        return self.driver.run_to(name)

    def reset(self) -> StepRecord | None:
        """Back to the start of this pass, everything undone (Ctrl+R)."""
        return self.driver.reset()

    def new_pass(self) -> StepRecord | None:
        """A fresh pass on the current weights and input."""
        return self.driver.new_pass()

    def toggle_breakpoint(self, step_name: str) -> None:
        """Add or remove a breakpoint on a step name such as "B3"."""
        self.driver.toggle_breakpoint(step_name)

    # ----- selection (selecting.py) --------------------------------------------------------
    def select_layer(self, index: int | None, inner: str | None = None) -> None:
        """Select a layer (None = nothing), or an inner layer `inner` of block `index`."""
        self.selector.select_layer(index, inner)

    def select_unit(self, layer: int, unit: tuple[int, ...] | None,
                    inner: str | None = None) -> None:
        """Select one unit of a layer's output, per example: (c, i, j) or (k,)."""
        self.selector.select_unit(layer, unit, inner)

    def select_weight(self, layer: int, index: tuple[int, ...] | None,
                      inner: str | None = None) -> None:
        """Focus one weight of a layer, (o, c, m, n) or (o, k), for the explain panel."""
        self.selector.select_weight(layer, index, inner)

    def select_example(self, n: int) -> None:
        """Which example of the mini-batch the panels show."""
        self.selector.select_example(n)

    # ----- sessions (sessions.py) ----------------------------------------------------------
    def save_session(self, path: str, extra: dict | None = None) -> bool:
        """Write everything (spec, weights, optimizer, input, cursor, selection) to a file."""
        return self.session_files.save(path, extra)

    def open_session(self, path: str) -> dict | None:
        """Load a session file (returns its extra dict); on a problem keep the current one."""
        return self.session_files.open(path)

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
        self.weights_trained = True
        self.weight_book.source = "trained in this window (not kept)"
        self.optimizer = app_state.fresh_optimizer(self.optimizer)
        self.stepper = self.driver.make_stepper()
        self.busy_changed.emit(False)
        emit_all(self.weights_changed, self.stepper_changed)
        self.status_changed.emit(f"Training {outcome}: new pass on the trained weights")
