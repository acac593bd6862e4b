"""Fixtures and helpers of the training-dock tests: a controller on `square`, a panel
that is always shut down, filling in the settings, running to the end, replaying a run."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cnnviz.app.training.panel import TrainingPanel
from cnnviz.core.network import Network
from cnnviz.core.optim import make_optimizer
from cnnviz.data.shapes import make_shapes
from cnnviz.engine.trainer import Trainer

WAIT_MS = 60_000  # the first run of a process may compile the kernels


@pytest.fixture
def controller():
    """GA's controller on the `square` preset (no saved user weights)."""
    from cnnviz.app.controller import AppController

    controller = AppController("square", user_weights=False)
    controller.set_dataset(make_shapes(n=200, size=8, classes=("square", "other"), seed=1))
    return controller


@pytest.fixture
def panel(qtbot, controller):
    """A TrainingPanel on that controller; always shut down after the test."""
    panel = TrainingPanel(controller)
    qtbot.addWidget(panel)
    panel.resize(900, 900)
    panel.show()
    yield panel
    panel.shutdown()
    assert not panel.is_running()
    assert not panel._refresh_timer.isActive()


def configure(panel, optimizer="sgd", lr=0.5, batch=8, epochs=2) -> None:
    """Fill in the settings widgets as a user would."""
    panel.optimizer_box.setCurrentText(optimizer)
    panel.lr_box.setValue(lr)
    panel.batch_box.setValue(batch)
    panel.epochs_box.setValue(epochs)
    panel.schedule_box.setCurrentText("constant")
    panel.augment_box.setChecked(False)


def run_to_end(qtbot, panel) -> str:
    """Start a run and wait until its thread has been joined; returns the final state."""
    with qtbot.waitSignal(panel.run_changed, timeout=WAIT_MS,
                          check_params_cb=lambda s: s not in ("running", "paused")) as blocker:
        assert panel.start_training()
    return blocker.args[0]


def replay(controller, config, batches: int) -> dict[str, np.ndarray]:
    """Weights after exactly `batches` batches of the same run, trained synchronously."""
    net = Network.from_spec(controller.spec, seed=controller.seed, dtype=controller.dtype)
    trainer = Trainer(net, controller.dataset, replace(config, callback_interval=0.0),
                      make_optimizer(config.optimizer, lr=config.lr))

    def stop_when_done(progress):
        if trainer.history.num_batches >= batches:
            trainer.stop()

    trainer.on_progress = stop_when_done
    trainer.run()
    assert trainer.history.num_batches == batches
    return net.state_dict()


def assert_same_weights(a: dict, b: dict) -> None:
    """Equal state dicts (float32 kernels: tolerance scaled to the largest value)."""
    assert a.keys() == b.keys()
    for key in a:
        scale = max(1.0, float(np.abs(b[key]).max()))
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-5 * scale, err_msg=key)
