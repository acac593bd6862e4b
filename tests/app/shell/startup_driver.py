"""Run `cnnviz` (no arguments) with the start-up probe, recording which thread gave each
Numba kernel a new compiled version (compiled, or loaded from the cache), and when.

Used by test_startup.py in a fresh interpreter: prints the probe's JSON line, then one
JSON line {"overloads": [[on_main_thread, kernel, time], ...]}.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from numba.core.dispatcher import Dispatcher

RECORDS: list[tuple[bool, str, float]] = []
_add_overload = Dispatcher.add_overload


def add_overload(self, cres):  # noqa: ANN001 - Numba's own signature
    """Record the thread and the time, then add the overload as Numba would."""
    main = threading.current_thread() is threading.main_thread()
    RECORDS.append((main, self.py_func.__qualname__, time.time()))
    return _add_overload(self, cres)


Dispatcher.add_overload = add_overload

if __name__ == "__main__":
    os.environ["CNNVIZ_STARTUP_PROBE"] = "1"
    from cnnviz.cli import main

    code = main([])
    print(json.dumps({"overloads": RECORDS}), flush=True)
    sys.exit(code)
