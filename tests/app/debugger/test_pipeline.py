"""The pipeline panel: forward maps, backward deltas, current step, arrows, breakpoints."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import shown
from PySide6.QtCore import Qt

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.pipeline import INPUT, LOSS, PipelineView, region_boxes


@pytest.fixture
def ctrl():
    """The seeds' square detector (8×8 input, 4×4 conv, sigmoid, 2×2 max pool, dense 2)."""
    return AppController("square")


@pytest.fixture
def pipeline(qtbot, ctrl):
    view = PipelineView(ctrl)
    shown(qtbot, view, 1200, 420)
    return view


def test_one_column_per_layer_plus_input_and_loss(pipeline, ctrl):
    keys = list(pipeline.columns)
    assert keys == [INPUT, *range(len(ctrl.spec.layers)), LOSS]
    assert pipeline.column(0).shape_label.text() == "1×5×5"
    assert pipeline.column(4).shape_label.text() == "2"
    np.testing.assert_array_equal(pipeline.column(INPUT).thumbs.array, ctrl.input_image)
    assert all(pipeline.column(k).thumbs.array is None for k in range(5))


def test_columns_show_outputs_forward_and_deltas_backward(pipeline, ctrl):
    st = ctrl.stepper
    ctrl.run_to("F4")
    for layer in range(5):
        np.testing.assert_array_equal(pipeline.column(layer).thumbs.array,
                                      st.record(f"F{layer}").values["output"][0])
        assert pipeline.column(layer).mode == "output"
    assert pipeline.arrows[4].text() == "→"
    ctrl.run_to("L")
    np.testing.assert_array_equal(pipeline.column(4).thumbs.array,
                                  st.record("L").values["grad_logits"][0])
    ctrl.run_to("B2")  # the delta has reached the output of layer 1 (the sigmoid)
    np.testing.assert_array_equal(pipeline.column(1).thumbs.array,
                                  st.record("B2").values["grad_input"][0])
    assert pipeline.column(1).mode == "delta"
    assert pipeline.column(0).mode == "output"
    assert all(arrow.text() == "←" for arrow in pipeline.arrows)


def test_current_step_is_framed_and_its_arrow_highlighted(pipeline, ctrl):
    ctrl.run_to("F2")
    assert pipeline.current_keys() == [2]
    assert "3px" in pipeline.column(2).styleSheet()
    assert "1px" in pipeline.column(1).styleSheet()
    accent = pipeline.colors.accent
    assert accent in pipeline.arrows[2].styleSheet()  # the arrow into layer 2
    assert accent not in pipeline.arrows[1].styleSheet()
    ctrl.step()
    ctrl.step()
    ctrl.step()  # L
    assert pipeline.current_keys() == [LOSS]
    ctrl.run_pass()  # U: every layer with parameters
    assert pipeline.current_keys() == [0, 4]


def test_clicking_a_thumbnail_selects_that_unit_and_outlines_its_receptive_field(
        pipeline, ctrl, qtbot):
    ctrl.run_to("F2")
    thumbs = pipeline.column(2).thumbs
    qtbot.mouseClick(thumbs, Qt.MouseButton.LeftButton, pos=thumbs.pos_of((0, 1, 0)))
    assert ctrl.selection.layer == 2 and ctrl.selection.unit == (0, 1, 0)
    assert thumbs.marks == [(0, 1, 0)]
    field = ctrl.stepper.receptive_field(2, (0, 1, 0))
    assert pipeline.column(INPUT).thumbs.outlines == region_boxes(field["input"])
    assert pipeline.column(0).thumbs.outlines == region_boxes(field[0])
    # max pool 2×2 over a 4×4 conv on 8×8: output row 1, col 0 sees input rows 2..7, cols 0..4
    assert pipeline.column(INPUT).thumbs.outlines == [(0, 2, 7, 0, 5)]


def test_breakpoint_markers_and_context_menu_entries(pipeline, ctrl, qtbot):
    marker = pipeline.column(3).markers["F3"]
    qtbot.mouseClick(marker, Qt.MouseButton.LeftButton)
    assert "F3" in ctrl.stepper.breakpoints and marker.isChecked()
    assert marker.text().startswith("●")
    qtbot.mouseClick(marker, Qt.MouseButton.LeftButton)
    assert "F3" not in ctrl.stepper.breakpoints and not marker.isChecked()
    assert pipeline.column(LOSS).step_names() == ["L"]
    assert pipeline.column(INPUT).step_names() == []


def test_a_new_spec_rebuilds_the_columns(pipeline, ctrl):
    spec = ctrl.spec.to_dict()
    spec["layers"].insert(4, {"type": "dense", "units": 3})
    spec["layers"].insert(5, {"type": "relu"})
    assert ctrl.set_spec(spec)
    assert list(pipeline.columns) == [INPUT, *range(7), LOSS]
    assert pipeline.column(4).shape_label.text() == "3"
