"""The status bar's permanent fields: the selected unit with its value and δ, the current
step, and the kernels' warm-up progress while the launcher compiles them.

`StatusFields` is a collaborator of `MainWindow`, which keeps its labels as
``window.unit_label`` and ``window.step_label`` and refreshes them on every stepper or
selection change. The transient messages on the left stay with the window.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QMainWindow

from cnnviz.app.controller import AppController, status
from cnnviz.app.shell.kernel_gate import KernelGate, KernelProgress


class StatusFields(QObject):
    """The unit and step fields on the right of the window's status bar, in bold, each in
    its own framed field so that neither clips the other."""

    def __init__(self, window: QMainWindow, ctrl: AppController) -> None:
        super().__init__(window)
        self.window, self.ctrl = window, ctrl
        self.step_label = QLabel("")
        self.unit_label = QLabel("")
        for label in (self.unit_label, self.step_label):
            label.setObjectName(f"status_{'unit' if label is self.unit_label else 'step'}")
            font = label.font()
            font.setBold(True)
            label.setFont(font)
            label.setContentsMargins(8, 0, 8, 0)
            window.statusBar().addPermanentWidget(label)

    def refresh(self) -> None:
        """Step and unit (the unit's field disappears when nothing is selected)."""
        self.step_label.setText(status.step_status(self.ctrl.stepper))
        unit = status.unit_status(self.ctrl.stepper, self.ctrl.spec, self.ctrl.selection)
        self.unit_label.setText(unit)
        self.unit_label.setVisible(bool(unit))

    def show_kernel_progress(self, gate: KernelGate) -> KernelProgress:
        """The background stages of the launcher's warm-up, first of the fields."""
        progress = KernelProgress(gate)
        self.window.statusBar().insertPermanentWidget(0, progress)
        return progress
