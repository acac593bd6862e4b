"""Session I/O for the controller: capture its state into a `.cnnviz` file, read one back.

Both return a plain result or raise `SessionFileError` with the message the window shows;
the controller emits the signals.
"""

from __future__ import annotations

from cnnviz.core.network import Network
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
