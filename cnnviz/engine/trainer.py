"""The trainer: epochs of mini-batches with metrics, callbacks, pause/stop and a divergence guard.

`Trainer.run()` trains synchronously in the calling thread (the GUI calls it from a worker
thread; the kernels release the GIL). `pause()`, `resume()` and `stop()` may be called from
any thread; they take effect between batches, so the model is never left mid-update.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnviz.core import parallel_step
from cnnviz.core.optim import make_optimizer
from cnnviz.core.schedules import make_schedule
from cnnviz.engine.augment import augment_batch
from cnnviz.engine.metrics import History, Progress, evaluate, tensor_norm
from cnnviz.engine.userweights import load_user_weights, save_user_weights, user_weights_path

__all__ = [
    "History", "Progress", "TrainConfig", "TrainResult", "Trainer", "evaluate",
    "load_user_weights", "save_user_weights", "user_weights_path",
]

STATES = ("idle", "running", "paused", "stopped", "finished", "diverged")
SCHEDULE_NAMES = ("constant", "step", "cosine", "onecycle")


@dataclass
class TrainConfig:
    """What to train for and how; the defaults train LeNet-5 on the bundled MNIST to ≥ 97%."""

    epochs: int = 20
    batch_size: int = 64               # 1 = online learning
    optimizer: str = "adam"
    lr: float = 3e-3                   # base (peak, for onecycle) learning rate
    seed: int = 0                      # shuffling and augmentation
    augment: bool = True               # random integer shifts of ±max_shift px, zero fill
    schedule: str = "onecycle"         # constant, step, cosine, onecycle
    eval_every: int = 0                # also evaluate the test set every N batches (0: epochs only)
    callback_interval: float = 0.1     # seconds between progress callbacks (≤ 10 Hz)
    max_test_examples: int | None = None
    max_shift: int = 2
    schedule_options: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """ValueError naming the first field with an impossible value."""
        checks = [
            ("epochs", self.epochs >= 1, "must be at least 1"),
            ("seed", isinstance(self.seed, int) and self.seed >= 0, "must be an integer ≥ 0"),
            ("batch_size", self.batch_size >= 1, "must be at least 1"),
            ("lr", math.isfinite(self.lr) and self.lr > 0, "must be a positive number"),
            ("eval_every", self.eval_every >= 0, "must be 0 or more"),
            ("callback_interval", self.callback_interval >= 0, "must be 0 or more"),
            ("max_shift", self.max_shift >= 0, "must be 0 or more"),
            ("schedule", self.schedule in SCHEDULE_NAMES,
             f"must be one of {', '.join(SCHEDULE_NAMES)}"),
            ("max_test_examples", self.max_test_examples is None or self.max_test_examples >= 1,
             "must be at least 1"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"training setting {name} {rule}, got {getattr(self, name)!r}")


@dataclass
class TrainResult:
    """How a run ended: its final state, a message for people, and the metrics."""

    state: str
    message: str
    history: History
    epochs_completed: int
    batches_completed: int
    seconds: float
    test_loss: float
    test_accuracy: float

    @property
    def diverged(self) -> bool:
        """True if the divergence guard stopped the run."""
        return self.state == "diverged"


class _DivergedError(Exception):
    """Internal: the guard tripped on this batch (the weights are already restored)."""


class Trainer:
    """Trains a Network on a Dataset; see the module docstring for threading."""

    def __init__(self, net: Any, dataset: Any, config: TrainConfig | None = None,
                 optimizer: Any = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 on_epoch_end: Callable[[dict[str, float]], None] | None = None) -> None:
        self.net = net
        self.config = config or TrainConfig()
        self.config.validate()
        self.optimizer = optimizer if optimizer is not None else _make_optimizer(self.config)
        self.on_progress = on_progress
        self.on_epoch_end = on_epoch_end
        self.history = History()
        self.x_train, self.y_train = _prepare(net, *dataset.train(), "training")
        self.x_test, self.y_test = _prepare(net, *dataset.test(), "test")
        if self.config.max_test_examples is not None:
            self.x_test = self.x_test[: self.config.max_test_examples]
            self.y_test = self.y_test[: self.config.max_test_examples]
        self._state = "idle"
        self._lock = threading.Lock()
        self._go = threading.Event()
        self._go.set()
        self._stop = threading.Event()
        self._started = False
        self._paused_seconds = 0.0
        self._last_emit = -math.inf
        self._latest: dict[str, float] = {}

    # ----- control (any thread) -----
    @property
    def state(self) -> str:
        """One of idle, running, paused, stopped, finished, diverged."""
        state = self._state
        if state in ("idle", "running") and not self._go.is_set():
            return "paused"
        return state

    @property
    def batches_per_epoch(self) -> int:
        """Mini-batches per epoch (the last one may be smaller)."""
        return max(1, math.ceil(len(self.x_train) / self.config.batch_size))

    def pause(self) -> None:
        """Pause after the batch in progress; resume() continues."""
        with self._lock:   # so that a stop() racing with this pause() always wins
            if self._state in ("idle", "running") and not self._stop.is_set():
                self._go.clear()

    def resume(self) -> None:
        """Continue a paused run."""
        self._go.set()

    def stop(self) -> None:
        """Stop after the batch in progress (also wakes a paused run)."""
        with self._lock:
            self._stop.set()
            self._go.set()

    # ----- the run (calling thread) -----
    def run(self) -> TrainResult:
        """Train config.epochs epochs (or until stopped or diverged) and report how it ended."""
        if self._started:
            raise RuntimeError("a Trainer runs once; create a new Trainer to train again")
        self._started = True
        self._state = "running"
        self._t0 = time.perf_counter()
        try:
            # the share workers start loading the network now (no wait): the first batches
            # run on threads until they hold it
            parallel_step.prepare(self.net, min(self.config.batch_size, len(self.x_train)), 0)
            state, message = self._epochs()
        except _DivergedError as error:
            state, message = "diverged", str(error)
        except BaseException:
            self._state = "stopped"  # not "running" forever; the weights are consistent
            raise
        self._state = state
        self._emit(force=True)
        return self._result(state, message)

    def _epochs(self) -> tuple[str, str]:
        """The epoch loop; returns (final state, message)."""
        cfg, n = self.config, len(self.x_train)
        total = cfg.epochs * self.batches_per_epoch
        schedule = _make_schedule(cfg, total, self.batches_per_epoch)
        shuffle_rng, aug_rng = (np.random.default_rng(s)
                                for s in np.random.SeedSequence(cfg.seed).spawn(2))
        step = 0
        for epoch in range(1, cfg.epochs + 1):
            order = shuffle_rng.permutation(n)
            for b in range(self.batches_per_epoch):
                if not self._checkpoint():
                    return "stopped", self._stopped_message(epoch, b)
                idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
                xb = self.x_train[idx]
                if cfg.augment and cfg.max_shift > 0:
                    xb = augment_batch(xb, aug_rng, cfg.max_shift)
                lr = float(schedule.lr_at(step))
                self.optimizer.lr = lr
                self._train_batch(xb, self.y_train[idx], epoch, b + 1, step, lr)
                step += 1
                if cfg.eval_every and step % cfg.eval_every == 0:
                    self._evaluate(step, epoch)
                self._progress(epoch, b + 1, step)
            self._end_epoch(epoch, step)
        return "finished", f"finished {cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''}"

    def _checkpoint(self) -> bool:
        """Between batches: wait while paused; False once stop() was called."""
        if not self._go.is_set():
            t0 = time.perf_counter()
            self._emit(force=True)
            self._go.wait()
            self._paused_seconds += time.perf_counter() - t0
        return not self._stop.is_set()

    def _train_batch(self, xb: np.ndarray, yb: np.ndarray, epoch: int, batch: int,
                     step: int, lr: float) -> None:
        """One update with metrics; restores the weights and raises _DivergedError if it blew up."""
        net, opt = self.net, self.optimizer
        params = net.params()
        before = net.state_dict()  # parameters and batch-norm buffers, restored on failure
        opt_before = _copy_state(opt.state_dict())
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # guard decides
                loss = float(parallel_step.train_step(net, xb, yb, opt))
        except BaseException:  # a failed (or aborted) update never leaves half-updated weights
            net.load_state_dict(before)
            opt.load_state_dict(opt_before)
            raise
        ratios, bad_weight = _update_ratios(params, before)
        bad = f"loss became {_fmt(loss)}" if not math.isfinite(loss) else bad_weight
        if bad is not None:
            net.load_state_dict(before)
            opt.load_state_dict(opt_before)
            raise _DivergedError(
                f"{bad} at epoch {epoch}, batch {batch} (lr {lr:g} is probably too high); "
                "restored the weights from before that batch")
        norms = {name: tensor_norm(g) for name, g in net.grads().items()}
        accuracy = _batch_accuracy(net, yb)
        self.history.add_batch(
            {"step": step, "epoch": epoch, "loss": loss, "accuracy": accuracy, "lr": lr},
            norms, ratios)
        self._latest.update(loss=loss, accuracy=accuracy, lr=lr)

    def _evaluate(self, step: int, epoch: int) -> tuple[float, float]:
        """Test-set loss and accuracy, recorded in the history."""
        if len(self.x_test) == 0:
            return math.nan, math.nan
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss, acc, _ = evaluate(self.net, self.x_test, self.y_test)
        self.history.add_eval(
            {"step": step, "epoch": epoch, "test_loss": loss, "test_accuracy": acc})
        self._latest.update(test_loss=loss, test_accuracy=acc)
        return loss, acc

    def _end_epoch(self, epoch: int, step: int) -> None:
        """Evaluate, record the epoch's summary, call on_epoch_end and report progress."""
        test_loss, test_acc = self._evaluate(step, epoch)
        h = self.history.batches
        k = self.batches_per_epoch
        row = {
            "epoch": epoch,
            "train_loss": float(np.mean(h["loss"][-k:])),
            "train_accuracy": float(np.mean(h["accuracy"][-k:])),
            "test_loss": test_loss,
            "test_accuracy": test_acc,
            "lr": h["lr"][-1],
            "seconds": time.perf_counter() - self._t0 - self._paused_seconds,
        }
        self.history.add_epoch(row)
        if self.on_epoch_end is not None:
            self.on_epoch_end(dict(row))
        self._emit(force=True)

    # ----- reporting -----
    def _progress(self, epoch: int, batch: int, step: int) -> None:
        """Remember where the run is; call on_progress at most every callback_interval."""
        self._where = (epoch, batch, step)
        self._emit(force=False)

    def _emit(self, force: bool) -> None:
        """Call on_progress now if forced or if callback_interval has passed."""
        now = time.perf_counter()
        if self.on_progress is None or not hasattr(self, "_where"):
            return
        if not force and now - self._last_emit < self.config.callback_interval:
            return
        self._last_emit = now
        self.on_progress(self.progress())

    def progress(self) -> Progress:
        """A Progress report of the run as it stands."""
        epoch, batch, step = getattr(self, "_where", (1, 0, 0))
        total = self.config.epochs * self.batches_per_epoch
        elapsed = self._elapsed()
        eta = elapsed / step * (total - step) if step else math.nan
        return Progress(
            epoch=epoch, batch=batch, batches_per_epoch=self.batches_per_epoch,
            epochs=self.config.epochs, examples_seen=self._examples_seen(step),
            elapsed=elapsed, eta=eta, metrics=dict(self._latest), state=self.state)

    def _examples_seen(self, step: int) -> int:
        """Training examples used so far (the last batch of an epoch may be short)."""
        full, rest = divmod(step, self.batches_per_epoch)
        return full * len(self.x_train) + min(rest * self.config.batch_size, len(self.x_train))

    def _elapsed(self) -> float:
        """Seconds since run() started, pauses excluded."""
        if not hasattr(self, "_t0"):
            return 0.0
        return time.perf_counter() - self._t0 - self._paused_seconds

    def _stopped_message(self, epoch: int, batch: int) -> str:
        """The message of a stopped run."""
        return f"stopped before epoch {epoch}, batch {batch + 1}"

    def _result(self, state: str, message: str) -> TrainResult:
        """The TrainResult of a run that ended in state."""
        ev = self.history.evals
        return TrainResult(
            state=state, message=message, history=self.history,
            epochs_completed=self.history.num_epochs,
            batches_completed=self.history.num_batches, seconds=self._elapsed(),
            test_loss=ev["test_loss"][-1] if ev["test_loss"] else math.nan,
            test_accuracy=ev["test_accuracy"][-1] if ev["test_accuracy"] else math.nan)


def _prepare(net: Any, x: np.ndarray, y: np.ndarray, part: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert a split to the net's dtype; ValueError if it does not fit the network."""
    expected = tuple(net.spec.input_shape)
    if x.ndim != 4 or tuple(x.shape[1:]) != expected:
        raise ValueError(f"the {part} images have shape {tuple(x.shape[1:])} but the network "
                         f"expects inputs of shape {expected}")
    y = np.asarray(y, dtype=np.int64)
    classes = net.spec.num_classes
    if len(y) and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"the {part} labels go up to {int(y.max())} but the network has "
                         f"only {classes} outputs (classes 0..{classes - 1})")
    if len(x) == 0:
        if part == "training":
            raise ValueError("the training split is empty: nothing to train on")
        return np.zeros((0, *expected), dtype=net.dtype), y
    return net.prepare_input(x), y


def _update_ratios(params: dict[str, np.ndarray],
                   before: dict[str, np.ndarray]) -> tuple[dict[str, float], str | None]:
    """‖Δw‖/‖w‖ per tensor, and what went non-finite in the update (None if nothing)."""
    ratios, bad = {}, None
    for name, w in params.items():
        delta = tensor_norm(w - before[name])
        if bad is None and not math.isfinite(delta) and not np.isfinite(w).all():
            bad = f"the weights {name} became non-finite"
        w_norm = tensor_norm(before[name])
        ratios[name] = delta / w_norm if w_norm > 0 else math.nan
    return ratios, bad


def _batch_accuracy(net: Any, yb: np.ndarray) -> float:
    """Accuracy of the batch just trained, from the logits its forward pass saved."""
    logits = net.layers[-1].saved.get("output")
    if logits is None or len(logits) != len(yb):
        return math.nan
    return float(np.mean(np.argmax(logits, axis=1) == yb))


def _copy_state(d: Any) -> Any:
    """Deep copy of an optimizer state dict (arrays copied)."""
    if isinstance(d, dict):
        return {k: _copy_state(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_copy_state(v) for v in d]
    if isinstance(d, np.ndarray):
        return d.copy()
    return d


def _fmt(x: float) -> str:
    """'inf', '-inf' or 'nan' for a non-finite number."""
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _make_optimizer(config: TrainConfig) -> Any:
    """The optimizer named in config, with its learning rate."""
    return make_optimizer(config.optimizer, lr=config.lr)


def _make_schedule(config: TrainConfig, total_steps: int, steps_per_epoch: int) -> Any:
    """The learning-rate schedule named in config, over the whole run."""
    options = dict(config.schedule_options)
    if config.schedule == "step":
        options.setdefault("steps_per_epoch", steps_per_epoch)
    return make_schedule(config.schedule, config.lr, total_steps, **options)
