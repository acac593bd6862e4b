"""Issue 13's window defects in the debugger docks, each driven through the real widgets:
theme switches reach every pyqtgraph item, the current column stays in view, every inspector
map selects a unit, shared and log colour scales, and the smaller rough edges."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from gui_helpers import preset_window, shown
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.color_scales import log_magnitude
from cnnviz.app.debugger.inspector import Inspector, tied_windows, winner_cells
from cnnviz.app.debugger.pipeline import INPUT, LOSS, PipelineView
from cnnviz.app.debugger.prediction import ProbabilityBars
from cnnviz.app.shell.main_window import MainWindow
from cnnviz.app.widgets.mapview import MapView
from cnnviz.app.widgets.theme import DARK, LIGHT


def window(qtbot, settings, preset: str, size=(1440, 900)) -> MainWindow:
    """A shown main window on a preset with fresh weights."""
    win = preset_window(qtbot, settings, preset, *size)
    return win


def click(qtbot, view: MapView, unit: tuple) -> None:
    """A real mouse click on a unit's pixel of a MapView."""
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.widget_pos_of(unit))


def axis_text_colors(view: pg.GraphicsView) -> set[str]:
    """The text colours of every axis in a pyqtgraph view."""
    return {item.textPen().color().name() for item in view.scene().items()
            if isinstance(item, pg.AxisItem) and item.isVisible()}


# ----- 11: a theme switch at runtime reaches every pyqtgraph item ----------------------------

def test_switching_to_dark_at_runtime_recolours_every_colour_bar_and_axis(qtbot, settings,
                                                                          dialogs):
    win = window(qtbot, settings, "square")
    win.ctrl.run_to("F0")
    win.apply_theme("dark")
    views = [v for v in win.findChildren(pg.GraphicsView) if axis_text_colors(v)]
    assert len(views) >= 3  # inspector tabs, the input's colour bar, training plots
    for view in views:
        assert axis_text_colors(view) == {QApplication.palette().text().color().name()} \
            == {DARK.text}, view.objectName()
        assert view.backgroundBrush().color().name() == DARK.panel
    win.apply_theme("light")
    assert all(axis_text_colors(v) == {LIGHT.text} for v in views)


# ----- 12: the current step's column stays in view -------------------------------------------

def test_the_loss_column_is_in_view_at_step_l_and_the_current_column_at_every_step(
        qtbot, settings, dialogs):
    win = window(qtbot, settings, "lenet5")
    pipeline: PipelineView = win.panels["pipeline"]
    bar = pipeline.horizontalScrollBar()
    for step in ["F0", "F5", "F11", "L", "B11", "B6", "B0"]:
        win.ctrl.run_to(step)
        qtbot.wait(1)
        key = pipeline.current_keys()[0]
        column = pipeline.column(key)
        left, right = column.x() - bar.value(), column.x() + column.width() - bar.value()
        assert left >= 0 and right <= pipeline.viewport().width(), (step, left, right)
        if step == "L":
            assert key == LOSS


# ----- 13: every map in the inspector selects a unit ------------------------------------------

def test_clicks_on_the_input_and_winners_tabs_select_a_unit_of_the_previous_layer(qtbot):
    ctrl = AppController("square", user_weights=False)
    inspector = Inspector(ctrl)
    shown(qtbot, inspector, 700, 600)
    ctrl.run_to("B2")
    ctrl.select_layer(2)  # the max pool
    view = inspector.show_tab("winners")
    click(qtbot, view, (0, 1, 2))
    assert ctrl.selection.layer == 1 and ctrl.selection.unit == (0, 1, 2)
    assert inspector.layer() == 2  # the inspector stays on the pool
    assert (1, 2) in {(int(r.y()), int(r.x())) for r in view.overlays()}
    view = inspector.show_tab("input")
    click(qtbot, view, (0, 3, 0))
    assert ctrl.selection.layer == 1 and ctrl.selection.unit == (0, 3, 0)
    assert inspector.layer() == 2
    ctrl.select_layer(0)  # the first layer's input is the network input: a status line
    messages = []
    ctrl.status_changed.connect(messages.append)
    click(qtbot, inspector.show_tab("input"), (0, 4, 5))
    assert messages and messages[-1].startswith("network input x[0,4,5] = ")


# ----- 14: shared and log colour scales --------------------------------------------------------

def test_shared_and_log_scales_make_small_deltas_look_small(qtbot):
    ctrl = AppController("deep-sigmoid", user_weights=False)
    pipeline = PipelineView(ctrl)
    qtbot.addWidget(pipeline)
    pipeline.resize(1400, 400)
    ctrl.run_to("B0")
    deltas = {k: c for k, c in pipeline.columns.items() if c.mode == "delta" and k != INPUT}
    norms = {k: float(np.abs(c.source).max()) for k, c in deltas.items()}
    small, big = min(norms, key=norms.get), max(norms, key=norms.get)
    assert norms[big] > 50 * norms[small]  # the gradients vanish towards the input
    saturation = {}
    for scale in ("column", "shared", "log"):
        pipeline.scale_box.setCurrentIndex(["column", "shared", "log"].index(scale))
        assert pipeline.scale == scale
        images = {k: pipeline.column(k).thumbs.images for k in (small, big)}
        saturation[scale] = {k: _max_colour_distance(images[k]) for k in images}
    # per column both look equally strong; on a shared scale the small one is nearly white
    assert saturation["column"][small] == pytest.approx(saturation["column"][big], rel=0.2)
    assert saturation["shared"][small] < 0.2 * saturation["shared"][big]
    assert "shared" in pipeline.column(small).mode_label.text()
    # on the log scale the small deltas are drawn, and the label says log
    log_small = pipeline.column(small).thumbs.array
    np.testing.assert_allclose(log_small, log_magnitude(deltas[small].source))
    assert pipeline.column(small).mode_label.text().startswith("log₁₀|δ|")


def _max_colour_distance(images) -> float:
    """How far the most saturated pixel of some thumbnails is from white (0…441)."""
    best = 0.0
    for image in images:
        for y in range(image.height()):
            for x in range(image.width()):
                c = image.pixelColor(x, y)
                best = max(best, float(np.linalg.norm(
                    [255 - c.red(), 255 - c.green(), 255 - c.blue()])))
    return best


# ----- 16: the smaller rough edges -----------------------------------------------------------

def test_an_empty_view_shows_no_stale_colour_bar(qtbot):
    view = MapView()
    qtbot.addWidget(view)
    view.set_array(np.arange(4.0).reshape(1, 2, 2), signed=False)
    assert view.colorbar.isVisible()
    view.set_array(None, signed=False)
    assert not view.colorbar.isVisible()


def test_the_inspector_follows_the_pass_again_after_a_reset_new_weights_or_training(qtbot):
    ctrl = AppController("lenet5", user_weights=False)
    inspector = Inspector(ctrl)
    qtbot.addWidget(inspector)
    ctrl.run_to("F1")
    ctrl.select_unit(7, (3,))  # a click pins the inspector to layer 7
    ctrl.run_to("F4")
    assert inspector.layer() == 7
    ctrl.reset()
    ctrl.run_to("F2")
    assert inspector.layer() == 2  # following the pass again
    ctrl.select_layer(9)
    ctrl.begin_training()
    ctrl.end_training()
    ctrl.run_to("F3")
    assert inspector.layer() == 3
    ctrl.select_layer(5)
    ctrl.load_preset("square")
    ctrl.run_to("F1")
    assert inspector.layer() == 1


def test_after_the_update_a_layer_without_weights_shows_its_maps_not_empty_filters(qtbot):
    ctrl = AppController("square", user_weights=False)
    inspector = Inspector(ctrl)
    qtbot.addWidget(inspector)
    ctrl.run_to("F3")
    ctrl.select_layer(3)  # flatten
    ctrl.run_pass()
    assert ctrl.stepper.current.name == "U"
    key = [k for k, _ in __import__("cnnviz.app.debugger.inspector",
                                     fromlist=["TABS"]).TABS][inspector.tabs.currentIndex()]
    assert key == "maps" and inspector.views["maps"].maps is not None


def test_no_python_syntax_in_the_status_bar_or_the_hover_readouts(qtbot, settings, dialogs):
    win = window(qtbot, settings, "square")
    win.ctrl.run_to("F4")
    win.ctrl.select_unit(4, (1,))
    text = win.unit_label.text()
    assert "unit [1] = " in text and "(" not in text
    win.ctrl.select_unit(0, (0, 2, 3))
    assert "unit [0,2,3] = " in win.unit_label.text()
    inspector = win.panels["inspector"]
    view = inspector.show_tab("filters")
    view.scene().sigMouseMoved.emit(view.mapToScene(view.widget_pos_of((0, 2, 3))))
    weight = win.ctrl.network.layers[0].params["weight"][0, 0, 2, 3]
    assert view.readout.text == f"w[0,0,2,3] = {float(weight):.6g}"
    view = inspector.show_tab("maps")
    view.scene().sigMouseMoved.emit(view.mapToScene(view.widget_pos_of((0, 1, 1))))
    assert view.readout.text.startswith("o[0,1,1] = ")


def test_the_explained_weights_are_outlined_as_whole_kernels_not_covered(qtbot):
    ctrl = AppController("lenet5", user_weights=False)
    inspector = Inspector(ctrl)
    qtbot.addWidget(inspector)
    ctrl.run_to("F3")
    ctrl.select_unit(3, (2, 4, 4))
    view = inspector.show_tab("filters")
    rects = view.overlays()
    assert len(rects) == 6  # one outline per input channel of output channel 2
    assert all(r.width() == 5 and r.height() == 5 for r in rects)


def test_mse_outputs_are_labelled_as_outputs_and_negative_bars_grow_left(qtbot):
    ctrl = AppController("square", user_weights=False)
    pipeline = PipelineView(ctrl)
    qtbot.addWidget(pipeline)
    ctrl.run_to("L")
    assert "output ŷ" in pipeline.column(LOSS).mode_label.text()
    assert "softmax" not in pipeline.column(LOSS).mode_label.text()
    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    bars.resize(400, 200)
    bars.set_values(np.array([-0.5, 0.25]), ["a", "b"], None)
    zero, scale = bars.bar_axis(50, 300)
    assert zero == pytest.approx(200) and scale == pytest.approx(300)
    image = bars.grab().toImage()
    y0 = int(bars.height() * 0.25)  # the first (negative) row: coloured left of zero only
    assert image.pixelColor(int(zero) - 60, y0) != image.pixelColor(int(zero) + 60, y0)
    assert image.pixelColor(int(zero) + 60, y0).name() == bars.palette().window().color().name()


def test_tied_all_zero_pool_windows_are_not_marked_as_winners():
    x = np.zeros((1, 4, 4))
    x[0, 0, 1] = 2.0  # one real winner in the top-left window; the other three are all 0
    tied = tied_windows(x, (2, 2), (2, 2), (0, 0), (2, 2))
    assert tied.tolist() == [[[False, True], [True, True]]]
    argmax = np.array([[[1, 2], [8, 10]]])  # the tie rule's first cells
    assert winner_cells(argmax, 4, tied) == [(0, 0, 1)]
    assert len(winner_cells(argmax, 4)) == 4


def test_the_pool_note_counts_windows_without_a_winner(qtbot):
    ctrl = AppController("lenet5", user_weights=False)
    inspector = Inspector(ctrl)
    qtbot.addWidget(inspector)
    ctrl.set_input(np.zeros((1, 28, 28), np.float32), 0)  # a blank input: many dead windows
    ctrl.run_to("F2")
    ctrl.select_layer(2)
    inspector.show_tab("winners")
    assert "no real winner" in inspector.note.text()
    rec = ctrl.stepper.record("F2")
    tied = tied_windows(rec.values["input"][0], (2, 2), (2, 2), (0, 0), (14, 14))
    assert len(inspector.winners()) == len(winner_cells(rec.values["argmax"][0], 28, tied))
    assert QPointF  # keep the import used by click helpers in this module


def test_the_explain_panel_writes_units_and_weights_as_indices(qtbot):
    from cnnviz.app.debugger.explain_panel import ExplainPanel, unit_label

    assert unit_label((0, 2, 3)) == "[0,2,3]"
    assert unit_label(("weight", (0, 0, 3, 2))) == "w[0,0,3,2]"
    assert unit_label(("0.weight", (3, 0, 2, 2))) == "0.weight[3,0,2,2]"
    ctrl = AppController("square", user_weights=False)
    panel = ExplainPanel(ctrl)
    qtbot.addWidget(panel)
    ctrl.run_to("B0")
    ctrl.select_weight(0, (0, 0, 3, 2))
    assert panel.header.text() == "step B0, unit w[0,0,3,2]"
    assert "(" not in panel.header.text()
    ctrl.select_unit(4, (1,))
    ctrl.run_to("U")
    assert "[" in panel.header.text() and "(" not in panel.header.text()


def test_the_result_line_sits_above_the_tabs_whatever_the_figure_size(qtbot):
    """Issue 11: in presentation mode the Explain dock's result line fell below the fold;
    the unit's value is now a line of its own above the tabs."""
    from cnnviz.app.debugger.explain_panel import ExplainPanel

    ctrl = AppController("lenet5", user_weights=False)
    panel = ExplainPanel(ctrl)
    qtbot.addWidget(panel)
    panel.resize(700, 300)  # far shorter than F3's figure
    panel.show()
    qtbot.waitExposed(panel)
    ctrl.run_to("F3")
    ctrl.select_unit(3, (2, 4, 4))
    value = ctrl.stepper.explain("F3", (0, 2, 4, 4)).value
    assert panel.result.text().count(f"x[0,2,4,4] = {value:.6g}") == 1
    assert panel.result.isVisible()
    bottom = panel.result.mapTo(panel, panel.result.rect().bottomLeft()).y()
    assert bottom <= panel.tabs.y() <= panel.height()
