"""The stepper on a network with blocks, batch norm and dropout (each block one step for
now: its inner steps come later). Stepping equals run_pass plus the update."""

from __future__ import annotations

import numpy as np

from cnnviz.core import Network
from cnnviz.core.optim import Adam
from cnnviz.engine import Stepper

# a stem with batch norm, an identity block with dropout, a flat head
BLOCKS = {"input": [3, 6, 6], "layers": [
    {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1}, {"type": "batchnorm2d"},
    {"type": "residual", "body": [{"type": "conv2d", "out_channels": 3, "kernel_size": 3,
                                   "padding": 1}, {"type": "relu"}, {"type": "dropout", "p": 0.4}]},
    {"type": "flatten"}, {"type": "dense", "units": 3}]}


def test_a_stepped_pass_equals_run_pass_and_the_update():
    stepped, direct = (Network.from_spec(BLOCKS, seed=5, dtype="float64") for _ in range(2))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 3, 6, 6)), np.array([0, 2, 1])
    st = Stepper(stepped, x, y, Adam(lr=0.01))
    st.run_all()
    p = direct.run_pass(x, y)  # same seed: the same dropout mask
    opt = Adam(lr=0.01)
    opt.step(direct.params(), p.grads)
    assert st.steps == ["F0", "F1", "F2", "F3", "F4", "L", "B4", "B3", "B2", "B1", "B0", "U"]
    for i in range(5):
        np.testing.assert_array_equal(st.record(f"F{i}").values["output"], p.outputs[i])
    np.testing.assert_array_equal(st.record("B0").values["grad_input"], p.input_grad)
    assert "grad_body.0.weight" in st.record("B2").values
    for name, value in direct.state_dict().items():
        np.testing.assert_array_equal(stepped.state_dict()[name], value)
