"""`cnnviz bench --startup`'s eyes inside the launched app (set CNNVIZ_STARTUP_PROBE=1).

Once the window is up it presses F10, waits for the background warm-up to end, prints one
JSON line of wall-clock times (`time.time()`: the parent subtracts its own start) and
exits without closing the window (so the user's saved layout is left alone).
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

PROBE_VARIABLE = "CNNVIZ_STARTUP_PROBE"
POLL_MS = 5


class StartupProbe(QObject):
    """Records when the window is ready, when F10 has run and when each warm-up stage ends."""

    def __init__(self, starter: QObject) -> None:
        super().__init__()
        self.starter = starter
        self.times: dict[str, float] = {}
        self.waited = False
        starter.window_ready.connect(self._on_ready)
        starter.gate.changed.connect(self._on_stage)

    def _on_ready(self, when: float) -> None:
        """The window is shown: press F10 as soon as the event loop runs."""
        self.times["ready"] = when
        QTimer.singleShot(0, self._press_f10)

    def _press_f10(self) -> None:
        """Trigger the Step action the way the key does, then wait for its record."""
        self.starter.window.debugger.actions["step"].trigger()
        self.waited = self.starter.gate.waiting
        self._poll_step()

    def _poll_step(self) -> None:
        """F10 is done when the stepper has its first record (it may have waited)."""
        if self.starter.window.ctrl.stepper.cursor >= 1:
            self.times["step"] = time.time()
            self._maybe_quit()
        else:
            QTimer.singleShot(POLL_MS, self._poll_step)

    def _on_stage(self, stage: str) -> None:
        """A warm-up stage ended."""
        self.times[stage] = time.time()
        self._maybe_quit()

    def _maybe_quit(self) -> None:
        """Leave once F10 has run and the background is done (exit, not close: no saving)."""
        if "step" in self.times and self.starter.gate.finished:
            QApplication.instance().exit(0)

    def finish(self, code: int) -> int:
        """Print the times as one JSON line; returns the exit code."""
        report = {"times": self.times, "waited": self.waited,
                  "stage": self.starter.gate.stage}
        print(json.dumps(report), file=sys.stdout, flush=True)
        return code


def start_probe(starter: QObject) -> StartupProbe:
    """Attach a probe to the launcher's starter."""
    return StartupProbe(starter)
