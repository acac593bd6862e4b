"""The pipeline on residual networks: lanes, the ⊕ column, inner steps, split and join of δ."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import shown
from PySide6.QtCore import QPoint

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.pipeline import PipelineView


@pytest.fixture(scope="module")
def ctrl():
    return AppController("mini-resnet", user_weights=False)


@pytest.fixture
def pipeline(qtbot, ctrl):
    ctrl.reset()
    view = PipelineView(ctrl)
    shown(qtbot, view, 1200, 420)
    return view


def _in_view(view: PipelineView, key) -> bool:
    column = view.column(key)
    left = column.mapTo(view.widget(), QPoint(0, 0)).x()
    bar = view.horizontalScrollBar().value()
    return bar <= left and left + column.width() <= bar + view.viewport().width()


def test_a_block_is_its_body_lane_its_shortcut_path_and_an_addition_column(pipeline):
    assert set(pipeline.blocks) == {4, 6, 8}
    identity, projection = pipeline.blocks[4], pipeline.blocks[6]
    assert list(identity.columns) == [f"4.{j}" for j in range(5)]
    assert "identity" in identity.fillers["shortcut"].text and not identity.projection
    assert list(projection.columns)[-2:] == ["6.s0", "6.s1"] and projection.projection
    assert "1×1" in pipeline.column("6.s0").title.text()
    # the shortcut path runs above the body, the ⊕ column after both
    shortcut, body = projection.lanes["shortcut"], projection.lanes["body"]
    assert shortcut.geometry().bottom() <= body.geometry().top()
    assert pipeline.column(6) is projection.add_column and "⊕" in pipeline.column(6).title.text()
    add_left = projection.add_column.geometry().left()
    assert all(col.mapTo(projection, QPoint(0, 0)).x() < add_left
               for col in projection.columns.values())
    assert set(pipeline.column("6.s0").markers) == {"F6.s0", "B6.s0"}


def test_inner_steps_frame_their_own_columns_and_stay_in_view(pipeline, ctrl):
    ctrl.run_to("F4.2")
    assert pipeline.current_keys() == ["4.2"]
    assert "3px" in pipeline.column("4.2").styleSheet()
    np.testing.assert_array_equal(pipeline.column("4.2").thumbs.array,
                                  ctrl.stepper.record("F4.2").values["output"][0])
    assert _in_view(pipeline, "4.2")
    ctrl.run_to("B6.s0")
    assert pipeline.current_keys() == ["6.s0"] and _in_view(pipeline, "6.s0")


def test_backward_the_delta_splits_at_the_addition_and_joins_at_the_block_input(pipeline, ctrl):
    ctrl.run_to("B4")
    block = pipeline.blocks[4]
    assert block.join.active and not block.fork.active
    assert block.fillers["shortcut"].active  # the identity path is lit too
    assert all("3px" in lane.styleSheet() for lane in block.lanes.values())
    assert "splits" in block.caption.text()
    rec = ctrl.stepper.record("B4")
    np.testing.assert_array_equal(pipeline.column("4.4").thumbs.array,
                                  rec.values["grad_body_output"][0])
    assert pipeline.column("4.4").mode == "delta" and pipeline.column(3).mode == "output"
    ctrl.run_to("B4.3")  # inside the body: only the body lane is lit
    assert block.active_paths(ctrl.stepper.current) == {"body"}
    np.testing.assert_array_equal(pipeline.column("4.2").thumbs.array,
                                  ctrl.stepper.record("B4.3").values["grad_input"][0])
    ctrl.run_to("B4.0")
    assert block.fork.active and not block.join.active and "join" in block.caption.text()
    joined = ctrl.stepper.record("B4.0").values["block_grad_input"][0]
    np.testing.assert_array_equal(pipeline.column(3).thumbs.array, joined)
    assert pipeline.column(3).mode == "delta"
    assert pipeline.arrow_of["4.0"].text() == "←"
    assert pipeline.colors.accent in pipeline.arrow_of["4.0"].styleSheet()


def test_a_projection_shortcut_path_lights_its_own_lane(pipeline, ctrl):
    ctrl.run_to("F6.s1")
    block = pipeline.blocks[6]
    assert block.active_paths(ctrl.stepper.current) == {"shortcut"}
    assert not block.fillers["body"].active and block.fillers["shortcut"].active
    ctrl.run_to("F6")
    assert block.join.active and "meet" in block.caption.text()


def test_shared_and_log_scales_span_the_inner_columns_too(pipeline, ctrl):
    ctrl.run_to("B4.0")
    pipeline.set_scale("shared")
    deltas = [key for key, col in pipeline.columns.items() if col.mode == "delta"]
    assert "4.1" in deltas and len(deltas) > 5
    levels = {pipeline.column(key)._drawn for key in deltas}
    assert len(levels) == 1  # one range for every δ column, inner ones included
    pipeline.set_scale("log")
    assert pipeline.column("4.1").thumbs.images


def test_update_frames_every_layer_with_weights_inside_blocks_too(pipeline, ctrl):
    ctrl.run_pass()
    keys = pipeline.current_keys()
    assert "6.s0" in keys and "4.0" in keys and 0 in keys and 12 in keys
    assert 4 not in keys and 2 not in keys  # the ⊕ column and a relu have no weights
