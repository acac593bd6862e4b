"""The train/eval switch: visible in the toolbar and Debug menu, explained, starts a new pass,
and the mode shows in the status bar."""

from __future__ import annotations

import pytest
from gui_helpers import preset_window
from PySide6.QtWidgets import QToolBar


@pytest.fixture
def window(qtbot, settings):
    win = preset_window(qtbot, settings, "lenet5-dropout")
    return win


def test_the_switch_is_on_the_toolbar_and_in_the_debug_menu_with_its_explanation(window):
    action = window.mode_switch.action
    toolbar = window.findChild(QToolBar, "debugger_toolbar")
    assert action in toolbar.actions() and toolbar.widgetForAction(action).isVisible()
    debug = next(a.menu() for a in window.menuBar().actions() if "Debug" in a.text())
    assert action in debug.actions()
    tip = action.toolTip()
    assert "batch norm" in tip and "running" in tip and "dropout" in tip
    assert "Now: train mode: dropout drops units" in tip
    assert action.isChecked() and action.text() == "Train mode"


def test_switching_to_eval_starts_a_new_pass_without_masks_and_shows_in_the_status_bar(
        window, qtbot):
    ctrl = window.ctrl
    ctrl.run_to("F9")
    assert "mask" in ctrl.stepper.record("F9").values
    assert window.step_label.text().endswith("· train mode")
    window.mode_switch.action.trigger()
    assert not ctrl.network.training and ctrl.stepper.cursor == 0
    assert window.mode_switch.action.text() == "Eval mode"
    assert window.step_label.text().endswith("· eval mode")
    assert "dropout is off" in window.mode_switch.action.toolTip()
    ctrl.run_to("F9")
    assert "mask" not in ctrl.stepper.record("F9").values
    assert not ctrl.stepper.record("F9").meta["training"]
    window.mode_switch.action.trigger()
    assert ctrl.network.training and ctrl.stepper.cursor == 0


def test_the_switch_follows_a_new_network_and_is_off_while_training(window):
    ctrl = window.ctrl
    window.mode_switch.action.trigger()
    ctrl.load_preset("mini-resnet")  # a new network starts in train mode
    assert window.mode_switch.action.isChecked()
    assert "batch norm uses the batch's statistics" in window.mode_switch.action.toolTip()
    ctrl.begin_training()
    assert not window.mode_switch.action.isEnabled()
    assert not ctrl.set_training_mode(False) and ctrl.network.training
    ctrl.end_training()
    assert window.mode_switch.action.isEnabled()
