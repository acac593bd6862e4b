"""The training worker thread: snapshots reach the UI thread, errors become signals, joins."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.app.training.worker import TrainingRunner
from cnnviz.core.network import Network
from cnnviz.core.presets import get_preset
from cnnviz.data.shapes import make_shapes
from cnnviz.engine.trainer import History, TrainConfig, Trainer

WAIT_MS = 60_000  # the first run may compile the kernels


@pytest.fixture
def dataset():
    """A small 2-class 8×8 shapes set for the `square` preset."""
    return make_shapes(n=120, size=8, classes=("square", "other"), seed=1)


def make_trainer(dataset, **config) -> Trainer:
    """A Trainer of a fresh `square` network."""
    net = Network.from_spec(get_preset("square"), seed=0)
    options = {"epochs": 2, "batch_size": 8, "optimizer": "sgd", "lr": 0.5,
               "augment": False, "schedule": "constant", "callback_interval": 0.0}
    options.update(config)
    return Trainer(net, dataset, TrainConfig(**options))


@pytest.fixture
def runner(qtbot):
    """A TrainingRunner that is always shut down (thread joined) after the test."""
    runner = TrainingRunner()
    yield runner
    runner.shutdown()
    assert not runner.is_running()


def test_snapshots_rebuild_the_history_in_the_ui_thread(qtbot, runner, dataset):
    """Every row the trainer recorded arrives exactly once, in order, through the snapshots."""
    from PySide6.QtCore import QThread

    merged, threads = History(), []

    def collect(snapshot):
        threads.append(QThread.currentThread())
        for table, rows in ((merged.batches, snapshot.batches), (merged.evals, snapshot.evals),
                            (merged.grad_norms, snapshot.grad_norms)):
            for key, values in rows.items():
                table.setdefault(key, []).extend(values)

    runner.progress_changed.connect(collect)
    trainer = make_trainer(dataset)
    with qtbot.waitSignal(runner.run_finished, timeout=WAIT_MS) as blocker:
        runner.start(trainer)
    result = blocker.args[0]
    assert result.state == "finished"
    assert not runner.is_running()
    assert threads and all(t is QThread.currentThread() for t in threads)
    assert merged.batches["loss"] == result.history.batches["loss"]
    assert merged.batches["step"] == list(range(2 * trainer.batches_per_epoch))
    assert merged.evals["test_loss"] == result.history.evals["test_loss"]
    assert merged.grad_norms == result.history.grad_norms


def test_an_exception_in_the_worker_becomes_a_signal(qtbot, runner, dataset, monkeypatch):
    """A bug in the trainer reaches error_raised; the runner can start a new run after it."""

    def broken_run(self):
        raise RuntimeError("kaboom in the kernel")

    monkeypatch.setattr(Trainer, "run", broken_run)
    with qtbot.waitSignal(runner.error_raised, timeout=WAIT_MS) as error, \
            qtbot.waitSignal(runner.run_finished, timeout=WAIT_MS) as finished:
        runner.start(make_trainer(dataset))
    assert error.args[0] == "Training failed"
    assert "RuntimeError: kaboom in the kernel" in error.args[1]
    assert finished.args == [None]
    assert not runner.is_running()
    monkeypatch.undo()
    with qtbot.waitSignal(runner.run_finished, timeout=WAIT_MS) as again:
        runner.start(make_trainer(dataset))
    assert again.args[0].state == "finished"


def test_shutdown_stops_and_joins_a_long_run(qtbot, runner, dataset):
    """shutdown() returns with the thread joined and the run stopped between batches."""
    trainer = make_trainer(dataset, epochs=100_000)
    runner.start(trainer)
    qtbot.waitUntil(lambda: trainer.history.num_batches > 3, timeout=WAIT_MS)
    finished = []
    runner.run_finished.connect(finished.append)
    runner.shutdown()
    assert not runner.is_running()
    assert finished[0].state == "stopped"
    done = trainer.history.num_batches
    assert finished[0].batches_completed == done
    assert all(np.isfinite(v).all() for v in trainer.net.state_dict().values())


def test_a_second_start_while_running_is_refused(qtbot, runner, dataset):
    """One run at a time."""
    runner.start(make_trainer(dataset, epochs=100_000))
    with pytest.raises(RuntimeError, match="already in progress"):
        runner.start(make_trainer(dataset))


def test_live_history_grows_past_its_first_buffer_and_reads_as_arrays():
    """The panel's column store keeps every appended value in order (None → NaN)."""
    from cnnviz.app.training.curves import LiveHistory

    live = LiveHistory()
    values = [float(i) for i in range(1000)]
    for start in range(0, 1000, 70):
        live.extend("batches", {"loss": values[start:start + 70]})
    live.extend("grad_norms", {"0.weight": [1.0, None]})
    assert len(live.batches["loss"]) == 1000
    np.testing.assert_array_equal(np.asarray(live.batches["loss"]), values)
    np.testing.assert_array_equal(np.asarray(live.grad_norms["0.weight"]), [1.0, np.nan])


def test_shutdown_wakes_a_paused_run(qtbot, runner, dataset):
    """A paused run is stopped and joined too (closing the window while paused)."""
    trainer = make_trainer(dataset, epochs=100_000)
    states = []
    runner.progress_changed.connect(lambda snap: states.append(snap.progress.state))
    runner.start(trainer)
    qtbot.waitUntil(lambda: trainer.history.num_batches > 0, timeout=WAIT_MS)
    runner.pause()
    qtbot.waitUntil(lambda: "paused" in states, timeout=WAIT_MS)
    paused_at = trainer.history.num_batches
    with qtbot.waitSignal(runner.run_finished, timeout=WAIT_MS) as finished:
        runner.shutdown()
    assert finished.args[0].state == "stopped"
    assert finished.args[0].batches_completed == paused_at
    assert not runner.is_running()


def test_long_curves_are_decimated_keeping_their_spikes():
    """A short curve is drawn exactly; a long one as at most MAX_POINTS points that keep
    every bin's extremes, in order (a divergence spike stays visible)."""
    from cnnviz.app.training.curves import MAX_NORM_POINTS, MAX_POINTS, decimate, log_mean_bins

    x = np.arange(500, dtype=float)
    y = np.sin(x)
    same_x, same_y = decimate(x, y)
    np.testing.assert_array_equal(same_y, y)
    n = 123_457
    x = np.arange(n, dtype=float)
    y = np.random.default_rng(0).random(n)
    y[[10, 77_777]] = [50.0, -3.0]
    y[500] = np.nan                                           # a missing value is no extreme
    dx, dy = decimate(x, y)
    assert len(dx) <= MAX_POINTS and np.all(np.diff(dx) > 0)
    assert dy[np.isfinite(dy)].max() == 50.0 and dy[np.isfinite(dy)].min() == -3.0
    np.testing.assert_array_equal(dy, y[dx.astype(int)])      # real points, not averages
    norms = np.full(n, 1e-3)
    norms[n // 2:] = 1e-1
    mx, my = log_mean_bins(x, norms)
    assert len(mx) <= MAX_NORM_POINTS + n // MAX_NORM_POINTS
    assert my[0] == pytest.approx(1e-3) and my[-1] == pytest.approx(1e-1)
    np.testing.assert_array_equal(log_mean_bins(x[:50], norms[:50])[1], norms[:50])


def test_old_objects_are_kept_out_of_garbage_collections_during_a_run(qtbot, runner, dataset):
    """A full collection would scan every Qt and Numba object while holding the GIL (the
    longest UI stall measured); during a run they are frozen, afterwards collected again,
    also after an error or a shutdown."""
    import gc

    assert gc.get_freeze_count() == 0
    trainer = make_trainer(dataset, epochs=100_000)
    runner.start(trainer)
    assert gc.get_freeze_count() > 1000
    qtbot.waitUntil(lambda: trainer.history.num_batches > 2, timeout=WAIT_MS)
    runner.shutdown()
    assert gc.get_freeze_count() == 0
    with qtbot.waitSignal(runner.run_finished, timeout=WAIT_MS):
        runner.start(make_trainer(dataset, epochs=1))
    assert gc.get_freeze_count() == 0

