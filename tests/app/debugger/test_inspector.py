"""The inspector: clicking units, receptive fields, pool winners, filters, colour maps, hover."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import shown
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.explain_panel import ExplainPanel
from cnnviz.app.debugger.inspector import Inspector
from cnnviz.app.debugger.pipeline import INPUT, PipelineView, region_boxes
from cnnviz.app.widgets.colormaps import DIVERGING, SEQUENTIAL


@pytest.fixture
def ctrl():
    return AppController("square")


@pytest.fixture
def panels(qtbot, ctrl):
    """Inspector, explain panel and pipeline side by side on one controller."""
    splitter = QSplitter()
    inspector, explain, pipeline = Inspector(ctrl), ExplainPanel(ctrl), PipelineView(ctrl)
    for widget in (inspector, explain, pipeline):
        splitter.addWidget(widget)
    shown(qtbot, splitter, 1500, 600)
    ctrl.test_container = splitter  # keep the splitter alive (qtbot holds a weak reference)
    return inspector, explain, pipeline


def click_unit(qtbot, view, unit) -> None:
    """A real mouse click on the pixel of a unit in a MapView."""
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.widget_pos_of(unit))


def test_clicking_a_feature_map_unit_explains_it_and_outlines_its_field(panels, ctrl, qtbot,
                                                                        artifacts_dir):
    inspector, explain, pipeline = panels
    ctrl.run_to("F0")
    ctrl.select_layer(0)
    view = inspector.show_tab("maps")
    np.testing.assert_array_equal(view.shown_maps(), ctrl.stepper.current.values["output"][0])
    click_unit(qtbot, view, (0, 3, 1))
    assert ctrl.selection.layer == 0 and ctrl.selection.unit == (0, 3, 1)
    expected = ctrl.stepper.explain("F0", (0, 0, 3, 1))
    assert explain.explanation.text == expected.text
    assert explain.explanation.value == pytest.approx(expected.value)
    assert f"{expected.value:.6g}" in explain.browser.toPlainText()
    # the formula's numbers are the engine's: Σ w·o + b over the 4×4 window
    w = ctrl.network.layers[0].params["weight"][0, 0].astype(np.float64)
    x = ctrl.input_image[0, 3:7, 1:5].astype(np.float64)
    b = float(ctrl.network.layers[0].params["bias"][0])
    assert expected.value == pytest.approx(float((w * x).sum() + b), rel=1e-5)
    field = ctrl.stepper.receptive_field(0, (0, 3, 1))
    assert pipeline.column(INPUT).thumbs.outlines == region_boxes(field["input"])
    assert region_boxes(field["input"]) == [(0, 3, 7, 1, 5)]
    # the input cells of the formula are highlighted in the inspector's input tab
    inp = inspector.show_tab("input")
    cells = {(int(r.y()), int(r.x())) for r in inp.overlays()}
    assert cells == {(i, j) for i in range(3, 7) for j in range(1, 5)}
    inspector.grab().save(str(artifacts_dir / "inspector_square_input_cells.png"))


def test_pooling_winner_view_marks_the_engine_argmax(panels, ctrl, qtbot, artifacts_dir):
    inspector, _explain, _pipeline = panels
    ctrl.run_to("F2")
    ctrl.select_layer(2)
    view = inspector.show_tab("winners")
    rec = ctrl.stepper.record("F2")
    pool_in, argmax = rec.values["input"][0, 0], rec.values["argmax"][0, 0]
    W = pool_in.shape[1]
    expected = {(int(f) // W, int(f) % W) for f in argmax.ravel()}
    marked = {(int(r.y()), int(r.x())) for r in view.overlays()}
    assert marked == expected
    for oi in range(argmax.shape[0]):  # each winner is the max of its own 2×2 window
        for oj in range(argmax.shape[1]):
            i, j = divmod(int(argmax[oi, oj]), W)
            window = pool_in[2 * oi: 2 * oi + 2, 2 * oj: 2 * oj + 2]
            assert pool_in[i, j] == window.max()
    inspector.grab().save(str(artifacts_dir / "inspector_square_pool_winners.png"))
    ctrl.run_to("B2")  # backward: the gradient goes to the winners only
    shown = view.shown_maps()[0]
    np.testing.assert_array_equal(shown, ctrl.stepper.record("B2").values["grad_input"][0, 0])
    nonzero = {tuple(int(v) for v in p) for p in np.argwhere(shown != 0)}
    assert nonzero <= expected and nonzero
    assert {(int(r.y()), int(r.x())) for r in view.overlays()} == expected


def test_filters_show_the_weights_and_a_click_focuses_one_for_the_update(panels, ctrl, qtbot):
    inspector, explain, _pipeline = panels
    ctrl.select_layer(0)
    view = inspector.show_tab("filters")
    weight = ctrl.network.layers[0].params["weight"]
    np.testing.assert_array_equal(view.shown_maps()[0], weight[0, 0])
    assert view.colormap is DIVERGING
    np.testing.assert_array_equal(view.colorbar.colorMap().getLookupTable(nPts=16),
                                  DIVERGING.getLookupTable(nPts=16))
    lo, hi = view.colorbar.levels()
    assert lo == pytest.approx(-hi)  # centred on zero
    click_unit(qtbot, view, (0, 2, 3))
    assert ctrl.weight_focus == (0, (0, 0, 2, 3))
    ctrl.run_pass()  # U ran: the panel explains that weight's update
    assert explain.explanation.step == "U"
    expected = ctrl.stepper.explain("U", ("0.weight", (0, 0, 2, 3)))
    assert explain.explanation.text == expected.text
    after = ctrl.stepper.record("U").values["0.weight_after"][0, 0]
    np.testing.assert_array_equal(view.shown_maps()[0], after)


def test_activations_use_the_sequential_map_and_hover_shows_the_exact_value(panels, ctrl):
    inspector, _explain, _pipeline = panels
    ctrl.run_to("F1")
    ctrl.select_layer(1)  # sigmoid outputs: all positive
    view = inspector.show_tab("maps")
    assert view.colormap is SEQUENTIAL
    out = ctrl.stepper.record("F1").values["output"][0]
    scene = view.mapToScene(view.widget_pos_of((0, 2, 4)))
    view.scene().sigMouseMoved.emit(scene)
    assert f"{float(out[0, 2, 4]):.6g}" in view.readout.text
    ctrl.run_to("B0")
    view = inspector.show_tab("deltas")
    assert view.colormap is DIVERGING
    np.testing.assert_array_equal(view.shown_maps(),
                                  ctrl.stepper.record("B2").values["grad_input"][0])


def test_dense_layers_are_vertical_strips_with_unit_clicks(panels, ctrl, qtbot):
    inspector, explain, _pipeline = panels
    ctrl.run_to("F4")
    ctrl.select_layer(4)
    view = inspector.show_tab("maps")
    assert view.vector and view.image_data().shape == (2, 1)
    click_unit(qtbot, view, (1,))
    assert ctrl.selection.unit == (1,)
    assert explain.explanation.step == "F4"
    assert explain.explanation.recorded == pytest.approx(
        float(ctrl.stepper.record("F4").values["output"][0, 1]))
