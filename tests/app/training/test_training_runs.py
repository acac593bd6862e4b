"""The training dock, end to end: stepping after training shows the trained network,
online learning and augmentation, the bounded redraw rate, six optimizers compared."""

# ruff: noqa: F811 - the `controller` and `panel` fixtures come from training_helpers

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer
from training_helpers import WAIT_MS, configure, controller, panel, run_to_end  # noqa: F401

from cnnviz.core.network import Network


def test_after_training_stepping_shows_the_trained_network(qtbot, panel, controller):
    """The stepper of the next pass runs on the trained weights: same arrays, same numbers."""
    initial = controller.network.state_dict()
    configure(panel, epochs=2)
    with qtbot.waitSignal(controller.stepper_changed, timeout=WAIT_MS):
        assert run_to_end(qtbot, panel) == "finished"
    trained = controller.network.state_dict()
    assert any(not np.array_equal(trained[k], initial[k]) for k in trained)
    stepper = controller.stepper
    assert stepper.cursor == 0
    for name, value in stepper.net.state_dict().items():
        np.testing.assert_array_equal(value, trained[name])
    check = Network.from_spec(controller.spec, seed=123, dtype=controller.dtype)
    check.load_state_dict(trained)
    expected = check.run_pass(stepper.x, stepper.y)
    assert controller.step() is not None                      # F0, as the F10 key does
    rec = controller.run_to("L")
    assert rec.name == "L"
    assert float(rec.values["loss"]) == pytest.approx(expected.loss, rel=1e-5)
    np.testing.assert_allclose(stepper.record("F0").values["output"], expected.outputs[0],
                               rtol=0, atol=1e-5)


def test_online_learning_and_augmentation_reach_the_trainer(qtbot, panel, controller):
    """Batch size 1 is shown as online learning and gives one update per example."""
    configure(panel, batch=1, epochs=1)
    assert panel.batch_box.text() == "1 (online)"
    panel.augment_box.setChecked(True)
    config = panel.config()
    assert config.batch_size == 1 and config.augment
    assert run_to_end(qtbot, panel) == "finished"
    assert panel.progress.batches_per_epoch == len(controller.dataset.train_indices)
    assert controller.history.num_batches == len(controller.dataset.train_indices)
    count = len(controller.dataset.train_indices)
    assert f"batch {count}/{count}" in panel.progress_label.text()
    assert "left" in panel.progress_label.text()


def test_redraws_are_bounded_however_fast_progress_arrives(qtbot, panel, controller,
                                                           monkeypatch):
    """Progress every batch (hundreds a second) still redraws at most every REFRESH_MS."""
    from cnnviz.app.training import panel as tp

    settings = panel.config
    monkeypatch.setattr(panel, "config", lambda: replace(settings(), callback_interval=0.0))
    redraws = []
    original = panel.metric_plots.set_curves
    monkeypatch.setattr(panel.metric_plots, "set_curves",
                        lambda curves: (redraws.append(1), original(curves)))
    configure(panel, batch=1, epochs=1000)
    clock = QElapsedTimer()
    clock.start()
    assert panel.start_training()
    qtbot.waitUntil(lambda: len(panel.history.batches["step"]) >= 400, timeout=WAIT_MS)
    with qtbot.waitSignal(panel.run_changed, timeout=WAIT_MS):
        panel.stop_training()
    elapsed = clock.elapsed()
    rows = len(controller.history.batches["step"])
    assert rows >= 400
    assert len(redraws) <= elapsed / tp.REFRESH_MS + 2          # + the final full redraw
    assert len(redraws) < rows / 4


def test_all_six_optimizers_on_one_compare_plot(qtbot, panel, artifacts_dir):
    """SGD, momentum, RMSprop, Adagrad, Adadelta and Adam: one run each, one legend entry
    each naming optimizer, learning rate and batch size, all curves on the same plot."""
    runs = [("sgd", 0.5), ("momentum", 0.05), ("rmsprop", 0.01), ("adagrad", 0.1),
            ("adadelta", 1.0), ("adam", 0.01)]
    for optimizer, lr in runs:
        configure(panel, optimizer=optimizer, lr=lr, batch=8, epochs=1)
        assert run_to_end(qtbot, panel) == "finished"
    expected = [f"{i}. square · {name} lr={lr:g} · batch 8 · 1 epoch"
                for i, (name, lr) in enumerate(runs, 1)]
    assert panel.compare.visible_labels() == expected
    curves = panel.compare.plot.getPlotItem().listDataItems()
    assert len(curves) == 6
    for curve, run in zip(curves, panel.compare.model.runs, strict=True):
        np.testing.assert_array_equal(curve.getData()[1], run.loss)
    panel.tabs.setCurrentWidget(panel.compare)
    panel.grab().save(str(artifacts_dir / "training_compare_six_optimizers.png"))
