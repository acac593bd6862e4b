"""Runs an engine `Trainer` in a worker QThread and brings its results to the UI thread.

The worker never touches a widget: it turns the trainer's progress callbacks into
`Snapshot`s (only the history rows that are new since the last one, copied while the
trainer waits between batches) and sends them through queued signals. `TrainingRunner`
owns the thread; it joins it (`quit` + `wait`) before it reports the end of a run, so
whoever receives `run_finished` may use the network at once.
"""

from __future__ import annotations

import gc
import math
import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QThread, Signal, Slot

from cnnviz.engine.trainer import Progress, Trainer, TrainResult


@dataclass
class Snapshot:
    """A progress report plus the history rows recorded since the previous snapshot."""

    progress: Progress
    batches: dict[str, list] = field(default_factory=dict)
    grad_norms: dict[str, list] = field(default_factory=dict)
    evals: dict[str, list] = field(default_factory=dict)
    epochs: dict[str, list] = field(default_factory=dict)


def format_seconds(seconds: float) -> str:
    """m:ss (or h:mm:ss); '–' when unknown."""
    if not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_text(p: Progress) -> str:
    """The progress bar's text, short enough for a narrow dock: epoch, batch, time left."""
    return (f"epoch {p.epoch}/{p.epochs} · batch {p.batch}/{p.batches_per_epoch} · "
            f"{format_seconds(p.eta)} left")


def metrics_text(metrics: dict[str, float], elapsed: float = math.nan) -> str:
    """Latest loss, accuracies, learning rate and time elapsed, in large print."""
    parts = []
    fields = (("loss", "loss", 1, ".4f"), ("accuracy", "batch acc", 100, ".1f"),
              ("test_accuracy", "test acc", 100, ".1f"), ("lr", "lr", 1, ".3g"))
    for key, label, scale, fmt in fields:
        value = metrics.get(key)
        if value is not None and math.isfinite(value):
            suffix = "%" if scale == 100 else ""
            parts.append(f"{label} {value * scale:{fmt}}{suffix}")
    if math.isfinite(elapsed):
        parts.append(f"{format_seconds(elapsed)} elapsed")
    return "   ".join(parts)


class _Cursor:
    """How many rows of each history table were already sent."""

    def __init__(self) -> None:
        self.batches = self.evals = self.epochs = 0

    def take(self, trainer: Trainer, progress: Progress) -> Snapshot:
        """Copy the rows added since the last call (runs in the worker, between batches)."""
        h = trainer.history
        snap = Snapshot(progress)
        snap.batches = {k: list(v[self.batches:]) for k, v in h.batches.items()}
        snap.grad_norms = {k: list(v[self.batches:]) for k, v in h.grad_norms.items()}
        snap.evals = {k: list(v[self.evals:]) for k, v in h.evals.items()}
        snap.epochs = {k: list(v[self.epochs:]) for k, v in h.epochs.items()}
        self.batches, self.evals, self.epochs = h.num_batches, len(h.evals["step"]), h.num_epochs
        return snap


class TrainingWorker(QObject):
    """Lives in the worker thread; `run` trains synchronously there."""

    progress_changed = Signal(object)  # Snapshot
    run_finished = Signal()  # result or error is in the attributes below

    def __init__(self, trainer: Trainer) -> None:
        super().__init__()
        self.trainer: Trainer | None = trainer
        self.result: TrainResult | None = None
        self.error: tuple[str, str] | None = None
        self._cursor = _Cursor()
        trainer.on_progress = self._on_progress_changed

    def _on_progress_changed(self, progress: Progress) -> None:
        """Trainer callback (worker thread): package the new rows and queue them."""
        self.progress_changed.emit(self._cursor.take(self.trainer, progress))

    def release(self) -> None:
        """Let go of the trainer once the run is over. The thread's connection to `run`
        keeps this worker alive from C++ (out of the garbage collector's sight), and the
        trainer holds the run's training arrays: ~16 MB of LeNet-5 per run otherwise."""
        self.trainer.on_progress = None
        self.trainer = None
        self.result = None

    @Slot()
    def run(self) -> None:
        """Train; an exception becomes `error` (title, message) instead of killing the app."""
        try:
            self.result = self.trainer.run()
        except Exception as error:  # noqa: BLE001 - any bug must reach a dialog, not a crash
            detail = traceback.format_exc(limit=6)
            self.error = ("Training failed", f"{type(error).__name__}: {error}\n\n{detail}")
        finally:
            self.run_finished.emit()
            QThread.currentThread().quit()


class TrainingRunner(QObject):
    """Starts a Trainer on a worker QThread; pause, resume, stop; joins the thread at the end."""

    progress_changed = Signal(object)  # Snapshot, in the UI thread
    run_finished = Signal(object)  # TrainResult, or None after an error; thread already joined
    error_raised = Signal(str, str)  # (title, message)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None

    @property
    def trainer(self) -> Trainer | None:
        """The trainer of the run in progress, if any."""
        return self._worker.trainer if self._worker is not None else None

    def is_running(self) -> bool:
        """True from start() until run_finished has been emitted."""
        return self._thread is not None

    def start(self, trainer: Trainer) -> None:
        """Train `trainer` in a new worker thread (one run at a time)."""
        if self._thread is not None:
            raise RuntimeError("a training run is already in progress")
        thread = QThread()
        thread.setObjectName("cnnviz-training")
        worker = TrainingWorker(trainer)
        worker.moveToThread(thread)
        worker.progress_changed.connect(self._on_progress_changed)
        worker.run_finished.connect(self._finish)
        thread.started.connect(worker.run)
        self._thread, self._worker = thread, worker
        # A full garbage collection scans every object of the process (Qt wrappers, Numba's
        # compiler state: 50-100 ms here) while holding the GIL, which froze the window in
        # the middle of a run. Objects that exist now are left out of collections until
        # the run ends; the few made during training are still collected.
        gc.freeze()
        thread.start()

    def pause(self) -> None:
        """Pause after the batch in progress."""
        if self._worker is not None:
            self._worker.trainer.pause()

    def resume(self) -> None:
        """Resume a paused run."""
        if self._worker is not None:
            self._worker.trainer.resume()

    def stop(self) -> None:
        """Ask the run to stop after the batch in progress (returns at once)."""
        if self._worker is not None:
            self._worker.trainer.stop()

    def shutdown(self) -> None:
        """Stop the run and join its thread now (closing the window)."""
        self.stop()
        self._finish()

    @Slot(object)
    def _on_progress_changed(self, snapshot: Snapshot) -> None:
        """Forward a snapshot of the current worker (queued, so already in the UI thread)."""
        if self._worker is not None and self.sender() is self._worker:
            self.progress_changed.emit(snapshot)

    @Slot()
    def _finish(self) -> None:
        """Join the thread, then report the result (or the error); safe to call twice."""
        thread, worker = self._thread, self._worker
        if thread is None or worker is None:
            return
        thread.quit()
        thread.wait()
        gc.unfreeze()
        self._thread = self._worker = None
        result, error = worker.result, worker.error
        worker.release()
        if error is not None:
            self.error_raised.emit(*error)
        self.run_finished.emit(result)
