"""Work around a reference-count bug of some PySide6 builds (seen with 6.12.0 on Python 3.11).

There, every ``SignalInstance.emit()`` returns ``True`` without taking a reference, and some
calls (e.g. inside pyqtgraph's label updates) drop references to ``None``. Each call steals
one reference; after some thousands of steps Python aborts with "Fatal Python error:
bool_dealloc: deallocating True or False" (or ``none_dealloc``). Python 3.12+ makes these
singletons immortal, which hides the bug; on 3.11 we do the same by hand, once, only when
a probe shows the bug. The singletons are never freed anyway, so this changes nothing else.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

HEADROOM = 1 << 40  # references added to each singleton: more than any session can steal


class _Probe(QObject):
    """A throwaway signal to test emit()'s reference counting."""

    fired = Signal()


def emit_steals_references(trials: int = 64) -> bool:
    """True if emit() leaves True with fewer references than before (the bug)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(trials):
        probe.fired.emit()
    return sys.getrefcount(True) < before - trials // 2


def protect_singletons() -> bool:
    """Give None/True/False enough references to outlive the leak; returns whether needed."""
    if sys.version_info >= (3, 12) or not emit_steals_references():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += HEADROOM
    return True


APPLIED = protect_singletons()
