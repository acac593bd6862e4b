"""Issue 13 item 10: compared runs start from the same weights unless the user ticks
"continue from current weights"; each legend entry names network, optimizer, learning
rate, batch size and epochs; legends sit under the plots, never over the curves."""

# ruff: noqa: F811 - the `controller` and `panel` fixtures come from training_helpers

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from training_helpers import (  # noqa: F401 - fixtures
    WAIT_MS,
    assert_same_weights,
    configure,
    controller,
    panel,
    replay,
)

from cnnviz.core.network import Network


def click_start(qtbot, panel) -> str:
    """Press Start and wait until the run's thread has been joined; the final state."""
    with qtbot.waitSignal(panel.run_changed, timeout=WAIT_MS,
                          check_params_cb=lambda s: s not in ("running", "paused")) as blocker:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def test_compared_runs_start_from_the_same_weights(qtbot, panel, controller):
    fresh = Network.from_spec(controller.spec, seed=controller.seed, dtype=controller.dtype)
    assert_same_weights(controller.network.state_dict(), fresh.state_dict())
    configure(panel, optimizer="adam", lr=0.01, epochs=2)
    assert click_start(qtbot, panel) == "finished"
    configure(panel, optimizer="sgd", lr=0.5, epochs=2)
    assert click_start(qtbot, panel) == "finished"
    first, second = panel.compare.model.runs
    assert second.loss[0] == first.loss[0]  # same weights, same first batch: same loss
    # SGD trained from the initial weights, not on top of Adam's result
    assert_same_weights(controller.network.state_dict(),
                        replay(controller, panel.config(), len(second.loss)))
    assert panel.compare.visible_labels() == [
        "1. square · adam lr=0.01 · batch 8 · 2 epochs",
        "2. square · sgd lr=0.5 · batch 8 · 2 epochs"]


def test_continue_from_current_weights_is_explicit_and_named(qtbot, panel, controller):
    configure(panel, optimizer="sgd", lr=0.5, epochs=2)
    assert click_start(qtbot, panel) == "finished"
    qtbot.mouseClick(panel.continue_box, Qt.MouseButton.LeftButton)
    assert panel.continue_box.isChecked()
    trained = controller.network.state_dict()
    assert click_start(qtbot, panel) == "finished"
    first, continued = panel.compare.model.runs
    assert continued.continued and continued.loss[0] < first.loss[0]
    assert panel.compare.visible_labels()[1] == (
        "2. square · sgd lr=0.5 · batch 8 · 2 epochs · continued")
    # Clear runs starts a new comparison: its start is the weights of its first run
    qtbot.mouseClick(panel.compare.clear_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.continue_box, Qt.MouseButton.LeftButton)
    assert not panel.continue_box.isChecked()
    start = controller.network.state_dict()
    assert not np.array_equal(start["0.weight"], trained["0.weight"])
    assert click_start(qtbot, panel) == "finished"
    assert click_start(qtbot, panel) == "finished"
    again, fair = panel.compare.model.runs
    assert fair.loss[0] == again.loss[0] < first.loss[0]


def test_legends_sit_under_the_plots(qtbot, panel):
    configure(panel, optimizer="sgd", lr=0.5, epochs=2)
    assert click_start(qtbot, panel) == "finished"
    plots = [panel.metric_plots.loss_plot, panel.metric_plots.accuracy_plot,
             panel.grad_plot.plot, panel.compare.plot]
    for index in range(panel.tabs.count()):
        panel.tabs.setCurrentIndex(index)
        qtbot.wait(20)
    for plot in plots:
        item = plot.getPlotItem()
        legend, view = item.legend.sceneBoundingRect(), item.vb.sceneBoundingRect()
        assert item.legend.items, "the legend names the curves"
        assert legend.top() >= view.bottom(), "the legend must not cover the data"
        assert legend.bottom() <= plot.height() + 1, "the legend must be in view"
