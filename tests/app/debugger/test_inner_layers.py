"""Issue 12 in the window: the inspector, the explain panel and the selection follow the
inner layers of residual blocks (mini-resnet: "4.body.0" runs as F4.0 / B4.0), driven
through the real widgets — F10 / Shift+F10 and clicks on the pipeline's maps."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import preset_window
from PySide6.QtCore import Qt

from cnnviz.app.debugger.inspector import weight_stack
from cnnviz.app.debugger.pipeline import INPUT
from cnnviz.app.debugger.targets import Target
from cnnviz.app.shell.main_window import MainWindow


@pytest.fixture
def win(qtbot, settings, dialogs) -> MainWindow:
    """A shown, active main window on mini-resnet with fresh weights."""
    window = preset_window(qtbot, settings, "mini-resnet", active=True)
    return window


def press(qtbot, win: MainWindow, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier,
          until: str | None = None) -> None:
    """A key press on the window (F10, Shift+F10), waiting until that step is current."""
    qtbot.keyClick(win, key, modifier)
    if until is not None:
        qtbot.waitUntil(lambda: getattr(win.ctrl.stepper.current, "name", None) == until)


def click_map(qtbot, win: MainWindow, key, unit: tuple) -> None:
    """A real click on a unit of a pipeline column's thumbnails."""
    thumbs = win.panels["pipeline"].column(key).thumbs
    qtbot.mouseClick(thumbs, Qt.MouseButton.LeftButton, pos=thumbs.pos_of(unit))


def shown(inspector, tab: str) -> np.ndarray:
    return inspector.show_tab(tab).shown_maps()


def test_stepping_into_a_block_the_inspector_shows_the_inner_layer(win, qtbot):
    ctrl, inspector = win.ctrl, win.panels["inspector"]
    ctrl.run_to("F3")
    press(qtbot, win, Qt.Key.Key_F10, until="F4.0")
    assert inspector.target() == Target(4, "body.0")
    assert "Layer 4.body.0 conv2d" in inspector.title.text()
    assert "F4.0" in inspector.title.text()
    np.testing.assert_array_equal(shown(inspector, "maps"),
                                  ctrl.stepper.record("F4.0").values["output"][0])
    np.testing.assert_array_equal(shown(inspector, "input"),
                                  ctrl.stepper.record("F3").values["output"][0])
    conv = ctrl.network.layers[4].body[0].params["weight"]
    np.testing.assert_array_equal(shown(inspector, "filters"), weight_stack(conv)[0])
    inspector.show_tab("maps")
    press(qtbot, win, Qt.Key.Key_F10, until="F4.1")
    assert "Layer 4.body.1 batchnorm2d" in inspector.title.text()
    np.testing.assert_array_equal(inspector.views["maps"].shown_maps(),
                                  ctrl.stepper.record("F4.1").values["output"][0])
    ctrl.run_to("B4.4")
    press(qtbot, win, Qt.Key.Key_F10, until="B4.3")
    assert inspector.target() == Target(4, "body.3")
    assert inspector.tabs.tabText(inspector.tabs.currentIndex()) == "Deltas"
    np.testing.assert_array_equal(inspector.views["deltas"].shown_maps(),
                                  ctrl.stepper.record("B4.4").values["grad_input"][0])
    grad = ctrl.stepper.record("B4.3").values["grad_weight"]
    np.testing.assert_array_equal(shown(inspector, "wgrads"), weight_stack(grad)[0])
    press(qtbot, win, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier, until="B4.4")
    assert inspector.target() == Target(4, "body.4")  # back in time, back a layer
    press(qtbot, win, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier, until="B4")
    assert inspector.target() == Target(4) and "Layer 4 residual" in inspector.title.text()
    # the addition: the block itself again


def test_a_click_on_an_inner_map_selects_that_inner_layer_and_unit(win, qtbot):
    ctrl, inspector, explain = win.ctrl, win.panels["inspector"], win.panels["explain"]
    pipeline = win.panels["pipeline"]
    ctrl.run_to("F4.2")
    click_map(qtbot, win, "4.1", (2, 5, 6))
    sel = ctrl.selection
    assert (sel.layer, sel.inner, sel.unit) == (4, "body.1", (2, 5, 6))
    assert inspector.target() == Target(4, "body.1")
    maps = inspector.show_tab("maps")
    assert (5.0, 6.0) in {(r.y() - maps.mosaic.origin(2)[0], r.x() - maps.mosaic.origin(2)[1])
                          for r in maps.overlays()}  # the selected unit is outlined
    ex = explain.explanation
    assert ex is not None and ex.step == "F4.1" and ex.unit == (0, 2, 5, 6)
    recorded = float(ctrl.stepper.record("F4.1").values["output"][0, 2, 5, 6])
    assert ex.value == pytest.approx(recorded, rel=1e-5, abs=1e-6)
    assert "layer 4.body.1 unit [2,5,6]" in win.unit_label.text()
    assert pipeline.column("4.1").thumbs.marks == [(2, 5, 6)]
    assert pipeline.column("4.1").thumbs.outlines == []
    assert pipeline.column("4.0").thumbs.outlines and pipeline.column(3).thumbs.outlines
    assert pipeline.column(INPUT).thumbs.outlines
    ctrl.run_to("F6.s1")
    click_map(qtbot, win, "6.s0", (7, 1, 2))  # the projection shortcut's 1×1 conv
    assert (sel.layer, sel.inner, sel.unit) == (6, "shortcut.0", (7, 1, 2))
    assert explain.explanation.step == "F6.s0"
    assert "6.shortcut.0 conv2d" in inspector.title.text()
    click_map(qtbot, win, 4, (1, 2, 3))  # the ⊕ column: the block's own output
    assert (sel.layer, sel.inner, sel.unit) == (4, None, (1, 2, 3))
    assert explain.explanation.step == "F4"
    click_map(qtbot, win, 3, (0, 1, 1))  # a top-level layer as before
    assert (sel.layer, sel.inner, sel.unit) == (3, None, (0, 1, 1))
    assert inspector.target() == Target(3) and explain.explanation.step == "F3"


def test_backward_the_explain_panel_gives_an_inner_units_delta(win, qtbot):
    ctrl, explain = win.ctrl, win.panels["explain"]
    ctrl.run_to("B4.3")
    click_map(qtbot, win, "4.2", (3, 4, 5))
    ex = explain.explanation  # δ of 4.body.2's output = the input delta of B4.3
    assert ex.step == "B4.3" and ex.unit == (0, 3, 4, 5)
    assert ex.recorded == pytest.approx(
        float(ctrl.stepper.record("B4.3").values["grad_input"][0, 3, 4, 5]))
    ctrl.run_to("B4")
    click_map(qtbot, win, "4.4", (3, 4, 5))  # the body's last layer: the addition's copy
    assert explain.explanation.step == "B4"
    ctrl.run_to("B4.0")  # the paths have joined: the δ of the block's output, from B5
    assert explain.explanation.step == "B5"
    ctrl.reset()
    ctrl.run_to("B4")
    click_map(qtbot, win, 3, (3, 4, 5))  # the block's input: δ only once the paths joined
    assert explain.explanation.step == "F3"
    ctrl.run_to("B4.0")
    ex = explain.explanation
    assert ex.step == "B4" and ex.recorded == pytest.approx(
        float(ctrl.stepper.record("B4.0").values["block_grad_input"][0, 3, 4, 5]))


def test_inspector_clicks_inside_a_block_select_inner_units_and_weights(win, qtbot):
    ctrl, inspector, explain = win.ctrl, win.panels["inspector"], win.panels["explain"]
    ctrl.run_to("F4.1")
    view = inspector.show_tab("input")  # 4.body.1 reads 4.body.0's output
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.widget_pos_of((1, 2, 3)))
    sel = ctrl.selection
    assert (sel.layer, sel.inner, sel.unit) == (4, "body.0", (1, 2, 3))
    assert inspector.target() == Target(4, "body.1")  # the inspector stays
    ctrl.select_layer(4, "body.0")
    view = inspector.show_tab("input")  # 4.body.0 reads layer 3, before the block
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.widget_pos_of((2, 1, 1)))
    assert (sel.layer, sel.inner, sel.unit) == (3, None, (2, 1, 1))
    ctrl.select_layer(4, "body.0")
    filters = inspector.show_tab("filters")
    qtbot.mouseClick(filters.viewport(), Qt.MouseButton.LeftButton,
                     pos=filters.widget_pos_of((5 * 16 + 2, 1, 0)))  # w[5,2,1,0]
    assert ctrl.weight_focus == (4, (5, 2, 1, 0)) and sel.inner == "body.0"
    ctrl.run_to("B4.0")
    ex = explain.explanation
    assert ex.step == "B4.0" and ex.recorded == pytest.approx(
        float(ctrl.stepper.record("B4.0").values["grad_weight"][5, 2, 1, 0]))
    ctrl.run_to("U")
    ex = explain.explanation
    assert ex.step == "U" and ex.unit == ("4.body.0.weight", (5, 2, 1, 0))
    assert ex.recorded == pytest.approx(
        float(ctrl.stepper.record("U").values["4.body.0.weight_after"][5, 2, 1, 0]))
    ctrl.select_layer(3)  # another layer: the focus does not follow
    assert ctrl.weight_focus is None
