"""The train/eval switch: one checkable action for the toolbar and the Debug menu."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from cnnviz.app.controller import AppController
from cnnviz.app.controller.modes import MODE_TIP, mode_effects


class ModeSwitch(QObject):
    """Checked = train mode. Toggling it switches the network's mode and starts a new pass;
    the action follows the network when something else (a session, a new network) changes it."""

    def __init__(self, ctrl: AppController, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctrl = ctrl
        self.action = QAction("Train mode", parent)
        self.action.setObjectName("action_train_mode")
        self.action.setCheckable(True)
        self.action.setToolTip(MODE_TIP)
        self.action.setStatusTip(MODE_TIP.splitlines()[0])
        self.action.toggled.connect(self._on_toggled)
        for signal in (ctrl.stepper_changed, ctrl.spec_changed, ctrl.busy_changed):
            signal.connect(self.sync)
        self.sync()

    def sync(self, *_args: object) -> None:
        """Show the network's mode; disabled while training runs."""
        training = self.ctrl.network.training
        self.action.blockSignals(True)
        self.action.setChecked(training)
        self.action.blockSignals(False)
        self.action.setText("Train mode" if training else "Eval mode")
        self.action.setToolTip(f"{MODE_TIP}\n\nNow: {mode_effects(self.ctrl.network)}.")
        self.action.setEnabled(not self.ctrl.busy)

    def _on_toggled(self, checked: bool) -> None:
        """The user flipped the switch."""
        if not self.ctrl.set_training_mode(checked):
            self.sync()
