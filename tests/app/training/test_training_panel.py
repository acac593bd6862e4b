"""The training dock: live curves, progress, pause/stop consistency, divergence, errors, compare."""

# ruff: noqa: F811 - the `controller` and `panel` fixtures come from training_helpers

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal
from training_helpers import (  # noqa: F401 - fixtures
    WAIT_MS,
    assert_same_weights,
    configure,
    controller,
    panel,
    replay,
    run_to_end,
)

from cnnviz.app.training.panel import TrainingPanel
from cnnviz.core.network import Network
from cnnviz.core.optim import OPTIMIZER_NAMES
from cnnviz.data.shapes import make_shapes
from cnnviz.engine.trainer import Trainer


def test_a_run_draws_the_trainers_numbers_and_returns_the_network(qtbot, panel, controller):
    """Loss curve points equal the history; progress full; busy during the run only."""
    configure(panel, epochs=3)
    busy_seen = []
    panel.run_changed.connect(lambda state: busy_seen.append((state, controller.busy)))
    with qtbot.waitSignal(controller.weights_changed, timeout=WAIT_MS):
        state = run_to_end(qtbot, panel)
    assert state == "finished"
    assert busy_seen[0] == ("running", True) and busy_seen[-1] == ("finished", False)
    history = controller.history
    x, y = panel.metric_plots.train_loss.getData()
    np.testing.assert_array_equal(y, np.asarray(history.batches["loss"]))
    bpe = panel.progress.batches_per_epoch
    np.testing.assert_allclose(x, (np.arange(len(y)) + 1) / bpe)
    assert len(y) == 3 * bpe
    _, test_loss = panel.metric_plots.test_loss.getData()
    np.testing.assert_array_equal(test_loss, history.evals["test_loss"])
    _, test_acc = panel.metric_plots.test_accuracy.getData()
    np.testing.assert_allclose(test_acc, 100 * np.asarray(history.evals["test_accuracy"]))
    assert panel.progress_bar.value() == panel.progress_bar.maximum()
    assert "epoch 3/3" in panel.progress_label.text()
    assert set(panel.grad_plot.curves) == set(controller.network.params())
    assert not controller.busy and controller.has_trained_weights()


def test_pause_and_stop_leave_the_weights_of_the_last_completed_batch(qtbot, panel, controller):
    """While paused and after stop, the network equals a replay of exactly that many batches."""
    configure(panel, epochs=1000)
    assert panel.start_training()
    qtbot.waitUntil(lambda: len(panel.history.batches["step"]) >= 5, timeout=WAIT_MS)
    panel.toggle_pause()
    assert panel.pause_button.text().endswith("Resume")
    qtbot.waitUntil(lambda: panel.progress.state == "paused", timeout=WAIT_MS)
    paused_at = len(panel.history.batches["step"])
    assert controller.busy and panel.is_running()
    assert_same_weights(controller.network.state_dict(), replay(controller, panel._config,
                                                                paused_at))
    panel.toggle_pause()
    qtbot.waitUntil(lambda: len(panel.history.batches["step"]) > paused_at + 5, timeout=WAIT_MS)
    with qtbot.waitSignal(panel.run_changed, timeout=WAIT_MS) as stopped:
        panel.stop_training()
    assert stopped.args == ["stopped"]
    done = controller.history.num_batches
    assert done > paused_at
    assert_same_weights(controller.network.state_dict(), replay(controller, panel._config, done))
    assert not controller.busy


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_huge_learning_rate_shows_the_divergence_message(qtbot, panel, controller):
    """The engine's message reaches the panel, the status bar and the error signal."""
    configure(panel, optimizer="sgd", lr=1000.0)
    statuses = []
    controller.status_changed.connect(statuses.append)
    with qtbot.waitSignal(controller.error_raised, timeout=WAIT_MS) as error:
        state = run_to_end(qtbot, panel)
    assert state == "diverged"
    assert error.args[0] == "Training diverged"
    assert "lr 1000 is probably too high" in error.args[1]
    assert panel.message_label.isVisible()
    assert "probably too high" in panel.message_label.text()
    assert any("diverged" in s for s in statuses)
    assert all(np.isfinite(w).all() for w in controller.network.state_dict().values())


def test_an_exception_in_the_worker_reaches_the_error_signal(qtbot, panel, controller,
                                                             monkeypatch):
    """A crashing trainer gives a dialog signal; the panel and controller keep working."""

    def broken_run(self):
        raise RuntimeError("simulated failure")

    original_run = Trainer.run
    monkeypatch.setattr(Trainer, "run", broken_run)
    with qtbot.waitSignal(controller.error_raised, timeout=WAIT_MS) as error:
        assert run_to_end(qtbot, panel) == "failed"
    assert "RuntimeError: simulated failure" in error.args[1]
    assert not controller.busy and panel.start_button.isEnabled()
    monkeypatch.setattr(Trainer, "run", original_run)  # not undo(): that drops the data dir
    assert run_to_end(qtbot, panel) == "finished"


def test_bad_settings_are_reported_not_raised(qtbot, panel, controller):
    """A dataset that does not fit the network is named in the error, and nothing starts."""
    controller.set_dataset(make_shapes(n=40, size=12, classes=("square", "other")))
    with qtbot.waitSignal(controller.error_raised) as error:
        assert not panel.start_training()
    assert "(1, 12, 12)" in error.args[1] and "(1, 8, 8)" in error.args[1]
    assert not panel.is_running() and not controller.busy


def test_two_runs_appear_in_the_compare_plot(qtbot, panel, tmp_path, artifacts_dir):
    """Each run is kept with optimizer, lr and batch size in the legend; hide, export, clear."""
    configure(panel, optimizer="sgd", lr=0.5, epochs=4)
    run_to_end(qtbot, panel)
    configure(panel, optimizer="adam", lr=0.01, batch=16, epochs=4)
    run_to_end(qtbot, panel)
    compare = panel.compare
    assert compare.visible_labels() == ["1. square · sgd lr=0.5 · batch 8 · 4 epochs",
                                        "2. square · adam lr=0.01 · batch 16 · 4 epochs"]
    panel.tabs.setCurrentWidget(compare)
    qtbot.waitExposed(compare)
    compare.grab().save(str(artifacts_dir / "training_compare_two_optimizers.png"))
    panel.grab().save(str(artifacts_dir / "training_dock_compare.png"))
    curves = compare.plot.getPlotItem().listDataItems()
    np.testing.assert_array_equal(curves[0].getData()[1], compare.model.runs[0].loss)
    from PySide6.QtCore import Qt

    compare.run_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert compare.visible_labels() == ["2. square · adam lr=0.01 · batch 16 · 4 epochs"]
    path = compare.export_csv(tmp_path / "runs.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    train = [r for r in rows if r["run"] == "1" and r["series"] == "train"]
    assert [float(r["loss"]) for r in train] == list(compare.model.runs[0].loss)
    assert {r["optimizer"] for r in rows} == {"sgd", "adam"}
    compare.clear()
    assert compare.visible_labels() == [] and compare.model.runs == []


def test_every_optimizer_is_offered():
    """All of sgd, momentum, nesterov, rmsprop, adagrad, adadelta and adam."""
    assert set(OPTIMIZER_NAMES) >= {"sgd", "momentum", "nesterov", "rmsprop", "adagrad",
                                    "adadelta", "adam"}


def test_learning_rate_box_steps_on_a_log_scale(qtbot, panel):
    """Arrow steps follow 1-2-5; typed scientific notation is accepted."""
    box = panel.lr_box
    box.setValue(0.001)
    box.stepBy(1)
    assert box.value() == pytest.approx(0.002)
    box.stepBy(2)
    assert box.value() == pytest.approx(0.01)
    box.stepBy(-3)
    assert box.value() == pytest.approx(0.001)
    assert box.valueFromText("3e-4") == pytest.approx(3e-4)


class StallMeter(QObject):
    """A 10 ms QTimer that records the gap between its ticks; `enough` after `count` ticks."""

    enough = Signal()

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count, self.gaps = count, []
        self.clock, self.timer = QElapsedTimer(), QTimer(self)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._on_tick)

    def start(self) -> None:
        """Start ticking."""
        self.clock.start()
        self.timer.start()

    def _on_tick(self) -> None:
        self.gaps.append(self.clock.restart())
        if len(self.gaps) == self.count:
            self.timer.stop()
            self.enough.emit()


def test_event_loop_stays_responsive_while_training(qtbot, panel, controller, artifacts_dir):
    """Measure the longest gap between 10 ms timer ticks during a run (reported, not asserted).

    waitSignal runs a real QEventLoop (waitUntil would sleep between polls and inflate
    the gaps), so this is the loop the window itself runs.
    """
    controller.set_dataset(make_shapes(n=2000, size=8, classes=("square", "other"), seed=3))
    configure(panel, optimizer="adam", lr=0.01, batch=16, epochs=1000)  # the test stops it
    meter = StallMeter(count=150)
    assert panel.start_training()
    qtbot.waitUntil(lambda: len(panel.history.batches["step"]) > 0, timeout=WAIT_MS)
    with qtbot.waitSignal(meter.enough, timeout=WAIT_MS):  # ≥ 1.5 s of training
        meter.start()
    assert panel.is_running()
    panel.tabs.setCurrentIndex(0)
    panel.grab().save(str(artifacts_dir / "training_dock_mid_run.png"))
    panel.tabs.setCurrentWidget(panel.grad_plot)
    panel.grab().save(str(artifacts_dir / "training_dock_grad_norms.png"))
    with qtbot.waitSignal(panel.run_changed, timeout=WAIT_MS):
        panel.stop_training()
    worst = max(meter.gaps[1:])
    median = sorted(meter.gaps)[len(meter.gaps) // 2]
    report = (f"max event-loop gap while training: {worst} ms (median {median} ms) "
              f"over {len(meter.gaps)} ticks of a 10 ms timer\n")
    (artifacts_dir / "training_stall.txt").write_text(report, encoding="utf-8")
    print("\n" + report)
    assert math.isfinite(worst) and worst >= 0


def test_gradient_norms_show_vanishing_gradients_in_deep_sigmoid(qtbot, controller,
                                                                 artifacts_dir):
    """One log-scale curve per parameter tensor, in depth order, with the engine's numbers."""
    assert controller.load_preset("deep-sigmoid")
    assert controller.weight_book.reset()  # vanishing gradients show at initialisation
    controller.set_dataset(make_shapes(n=60, size=28, seed=2))
    panel = TrainingPanel(controller)
    qtbot.addWidget(panel)
    panel.resize(900, 900)
    panel.show()
    # Small batches and test set stay under the kernels' threading threshold: their pool
    # threads live on after the test, which the autouse leftover-thread check reports.
    configure(panel, optimizer="sgd", lr=0.1, batch=8, epochs=2)
    panel.tabs.setCurrentWidget(panel.grad_plot)
    try:
        assert run_to_end(qtbot, panel) == "finished"
    finally:
        panel.shutdown()
    names = list(controller.network.params())
    assert list(panel.grad_plot.curves) == names
    for name in names:
        _, y = panel.grad_plot.curves[name].getData()  # log mode: the plot holds log10
        np.testing.assert_allclose(10**y, controller.history.grad_norms[name], rtol=1e-9)
    first, last = (np.median(controller.history.grad_norms[n]) for n in (names[0], names[-2]))
    assert first < last / 100  # the vanishing gradient the view is there to show
    panel.grab().save(str(artifacts_dir / "training_grad_norms_deep_sigmoid.png"))


def test_plots_follow_the_dark_theme(qtbot, panel, artifacts_dir):
    """set_colors re-colours every plot: background, axes and titles."""
    from cnnviz.app.widgets.theme import DARK

    panel.set_colors(DARK)
    plots = (panel.metric_plots.loss_plot, panel.metric_plots.accuracy_plot,
             panel.grad_plot.plot, panel.compare.plot)
    for plot in plots:
        assert plot.backgroundBrush().color().name() == DARK.panel
        axis = plot.getPlotItem().getAxis("left")
        assert axis.textPen().color().name() == DARK.text
    panel.grab().save(str(artifacts_dir / "training_dock_dark.png"))


def test_buttons_have_shortcuts_named_in_their_tooltips(panel):
    """Ctrl+T start, Ctrl+P pause/resume, Ctrl+. stop; every setting has a tooltip."""
    from PySide6.QtGui import QKeySequence

    for button, keys in ((panel.start_button, "Ctrl+T"), (panel.pause_button, "Ctrl+P"),
                         (panel.stop_button, "Ctrl+.")):
        assert button.shortcut() == QKeySequence(keys)
        assert keys in button.toolTip()
    for widget in (panel.optimizer_box, panel.lr_box, panel.batch_box, panel.epochs_box,
                   panel.schedule_box, panel.augment_box, panel.dataset_box):
        assert widget.toolTip()
    assert not panel.pause_button.isEnabled() and not panel.stop_button.isEnabled()


def test_shutdown_while_training_joins_the_thread_and_frees_the_controller(qtbot, panel,
                                                                         controller):
    """What closing the window does: the run stops at once and the controller is usable."""
    configure(panel, epochs=1000)
    assert panel.start_training()
    qtbot.waitUntil(lambda: len(panel.history.batches["step"]) >= 3, timeout=WAIT_MS)
    states = []
    panel.run_changed.connect(states.append)
    panel.shutdown()
    assert states == ["stopped"]
    assert not panel.is_running() and not controller.busy
    assert not panel._refresh_timer.isActive()
    done = controller.history.num_batches
    assert_same_weights(controller.network.state_dict(), replay(controller, panel._config, done))
    from cnnviz.engine.userweights import user_data_dir

    assert not (user_data_dir() / "weights").exists()  # a run keeps nothing by itself


def test_shapes_is_opened_to_fit_the_network(qtbot, panel, controller):
    """Choosing the built-in "shapes" for the 8×8 square preset opens the 8×8 2-class set."""
    panel.dataset_box.setCurrentText("shapes")
    configure(panel, epochs=1)
    with qtbot.waitSignal(controller.dataset_changed):
        assert run_to_end(qtbot, panel) == "finished"
    assert controller.dataset.input_shape == (1, 8, 8)
    assert controller.dataset.num_classes == 2
    assert panel.dataset_box.currentText() == controller.dataset.name


def test_a_narrow_dock_puts_one_setting_per_row(qtbot, panel):
    """Settings go two per row in a wide dock and one per row in a narrow one."""
    grid = panel.settings_box._settings_grid
    label, widget = panel.settings_box._settings[1]  # learning rate
    assert grid.getItemPosition(grid.indexOf(widget))[:2] == (0, 3)
    panel.resize(400, 900)
    qtbot.waitUntil(lambda: grid.getItemPosition(grid.indexOf(widget))[:2] == (1, 1))
    assert grid.getItemPosition(grid.indexOf(label))[:2] == (1, 0)


def test_a_finished_run_keeps_nothing_until_asked(qtbot, panel, controller):
    """A run never replaces the user's kept weights; Keep these weights does, for the
    preset and the dataset trained on; Undo this run puts the earlier weights back."""
    from cnnviz.engine.userweights import load_user_weights, user_weights_path

    dataset = controller.dataset.name
    before = controller.network.state_dict()
    configure(panel, epochs=1)
    assert run_to_end(qtbot, panel) == "finished"
    assert not user_weights_path("square", dataset).exists()
    assert panel.keep_bar.isVisible() and panel.keep_bar.keep_button.isEnabled()
    panel.keep_bar.keep_button.click()
    assert user_weights_path("square", dataset).is_file()
    assert str(user_weights_path("square", dataset)) in panel.keep_bar.note.text()
    fresh = Network.from_spec(controller.spec, seed=99)
    assert load_user_weights("square", dataset, fresh)
    assert_same_weights(fresh.state_dict(), controller.network.state_dict())
    panel.keep_bar.undo_button.click()
    assert_same_weights(controller.network.state_dict(), before)
    assert panel.keep_bar.isHidden()


def test_finished_runs_let_go_of_their_trainers_and_training_arrays(qtbot, panel, controller):
    """The soak benchmark found RSS growing ~16 MB per LeNet-5 run: the trainer and the
    worker referred to each other, so only a full garbage collection (rare in a big
    process) could free the run's training arrays. A finished run's trainer must be freed
    at once, by reference counting alone."""
    import gc
    import weakref

    configure(panel, epochs=1)
    refs = []
    panel.runner.progress_changed.connect(
        lambda _snapshot: refs.append(weakref.ref(panel.runner.trainer))
        if not refs or refs[-1]() is not panel.runner.trainer else None)
    gc.disable()
    try:
        for _ in range(3):
            run_to_end(qtbot, panel)
        assert len(refs) == 3
        assert [ref() for ref in refs] == [None, None, None]
    finally:
        gc.enable()
