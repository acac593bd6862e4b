"""The training dock with the trainer's share worker process on (tests elsewhere keep it
off): the run uses the worker, the window keeps its event loop turning, and the weights
are those of the same run with every share in the app's process."""

# ruff: noqa: F811 - the `controller` and `panel` fixtures come from training_helpers

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QElapsedTimer, QTimer
from share_workers import workers  # noqa: F401 — the fixture
from training_helpers import configure, controller, panel, run_to_end  # noqa: F401

from cnnviz.core import parallel_step
from cnnviz.core import share_processes as SP
from cnnviz.core.network import Network


def test_the_dock_trains_with_the_worker_process_and_stays_responsive(
        qtbot, workers, panel, controller, monkeypatch):
    start = controller.network.state_dict()
    assert parallel_step.prepare(controller.network, 8, timeout=120)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    configure(panel, batch=8, epochs=10)
    clock = QElapsedTimer()
    clock.start()
    assert run_to_end(qtbot, panel) == "finished"
    elapsed_ms = clock.elapsed()
    timer.stop()
    batches = controller.history.num_batches
    assert SP._WORKERS[0].steps == batches > 0
    # the event loop kept turning: a 20 ms timer fired at least once per 100 ms of the run
    assert len(ticks) >= elapsed_ms // 100

    monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", "0")
    same = Network.from_spec(controller.spec, seed=controller.seed, dtype=controller.dtype)
    same.load_state_dict(start)
    from cnnviz.engine.trainer import Trainer

    Trainer(same, controller.dataset, panel.config()).run()
    for name, array in same.state_dict().items():
        np.testing.assert_array_equal(controller.network.state_dict()[name], array)


def test_a_batch_norm_network_trains_in_the_dock_with_the_worker(qtbot, workers):
    """rgb-shapes (batch norm): the shares exchange their statistics across processes."""
    from cnnviz.app.controller import AppController
    from cnnviz.app.training.panel import TrainingPanel
    from cnnviz.data.shapes_rgb import make_color_shapes

    controller = AppController("rgb-shapes", user_weights=False)
    controller.set_dataset(make_color_shapes(n=120, seed=1))
    panel = TrainingPanel(controller)
    qtbot.addWidget(panel)
    try:
        assert parallel_step.prepare(controller.network, 16, timeout=120)
        configure(panel, optimizer="adam", lr=0.01, batch=16, epochs=2)
        assert run_to_end(qtbot, panel) == "finished"
        assert SP._WORKERS[0].steps == controller.history.num_batches > 0
        assert all(np.isfinite(a).all() for a in controller.network.state_dict().values())
    finally:
        panel.shutdown()
