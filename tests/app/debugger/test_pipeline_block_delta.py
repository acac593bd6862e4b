"""The pipeline shows the delta of a layer followed by a residual block (the block's
backward step records no "grad_input" of its own: the sum of both branches is it)."""

from __future__ import annotations

import numpy as np

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.pipeline import PipelineView, delta_of
from cnnviz.engine.steps import input_grad_of


def test_the_delta_before_a_residual_block_is_the_sum_of_its_branches(qtbot):
    ctrl = AppController("deep-sigmoid-skip", user_weights=False)
    view = PipelineView(ctrl)
    qtbot.addWidget(view)
    assert ctrl.spec.layers[2].type == "residual"
    ctrl.run_to("B0")  # refreshes the pipeline at every step: no KeyError
    expected = input_grad_of(ctrl.stepper, 2)[0]
    assert np.array_equal(delta_of(ctrl, 1), expected)
