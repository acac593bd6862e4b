"""Session I/O for the controller: capture its state into a `.cnnviz` file, read one back.

`write_session` and `read_session` return a plain result or raise `SessionFileError` with
the message the window shows. `SessionFiles`, a collaborator of `AppController` (which
keeps ``ctrl.save_session(...)`` and ``ctrl.open_session(...)`` as one-line calls into
it), uses them, takes over what a session restored and emits the signals.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnviz.app.controller import app_state
from cnnviz.app.controller.muting import emit_all
from cnnviz.core.network import Network
from cnnviz.core.optim import SGD
from cnnviz.core.optim_base import Optimizer
from cnnviz.core.spec import SpecError
from cnnviz.engine.metrics import History
from cnnviz.engine.selection import Selection
from cnnviz.engine.session import Restored, Session, SessionError, load_session, save_session
from cnnviz.engine.stepper import Stepper


class SessionFileError(Exception):
    """A session could not be written or read; the message names the file and the reason."""


def write_session(path: str, network: Network, optimizer: Optimizer, stepper: Stepper,
                  selection: Selection, history: History | None, extra: dict) -> None:
    """Write everything (spec, weights, optimizer, input, cursor, selection) atomically."""
    try:
        session = Session.capture(network, optimizer, stepper, selection, history, extra)
        save_session(path, session)
    except (OSError, SessionError, ValueError) as error:
        raise SessionFileError(f"{path}: {error}") from error


def read_session(path: str) -> Restored:
    """Read and rebuild a session's live objects; nothing of the current state changes."""
    try:
        return load_session(path).restore()
    except (SessionError, SpecError, OSError, ValueError, KeyError) as error:
        raise SessionFileError(f"{path}: {error}") from error


class SessionFiles:
    """Saves the controller's whole state to a session file and opens one in its place."""

    def __init__(self, ctrl: Any) -> None:
        """`ctrl` is the AppController that owns this collaborator (its state and signals)."""
        self.ctrl = ctrl

    def save(self, path: str, extra: dict | None = None) -> bool:
        """Write everything (spec, weights, optimizer, input, cursor, selection) to a file."""
        ctrl = self.ctrl
        try:
            write_session(path, ctrl.network, ctrl.optimizer, ctrl.stepper, ctrl.selection,
                          ctrl.history, {"preset": ctrl.preset_name, **(extra or {})})
        except SessionFileError as error:
            ctrl.error_raised.emit("Could not save the session", str(error))
            return False
        ctrl.status_changed.emit(f"Session saved to {path}")
        return True

    def open(self, path: str) -> dict | None:
        """Load a session file (returns its extra dict); on a problem keep the current one."""
        try:
            restored = read_session(path)
        except SessionFileError as error:
            self.ctrl.error_raised.emit("Could not open the session", str(error))
            return None
        self._adopt(restored)
        self.ctrl.status_changed.emit(f"Session opened from {path}")
        return restored.extra

    def _adopt(self, restored: Restored) -> None:
        """Take over the objects a session restored, then tell every panel."""
        ctrl = self.ctrl
        ctrl.network, ctrl.spec = restored.net, restored.net.spec
        ctrl.preset_name = restored.extra.get("preset")
        ctrl.history, ctrl.weights_trained, ctrl.weight_focus = restored.history, True, None
        ctrl.weight_book.forget("weights from the session")
        if restored.stepper is not None:
            ctrl.stepper, ctrl.optimizer = restored.stepper, restored.stepper.optimizer
            ctrl.input_image = np.array(ctrl.stepper.x[0], dtype=np.float32)
            ctrl.input_label = int(ctrl.stepper.y[0])
            many = len(ctrl.stepper.x) > 1
            ctrl.batch = (ctrl.stepper.x.copy(), ctrl.stepper.y.copy()) if many else None
            ctrl.driver.watch(ctrl.stepper)
        else:
            ctrl.optimizer = restored.optimizer or SGD(lr=0.01)
            ctrl.input_image, ctrl.input_label = app_state.default_input(ctrl.spec)
            ctrl.batch = None
            ctrl.stepper = ctrl.driver.make_stepper()
        if restored.selection is not None:
            ctrl.selection = ctrl.selector.watch(restored.selection)
        else:
            ctrl.selection = ctrl.selector.make_selection()
        emit_all(ctrl.spec_changed, ctrl.weights_changed, ctrl.input_changed,
                 ctrl.stepper_changed, ctrl.selection_changed)
