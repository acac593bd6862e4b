"""Runs a lesson's actions on the AppController, and checks its live numbers.

The same runner drives the window (with a `LessonUi` the shell fills in: inspector tabs,
the Explain dock, the training dock) and `cnnviz lesson NAME --check` (the controller
alone, no widgets). Training runs here synchronously on the engine's Trainer, so the
numbers a lesson quotes are the same in the window and in the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnviz.app.controller import AppController
from cnnviz.app.controller.app_state import default_input
from cnnviz.core.network import Network
from cnnviz.core.optim import make_optimizer
from cnnviz.core.presets import preset_names
from cnnviz.core.spec import SpecError
from cnnviz.data import DataError, load_image, open_dataset
from cnnviz.engine.bundled import describe_bundled
from cnnviz.engine.lesson_values import LessonView, render
from cnnviz.engine.lessons import Lesson, LessonError, action_kind, fill, resource_path
from cnnviz.engine.steps import parse_layer_name
from cnnviz.engine.trainer import TrainConfig, Trainer, TrainResult
from cnnviz.engine.userweights import load_weights_npz


@dataclass
class Run:
    """One finished training run of a lesson, for the training dock's comparison."""

    label: str
    result: TrainResult
    config: TrainConfig
    dataset: str
    batches_per_epoch: int


class LessonUi:
    """What a lesson asks of panels outside the controller; the headless check does nothing."""

    def show_tab(self, key: str) -> None:
        """Show an inspector tab (maps, input, filters, deltas, wgrads, winners)."""

    def show_explain(self, key: str) -> None:
        """Show a tab of the Explain dock (computation, formula, animation)."""

    def animate(self) -> None:
        """Start the Explain dock's animation of the selected unit."""

    def show_runs(self, runs: list[Run]) -> None:
        """Show finished training runs in the training dock."""


class LessonRunner:
    """Applies actions to a controller; keeps the lesson's runs for the live numbers."""

    def __init__(self, ctrl: AppController, ui: LessonUi | None = None) -> None:
        self.ctrl = ctrl
        self.ui = ui or LessonUi()
        self.train: TrainResult | None = None
        self.compare: dict[str, TrainResult] = {}
        self._errors: list[str] = []

    def view(self) -> LessonView:
        """The numbers' source: the controller's stepper and the lesson's runs."""
        return LessonView(self.ctrl.stepper, self.train, self.compare)

    def forget_runs(self) -> None:
        """A new start: no runs yet."""
        self.train, self.compare = None, {}

    # ----- running steps ---------------------------------------------------------------
    def run_step(self, lesson: Lesson, k: int) -> tuple[str, list[str]]:
        """Apply step k's actions; (narration with its numbers, problems) — never raises."""
        step = lesson.steps[k]
        where = f"{lesson.name}: step {k + 1} ({step.title!r})"
        problems = []
        for i, action in enumerate(step.actions):
            try:
                self.apply(action)
            except LessonError as error:
                problems.append(f"{where}: actions[{i}] {action_kind(action)}: {error}")
        shown, wrong = render(step.placeholders, self.view())
        problems += [f"{where}: {problem}" for problem in wrong]
        return fill(step.narration, shown), problems

    def replay(self, lesson: Lesson, k: int) -> tuple[str, list[str]]:
        """Apply steps 0 … k from the start (Previous, resume); step k's narration."""
        self.forget_runs()
        problems: list[str] = []
        text = ""
        for j in range(k + 1):
            text, found = self.run_step(lesson, j)
            problems += found
        return text, problems

    def apply(self, action: dict) -> None:
        """Run one action; LessonError with the controller's message if it failed."""
        kind = action_kind(action)
        self._errors = []
        self.ctrl.error_raised.connect(self._on_error)
        try:
            getattr(self, f"_do_{kind}")(action[kind], action)
        except (SpecError, DataError, ValueError, OSError, KeyError, TypeError) as error:
            raise LessonError(str(error)) from None
        finally:
            self.ctrl.error_raised.disconnect(self._on_error)
        if self._errors:
            raise LessonError("; ".join(self._errors))

    def _on_error(self, title: str, message: str) -> None:
        """The controller refused something: the action failed."""
        self._errors.append(f"{title}: {message}")

    # ----- network, weights, input -------------------------------------------------------
    def _do_preset(self, name: str | list[str], action: dict) -> None:
        """Load a preset (the first that exists, for a list), then its weights (fresh by
        default: lessons are deterministic)."""
        names = [name] if isinstance(name, str) else [n for n in name if n in preset_names()]
        if self.ctrl.load_preset(names[0] if names else str(name)):
            self._do_weights(action.get("weights", "fresh"), action)

    def _do_spec(self, spec: dict, action: dict) -> None:
        """Use a spec written in the lesson."""
        if self.ctrl.set_spec(spec, keep_weights=False):
            self._do_weights(action.get("weights", "fresh"), action)

    def _do_weights(self, weights: str | dict, action: dict) -> None:
        """fresh (seeded init), bundled (resources/weights/<preset>.npz) or literal arrays."""
        if weights == "fresh":
            net = Network.from_spec(self.ctrl.spec, seed=int(action.get("seed", self.ctrl.seed)),
                                    dtype=self.ctrl.dtype)
            state, source = net.state_dict(), f"fresh weights (seed {net.seed}), for the lesson"
        elif weights == "bundled":
            state, source = self._bundled(), describe_bundled(self.ctrl.preset_name)
        else:
            source = "weights written in the lesson"
            state = self.ctrl.network.state_dict()
            for key, values in weights.items():
                if key not in state:
                    raise LessonError(f"the network has no parameter {key!r} "
                                      f"(parameters: {', '.join(state)})")
                state[key] = np.asarray(values, dtype=state[key].dtype).reshape(state[key].shape)
        self.ctrl.weight_book.forget(source)  # before the change: the status field follows it
        if self.ctrl.set_weights(state):
            # the weights field now names them; a transient message from loading the
            # lesson's preset ("lenet5: bundled weights …") would contradict it
            self.ctrl.status_changed.emit("")

    def _bundled(self) -> dict[str, np.ndarray]:
        """The bundled trained weights of the current preset, or a clear error."""
        preset = self.ctrl.preset_name
        path = resource_path("weights", f"{preset}.npz") if preset else None
        if path is None or not path.is_file():
            raise LessonError(f"no bundled weights for preset {preset!r} "
                              f"(resources/weights/{preset}.npz does not exist)")
        return load_weights_npz(str(path))

    def _do_input(self, spec: dict | str, _action: dict) -> None:
        """default, {"dataset", "index"}, {"sample": "digit_7"} or {"array", "label"}."""
        if spec == "default":
            self.ctrl.set_input(*default_input(self.ctrl.spec))
        elif isinstance(spec, dict) and "dataset" in spec:
            data = open_dataset(spec["dataset"], **spec.get("options", {}))
            index = int(spec.get("index", 0))
            if not 0 <= index < len(data.images):
                raise LessonError(f"index {index} is not in 0 … {len(data.images) - 1}")
            self.ctrl.set_input(data.images[index], int(data.labels[index]))
        elif isinstance(spec, dict) and "sample" in spec:
            _c, h, w = self.ctrl.spec.input_shape
            image = load_image(resource_path("samples", f"{spec['sample']}.png"), size=(h, w))
            self.ctrl.set_input(image, spec.get("label"))
        elif isinstance(spec, dict) and "array" in spec:
            self.ctrl.set_input(np.asarray(spec["array"], dtype=np.float32), spec.get("label"))
        else:
            raise LessonError(f"write default, dataset/index, sample or array, got {spec!r}")

    def _do_batch(self, size: int, action: dict) -> None:
        """Step the first `size` test examples (of `dataset`, else the open one) together."""
        if "dataset" in action:
            self.ctrl.set_dataset(open_dataset(action["dataset"], **action.get("options", {})))
        self.ctrl.use_test_batch(int(size))

    def _do_optimizer(self, name: str, action: dict) -> None:
        """The optimizer of the U step."""
        options = {key: action[key] for key in ("lr", "momentum") if key in action}
        self.ctrl.set_optimizer(make_optimizer(name, **options))

    # ----- stepping and looking ------------------------------------------------------------
    def _do_run_to(self, name: str, _action: dict) -> None:
        """Run the pass to a step (from its start if the step already ran)."""
        st = self.ctrl.stepper
        if name not in st.steps:
            raise LessonError(f"no step {name!r}; steps: {' '.join(st.steps)}")
        if st.record(name) is not None or st.finished:
            self.ctrl.reset()
        self.ctrl.run_to(name)

    def _do_select(self, spec: dict, _action: dict) -> None:
        """{"layer", "unit"} a unit, {"layer", "weight"} a weight, {"layer"} a layer; the
        layer an index or an inner layer of a block as the app names it, "4.body.1"."""
        try:
            layer, inner = parse_layer_name(self.ctrl.spec, spec["layer"])
        except ValueError as error:
            raise LessonError(f"layer {spec['layer']!r}: {error}") from None
        if "unit" in spec:
            self.ctrl.select_unit(layer, tuple(int(v) for v in spec["unit"]), inner)
        elif "weight" in spec:
            self.ctrl.select_unit(layer, None, inner)
            self.ctrl.select_weight(layer, tuple(int(v) for v in spec["weight"]), inner)
        else:
            self.ctrl.select_layer(layer, inner)

    def _do_tab(self, key: str, _action: dict) -> None:
        """An inspector tab."""
        self.ui.show_tab(key)

    def _do_explain(self, key: str, _action: dict) -> None:
        """A tab of the Explain dock."""
        self.ui.show_explain(key)

    def _do_animate(self, _value: Any, _action: dict) -> None:
        """The animation of the selected unit."""
        self.ui.animate()

    # ----- training ------------------------------------------------------------------------
    def _do_train(self, spec: dict, _action: dict) -> None:
        """Train the network for some epochs (synchronously: the numbers are reproducible)."""
        run = self._train_run(spec, "run")
        self.train = run.result
        self.ui.show_runs([run])

    def _do_compare(self, spec: dict, _action: dict) -> None:
        """Train one run per entry of "optimizers", each from the same start weights."""
        start = self.ctrl.network.state_dict()
        self.compare, runs = {}, []
        for entry in spec["optimizers"]:
            options = dict(entry) if isinstance(entry, dict) else {"optimizer": entry}
            label = str(options.pop("label", options.get("optimizer", "run")))
            self.ctrl.network.load_state_dict(start)
            run = self._train_run({**spec, **options}, label)
            self.compare[label] = run.result
            runs.append(run)
        self.ctrl.set_weights(start)
        self.ui.show_runs(runs)

    def _train_run(self, spec: dict, label: str) -> Run:
        """One synchronous training run on the controller's network."""
        data = open_dataset(spec.get("dataset", "mnist"), **spec.get("options", {}))
        lr = spec.get("lr", 0.01)
        name = str(spec.get("optimizer", "sgd"))
        config = TrainConfig(epochs=int(spec.get("epochs", 1)),
                             batch_size=int(spec.get("batch_size", 16)), optimizer=name,
                             lr=float(lr[name] if isinstance(lr, dict) else lr),
                             seed=int(spec.get("seed", 0)), augment=bool(spec.get("augment")),
                             schedule="constant", callback_interval=3600.0)
        trainer = Trainer(self.ctrl.network, data, config)
        self.ctrl.set_dataset(data)
        self.ctrl.begin_training()
        result = None
        try:
            result = trainer.run()
        finally:
            self.ctrl.end_training(result.state if result is not None else "failed")
        if result.state != "finished":
            raise LessonError(f"training {label}: {result.message}")
        self.ctrl.set_history(result.history)
        return Run(label, result, config, data.name, trainer.batches_per_epoch)


def check_lesson(lesson: Lesson, ctrl: AppController | None = None) -> list[str]:
    """Run every step in order on a fresh controller; one line per problem found."""
    runner = LessonRunner(ctrl or AppController(None, spec=first_spec(), user_weights=False))
    problems: list[str] = []
    for k in range(len(lesson.steps)):
        problems += runner.run_step(lesson, k)[1]
    return problems


def first_spec() -> dict:
    """A tiny placeholder network for a controller that a lesson's first action replaces."""
    return {"input": [1, 4, 4], "layers": [{"type": "flatten"}, {"type": "dense", "units": 2}],
            "loss": "mse"}

