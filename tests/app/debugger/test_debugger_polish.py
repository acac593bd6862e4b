"""QA of issue 6: mini-batches, the breakpoint context menu, presentation mode, the prediction
after U, the input column, the toolbar, and the inspector following the pass."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import preset_window
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QInputDialog, QMenu, QToolBar

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.pipeline import INPUT, LayerColumn
from cnnviz.app.shell.main_window import MainWindow
from cnnviz.app.shell.step_actions import ACTIONS
from cnnviz.core.losses import softmax
from cnnviz.data import open_dataset


def make_window(qtbot, settings, preset: str) -> MainWindow:
    """A shown, active main window on a preset with fresh weights."""
    win = preset_window(qtbot, settings, preset, 1280, 800, active=True)
    return win


@pytest.fixture
def lenet(qtbot, settings, dialogs):
    return make_window(qtbot, settings, "lenet5")


@pytest.fixture
def square(qtbot, settings, dialogs):
    return make_window(qtbot, settings, "square")


def test_a_mini_batch_is_stepped_and_the_example_box_switches_every_panel(lenet, qtbot,
                                                                           monkeypatch,
                                                                           artifacts_dir):
    win, ctrl = lenet, lenet.ctrl
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (4, True))
    win.batch_action.trigger()  # Debug → Step a mini-batch… (4 test examples)
    data = open_dataset("mnist")
    first = np.asarray(data.test_indices[:4])
    assert ctrl.stepper.x.shape == (4, 1, 28, 28) and ctrl.stepper.cursor == 0
    np.testing.assert_array_equal(ctrl.stepper.x, data.images[first])
    np.testing.assert_array_equal(ctrl.stepper.y, data.labels[first])
    ctrl.run_to("L")
    inspector, pipeline = win.panels["inspector"], win.panels["pipeline"]
    assert inspector.example.maximum() == 3
    inspector.example.setValue(2)  # the inspector's example box
    assert ctrl.selection.example == 2
    loss = ctrl.stepper.record("L")
    f3 = ctrl.stepper.record("F3").values["output"]
    np.testing.assert_array_equal(pipeline.column(3).thumbs.array, f3[2])
    np.testing.assert_array_equal(pipeline.column(INPUT).thumbs.array, ctrl.stepper.x[2])
    ctrl.select_unit(3, (1, 2, 2))
    view = inspector.show_tab("maps")
    np.testing.assert_array_equal(view.shown_maps(), f3[2])
    explain = win.panels["explain"].explanation
    assert explain.step == "F3" and tuple(explain.unit) == (2, 1, 2, 2)
    assert explain.value == pytest.approx(float(f3[2, 1, 2, 2]), rel=1e-5, abs=1e-6)
    bars = win.panels["prediction"].bars
    np.testing.assert_allclose(bars.values, loss.values["probabilities"][2])
    assert bars.label == int(data.labels[first[2]]) == ctrl.input_label
    assert "example 2 of 4" in win.panels["prediction"].stage.text()
    assert "= " in win.unit_label.text()  # the status bar shows example 2's value
    assert float(win.unit_label.text().split("= ")[1]) == pytest.approx(
        float(f3[2, 1, 2, 2]), rel=1e-5)
    win.grab().save(str(artifacts_dir / "main_window_lenet5_batch4_example2_L.png"))
    ctrl.run_to("U")  # the update uses the gradient averaged over the whole batch
    assert ctrl.stepper.finished
    win.single_example()  # Debug → Step one example: the shown one
    assert ctrl.stepper.x.shape == (1, 1, 28, 28)
    np.testing.assert_array_equal(ctrl.stepper.x[0], data.images[first[2]])
    assert ctrl.selection.example == 0 and inspector.example.maximum() == 0


def test_a_batch_that_does_not_fit_is_refused_with_a_message(square, dialogs):
    ctrl = square.ctrl
    assert not ctrl.use_test_batch(3)  # an 8×8 network and no dataset open
    assert dialogs and "dataset" in dialogs[-1][1]
    assert not ctrl.set_batch(np.zeros((2, 1, 5, 5)), np.zeros(2, dtype=int))
    assert "(N, 1, 8, 8)" in dialogs[-1][1]
    assert ctrl.stepper.x.shape == (1, 1, 8, 8)


def test_right_click_on_a_layer_toggles_its_breakpoint(square, qtbot, monkeypatch):
    ctrl, column = square.ctrl, square.panels["pipeline"].column(2)
    shown: list[list[str]] = []

    def pick_b2(menu: QMenu, _pos) -> None:  # choose the B2 entry as a user would
        shown.append([a.objectName() for a in menu.actions()])
        next(a for a in menu.actions() if a.objectName() == "toggle_breakpoint_B2").trigger()

    monkeypatch.setattr(LayerColumn, "popup_menu", staticmethod(pick_b2))
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(5, 5),
                              column.mapToGlobal(QPoint(5, 5)))
    QApplication.sendEvent(column, event)
    assert shown == [["toggle_breakpoint_F2", "toggle_breakpoint_B2"]]
    assert ctrl.stepper.breakpoints == {"B2"} and column.markers["B2"].isChecked()
    qtbot.keyClick(square, Qt.Key.Key_F5)
    assert ctrl.stepper.current.name == "B2"
    QApplication.sendEvent(column, event)
    assert ctrl.stepper.breakpoints == set() and not column.markers["B2"].isChecked()


def test_leaving_presentation_mode_restores_the_docks_the_user_had(square, qtbot):
    win = square
    win.docks["training"].close()  # the user closed one secondary dock
    assert not win.docks["training"].toggleViewAction().isChecked()
    qtbot.keyClick(win, Qt.Key.Key_F11)
    assert all(not win.docks[k].toggleViewAction().isChecked()
               for k in ("editor", "input", "training"))
    qtbot.keyClick(win, Qt.Key.Key_F11)
    assert not win.presentation
    assert not win.docks["training"].toggleViewAction().isChecked()
    assert win.docks["input"].toggleViewAction().isChecked()
    assert win.docks["editor"].toggleViewAction().isChecked()


def test_after_the_update_the_prediction_uses_the_new_weights(lenet):
    ctrl, panel = lenet.ctrl, lenet.panels["prediction"]
    ctrl.run_to("L")
    before = ctrl.stepper.record("L").values["probabilities"][0]
    np.testing.assert_allclose(panel.bars.values, before)
    assert "this pass" in panel.stage.text()
    ctrl.run_to("U")
    expected = softmax(ctrl.network.forward(ctrl.stepper.x))[0]  # the core, new weights
    np.testing.assert_allclose(panel.bars.values, expected, rtol=1e-6)
    assert not np.allclose(panel.bars.values, before, rtol=1e-6, atol=0)
    label = ctrl.input_label
    assert panel.bars.values[label] > before[label]  # one SGD step helps the true class
    assert "after the update" in panel.stage.text()
    ctrl.back()  # undoing U brings back the pass's own numbers
    np.testing.assert_allclose(panel.bars.values, before)


def test_clicking_the_input_column_selects_nothing_and_raises_no_error(square, qtbot):
    ctrl = square.ctrl
    errors: list = []
    ctrl.error_raised.connect(lambda *a: errors.append(a))
    ctrl.select_unit(0, (0, 1, 1))
    thumbs = square.panels["pipeline"].column(INPUT).thumbs
    qtbot.mouseClick(thumbs, Qt.MouseButton.LeftButton, pos=thumbs.pos_of((0, 2, 2)))
    assert errors == [] and ctrl.selection.layer is None


def test_toolbar_actions_have_icons_and_tooltips_naming_their_keys(square):
    bar = square.findChild(QToolBar, "debugger_toolbar")
    for key, _text, shortcut, _tip in ACTIONS:
        action = square.debugger.actions[key]
        assert action in bar.actions()
        assert not action.icon().isNull(), key
        assert f"({shortcut})" in action.toolTip()
    square.debugger.speed_slider.setValue(10)
    assert square.debugger.timer.interval() == 100
    assert "10 steps/s" in square.debugger.speed_label.text()


def test_the_inspector_follows_the_pass_but_keeps_a_tab_picked_by_hand(lenet):
    ctrl, inspector = lenet.ctrl, lenet.panels["inspector"]

    def tab() -> str:
        return inspector.tabs.tabText(inspector.tabs.currentIndex())

    ctrl.run_to("F2")
    assert tab() == "Maps"
    ctrl.run_to("B5")  # backward through a max pool: the routing to the winners
    assert tab() == "Winners"
    ctrl.run_to("B3")
    assert tab() == "Deltas"
    ctrl.run_to("U")
    assert tab() == "Filters"
    inspector.show_tab("input")  # picked by hand: stepping leaves it alone
    ctrl.back()
    ctrl.back()
    assert tab() == "Input"


def test_the_status_bar_shows_the_selected_units_value_and_then_its_delta(square, qtbot):
    ctrl, label = square.ctrl, square.unit_label
    ctrl.select_unit(0, (0, 1, 2))
    assert not label.isVisible() or "=" not in label.text()  # not computed yet
    ctrl.run_to("F0")
    value = float(ctrl.stepper.record("F0").values["output"][0, 0, 1, 2])
    assert f"= {value:.6g}" in label.text() and "δ" not in label.text()
    ctrl.run_to("B1")  # B1 writes ∂E/∂o of layer 0's output
    delta = float(ctrl.stepper.record("B1").values["grad_input"][0, 0, 1, 2])
    assert f"δ = {delta:.6g}" in label.text()


def test_backward_through_an_average_pool_explains_the_quarter_share(qtbot):
    from cnnviz.app.debugger.explain_panel import ExplainPanel

    spec = {"input": [1, 8, 8], "loss": "cross_entropy",
            "layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
                       {"type": "tanh"}, {"type": "avgpool2d", "kernel_size": 2},
                       {"type": "flatten"}, {"type": "dense", "units": 3}]}
    ctrl = AppController(None, spec=spec)
    panel = ExplainPanel(ctrl)
    qtbot.addWidget(panel)
    ctrl.run_to("B2")
    ctrl.select_unit(1, (1, 2, 3))  # a unit of the pool's input
    ex = panel.explanation
    rec = ctrl.stepper.record("B2")
    assert ex.step == "B2"
    assert ex.value == pytest.approx(float(rec.values["grad_input"][0, 1, 2, 3]))
    assert ex.value == pytest.approx(0.25 * float(rec.values["grad_output"][0, 1, 1, 1]))
    assert "/4" in panel.text() and "1/4·δ[1,1,1]" in panel.text()
