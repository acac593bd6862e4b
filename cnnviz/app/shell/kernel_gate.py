"""Which kernels are ready while the rest compile in the background, and the steps that wait.

The launcher warms the kernels up in stages (`STAGES`): the forward pass of the opening
network (the window appears after it), its whole first pass, then every other code path.
`KernelGate` knows the stage reached; a step that needs a kernel still compiling does not
call it on the UI thread (that would freeze the window for the compile): it waits with a
busy cursor and runs when the background thread has the kernel ready. The status bar
shows the background progress (`KernelProgress`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QProgressBar, QWidget

STAGES = ("forward", "pass", "all")  # in the order the warm-up reaches them
DONE = ("all", "failed")  # after these, nothing compiles in the background any more


class KernelGate(QObject):
    """The warm-up's stage, what it allows, and at most one action waiting for it."""

    changed = Signal(str)
    progress = Signal(int, int, str)  # done, total, what compiles now ("" when finished)

    def __init__(self, spec: dict | None = None, dtype: str = "float32",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.spec, self.dtype = spec, dtype
        self.stage = ""
        self._pending: tuple[Callable[[], bool], Callable[[], object]] | None = None

    @property
    def finished(self) -> bool:
        """True once the background warm-up has ended (every kernel ready, or it failed)."""
        return self.stage in DONE

    def advance(self, stage: str, spec: dict | None = None) -> None:
        """The warm-up reached a stage (its spec is the network it warmed, if given)."""
        if spec is not None:
            self.spec = spec
        self.stage = stage
        self.changed.emit(stage)
        self._try_pending()

    def ready_for(self, spec: dict, dtype: str, step: str | None) -> bool:
        """Whether running `step` (None: a whole pass) of this network compiles nothing."""
        if self.finished:
            return True
        if spec != self.spec or dtype != self.dtype or self.stage not in STAGES:
            return False
        needed = "forward" if step is not None and step.startswith("F") else "pass"
        return STAGES.index(self.stage) >= STAGES.index(needed)

    def run_when_ready(self, ready: Callable[[], bool], action: Callable[[], object]) -> bool:
        """Run `action` now if `ready()`, else once it is, with a busy cursor meanwhile.

        Returns False when another action is already waiting (this one is dropped)."""
        if ready():
            action()
            return True
        if self._pending is not None:
            return False
        self._pending = (ready, action)
        QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        return True

    @property
    def waiting(self) -> bool:
        """True while an action waits for kernels."""
        return self._pending is not None

    def _try_pending(self) -> None:
        """Run the waiting action if the new stage allows it."""
        if self._pending is None or not self._pending[0]():
            return
        action = self._pending[1]
        self._pending = None
        QApplication.restoreOverrideCursor()
        action()


class KernelProgress(QWidget):
    """The status bar's 'compiling kernels in the background' label and bar; hides when done."""

    def __init__(self, gate: KernelGate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kernel_progress")
        self.label = QLabel("Compiling kernels in the background…")
        self.bar = QProgressBar()
        self.bar.setFixedWidth(120)
        self.bar.setTextVisible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 8, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        self.setToolTip("The numeric kernels compile once (Numba) and are cached on disk; a "
                        "step that needs one still compiling waits for it.")
        gate.progress.connect(self.show_progress)
        gate.changed.connect(self._on_stage)
        self.setVisible(not gate.finished)

    def show_progress(self, done: int, total: int, what: str) -> None:
        """`done` of `total` parts ready; `what` compiles now."""
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)
        self.label.setText(f"Compiling kernels: {what} ({done}/{total})"
                           if what else "Kernels ready")

    def _on_stage(self, stage: str) -> None:
        """Hide once nothing compiles any more."""
        if stage in DONE:
            self.hide()
