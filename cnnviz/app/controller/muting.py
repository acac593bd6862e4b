"""One signal per change: muting the engine's listeners while a controller command works.

The stepper and the selection call their listeners on every change they make. When a
change comes from outside (a session, a test), the controller re-emits it as a Qt
signal; when a controller command drives them itself, the listeners are muted and the
command emits one signal at the end. `Mute` is that switch, shared by the controller and
its collaborators.
"""

from __future__ import annotations

from PySide6.QtCore import SignalInstance


class Mute:
    """A nestable switch: ``with mute:`` mutes, ``bool(mute)`` says whether it is on."""

    def __init__(self) -> None:
        self.depth = 0  # > 0 while a controller command drives the engine itself

    def __enter__(self) -> Mute:
        self.depth += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.depth -= 1

    def __bool__(self) -> bool:
        return self.depth > 0


def emit_all(*signals: SignalInstance) -> None:
    """Emit several payload-free signals in order."""
    for signal in signals:
        signal.emit()
