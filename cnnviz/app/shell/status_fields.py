"""The status bar's permanent fields: the selected unit with its value and the current
step, bold, each in its own framed field so that neither clips the other; while the
kernels compile in the background, their progress in front of them.

A mixin of `MainWindow` (``step_label``, ``unit_label``, ``kernel_progress``). The
transient messages on the left (status and errors) stay with the window.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from cnnviz.app.controller import AppController, status
from cnnviz.app.shell.kernel_gate import KernelGate, KernelProgress
from cnnviz.app.shell.step_actions import DebuggerActions


class StatusFields:
    """Builds the fields (`_build_status_bar`) and keeps them current
    (`_on_stepper_changed`, on every step and selection)."""

    ctrl: AppController
    debugger: DebuggerActions

    def _build_status_bar(self) -> None:
        """The unit and the step on the right; messages keep the left."""
        self.step_label = QLabel("")
        self.unit_label = QLabel("")
        for label in (self.unit_label, self.step_label):
            label.setObjectName(f"status_{'unit' if label is self.unit_label else 'step'}")
            font = label.font()
            font.setBold(True)
            label.setFont(font)
            label.setContentsMargins(8, 0, 8, 0)
            self.statusBar().addPermanentWidget(label)

    def attach_kernel_gate(self, gate: KernelGate) -> None:
        """The launcher's warm-up: steps wait for kernels still compiling, and the status
        bar shows the background progress until every kernel is ready."""
        self.debugger.gate = gate
        self.kernel_progress = KernelProgress(gate)
        self.statusBar().insertPermanentWidget(0, self.kernel_progress)

    def _on_stepper_changed(self) -> None:
        """Status bar: step and unit (the unit's field disappears when nothing is selected)."""
        self.step_label.setText(status.step_status(self.ctrl.stepper))
        unit = status.unit_status(self.ctrl.stepper, self.ctrl.spec, self.ctrl.selection)
        self.unit_label.setText(unit)
        self.unit_label.setVisible(bool(unit))
