"""The Explain dock inside residual blocks: with a block selected, it follows the block's
inner steps, and its Computation tab draws their grids (the engine's numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import shown

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.explain_panel import ExplainPanel, pick_request


@pytest.fixture
def ctrl():
    return AppController("mini-resnet", user_weights=False)


@pytest.fixture
def panel(qtbot, ctrl):
    widget = ExplainPanel(ctrl)
    shown(qtbot, widget, 900, 600)
    return widget


def shown_grid(panel: ExplainPanel, symbol: str):
    """The NumberGrid on screen that draws the grid with this symbol."""
    return next(g for g in panel.computation.view.grids if g.grid.symbol == symbol)


def test_an_inner_conv_step_is_drawn_as_window_and_kernel_grids(panel, ctrl):
    ctrl.select_unit(4, (2, 3, 5))  # block 4's output; its inner maps are 16×14×14 too
    ctrl.run_to("F4.0")
    assert pick_request(ctrl) == ("F4.0", (0, 2, 3, 5))
    assert panel.show_tab("computation") is panel.computation
    view = panel.computation.view
    ex = panel.explanation
    assert ex.step == "F4.0" and view.figure is ex.figures["computation"]
    assert "F4.0" in view.figure.title and "body.0" in view.figure.title
    weight = ctrl.stepper.pass_params()["4.body.0.weight"]
    rec = ctrl.stepper.record("F4.0")
    np.testing.assert_array_equal(shown_grid(panel, "w[2,7]").grid.values, weight[2, 7])
    window = shown_grid(panel, "o[0,7] window").grid.values
    np.testing.assert_array_equal(window, rec.values["input"][0, 7, 2:5, 4:7])
    result = shown_grid(panel, "x[0,2,3,5]")
    assert result.isVisible() and result.cell_text(0, 0) == f"{ex.value:.4g}".replace("-", "−")
    assert ex.value == pytest.approx(float(rec.values["output"][0, 2, 3, 5]), abs=1e-5)
    panel.show_tab("animation")  # an inner conv slides its own kernel
    assert panel.animation.animation is not None


def test_batch_norm_addition_and_join_have_grids(panel, ctrl):
    ctrl.select_unit(4, (2, 3, 5))
    ctrl.run_to("F4.1")
    fig = panel.computation.view.figure
    rec = ctrl.stepper.record("F4.1")
    assert panel.explanation.step == "F4.1"
    assert shown_grid(panel, "μ_B[2]").grid.values[0, 0] == pytest.approx(
        float(rec.values["mean"][2]), rel=1e-5)
    assert fig.grid("o[0,2,3,5]").values[0, 0] == panel.explanation.value
    assert panel.result.text().count(f"o[0,2,3,5] = {panel.explanation.value:.6g}") == 1
    ctrl.run_to("B4.1")  # the result line names δ_in, not σ (the text's first line)
    assert panel.result.text().count(f"δ_in[0,2,3,5] = {panel.explanation.value:.6g}") == 1
    ctrl.reset()
    ctrl.run_to("F4")
    assert panel.explanation.step == "F4"
    np.testing.assert_array_equal(shown_grid(panel, "body[0,2]").grid.values,
                                  ctrl.stepper.record("F4").values["body_output"][0, 2])
    ctrl.run_to("B4")  # the copy: the current step, for a unit of the selected block
    assert panel.explanation.step == "B4" and shown_grid(panel, "δ_body[0,2,3,5]")
    ctrl.run_to("B4.0")
    assert panel.explanation.step == "B4.0"
    ctrl.select_unit(3, (2, 3, 5))  # the block's input: the join of both branches
    assert pick_request(ctrl) == ("B4", (0, 2, 3, 5))
    total = ctrl.stepper.record("B4.0").values["block_grad_input"][0, 2, 3, 5]
    assert shown_grid(panel, "δ_in[0,2,3,5]").grid.values[0, 0] == pytest.approx(
        float(total), rel=1e-5, abs=1e-9)


def test_a_unit_outside_an_inner_map_gets_a_hint(panel, ctrl):
    ctrl.select_unit(8, (20, 1, 1))  # block 8's output has 32 channels, F8.0's output 16
    ctrl.run_to("F8.0")
    assert panel.explanation is None
    assert "F8.0" in panel.message and "16×7×7" in panel.message
    assert "F8.0" in panel.computation.view.widget().findChildren(type(panel.header))[0].text()
