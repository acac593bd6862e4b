"""Block networks in the window: δ lookups past a block, and predictions that leave the
network's state (running statistics, dropout masks, mode) untouched."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.app.controller import AppController
from cnnviz.app.controller.status import unit_delta, unit_status
from cnnviz.app.debugger.pipeline import INPUT, column_content, delta_of
from cnnviz.core.network import Network
from cnnviz.engine.steps import input_grad_of


@pytest.mark.parametrize("preset", ["mini-resnet", "lenet5-dropout"])
def test_a_pass_stepped_after_predictions_equals_run_pass(preset):
    ctrl = AppController(preset, user_weights=False)
    direct = Network.from_spec(ctrl.spec, seed=ctrl.seed, dtype=ctrl.dtype)
    x, y = ctrl.stepper.x.copy(), ctrl.stepper.y.copy()
    for _ in range(3):  # the prediction panel asks before, during and after the pass
        ctrl.probabilities()
    assert ctrl.network.training
    ctrl.run_to("L")
    ctrl.probabilities()
    ctrl.run_pass()
    ctrl.probabilities()  # after U: a forward pass with the new weights
    assert ctrl.network.training
    p = direct.run_pass(x, y)
    st = ctrl.stepper
    for i in range(len(direct.layers)):
        np.testing.assert_array_equal(st.record(f"F{i}").values["output"], p.outputs[i])
    np.testing.assert_array_equal(input_grad_of(st, 0), p.input_grad)
    ctrl.optimizer.__class__(**ctrl.optimizer.hyperparams).step(direct.params(), p.grads)
    for key, value in direct.state_dict().items():  # weights and running statistics
        np.testing.assert_array_equal(ctrl.network.state_dict()[key], value, err_msg=key)
    assert ctrl.network.rng.bit_generator.state == direct.rng.bit_generator.state


def test_predictions_keep_eval_mode_too():
    ctrl = AppController("lenet5-dropout", user_weights=False)
    ctrl.network.eval()
    ctrl.probabilities()
    assert not ctrl.network.training


def test_deltas_past_a_block_read_the_sum_of_both_branches():
    ctrl = AppController("mini-resnet", user_weights=False)
    ctrl.select_unit(3, (0, 1, 1))
    ctrl.run_to("B4")  # the addition ran; the branches not yet: no δ for layer 3
    assert delta_of(ctrl, 3) is None
    assert unit_delta(ctrl.stepper, 3, (0, 0, 1, 1), last=False) is None
    ctrl.run_to("B3")
    joined = ctrl.stepper.record("B4.0").values["block_grad_input"]
    np.testing.assert_array_equal(delta_of(ctrl, 3), joined[0])
    assert unit_delta(ctrl.stepper, 3, (0, 0, 1, 1), last=False) == float(joined[0, 0, 1, 1])
    assert "δ = " in unit_status(ctrl.stepper, ctrl.spec, ctrl.selection)
    assert column_content(ctrl, 3)[1] == "delta"


def test_the_input_column_takes_the_first_block_input_gradient():
    ctrl = AppController("deep-sigmoid-skip", user_weights=False)
    ctrl.run_pass()
    array, mode, _ = column_content(ctrl, INPUT)
    assert mode == "delta"
    np.testing.assert_array_equal(array, input_grad_of(ctrl.stepper, 0)[0])
