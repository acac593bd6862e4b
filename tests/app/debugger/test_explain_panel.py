"""The explain panel: which step it explains, the engine's numbers, copy as text."""

from __future__ import annotations

import pytest
from gui_helpers import shown
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.explain_panel import ExplainPanel, pick_request, to_text


@pytest.fixture
def ctrl():
    return AppController("square")


@pytest.fixture
def panel(qtbot, ctrl):
    widget = ExplainPanel(ctrl)
    shown(qtbot, widget, 700, 400)
    return widget


def test_hints_before_a_unit_is_selected_or_computed(panel, ctrl):
    assert panel.explanation is None and "Click a unit" in panel.browser.toPlainText()
    ctrl.select_unit(2, (0, 1, 1))
    assert panel.explanation is None and "F2" in panel.message
    ctrl.run_to("F2")
    assert panel.explanation is not None and panel.explanation.step == "F2"


def test_forward_pool_step_names_the_winner(panel, ctrl):
    ctrl.run_to("F2")
    ctrl.select_unit(2, (0, 0, 1))
    ex = ctrl.stepper.explain("F2", (0, 0, 0, 1))
    assert panel.explanation.text == ex.text
    assert panel.explanation.cells["winner"] == ex.cells["winner"]
    assert ex.value == pytest.approx(float(ctrl.stepper.record("F2").values["output"][0, 0, 0, 1]))


def test_backward_steps_explain_the_delta_of_the_selected_output(panel, ctrl):
    ctrl.select_unit(1, (0, 2, 3))  # an output of the sigmoid = an input of the max pool
    ctrl.run_to("B2")
    assert pick_request(ctrl) == ("B2", (0, 0, 2, 3))
    ex = ctrl.stepper.explain("B2", (0, 0, 2, 3))
    assert panel.explanation.text == ex.text
    assert panel.explanation.value == pytest.approx(
        float(ctrl.stepper.record("B2").values["grad_input"][0, 0, 2, 3]))
    ctrl.select_unit(4, (1,))  # the last layer's delta comes from the loss
    assert pick_request(ctrl) == ("L", (0, 1))
    assert panel.explanation.step == "L"


def test_update_step_explains_the_optimizer_rule(panel, ctrl):
    ctrl.select_unit(4, (1,))
    ctrl.run_pass()
    assert pick_request(ctrl) == ("U", ("4.bias", (1,)))
    rec = ctrl.stepper.record("U")
    assert panel.explanation.value == pytest.approx(float(rec.values["4.bias_after"][1]))


def test_copy_as_text_with_button_and_ctrl_c(panel, ctrl, qtbot):
    ctrl.run_to("F0")
    ctrl.select_unit(0, (0, 1, 2))
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    text = QGuiApplication.clipboard().text()
    assert text == to_text(panel.explanation)
    assert panel.explanation.text in text
    QGuiApplication.clipboard().clear()
    panel.browser.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == text)
