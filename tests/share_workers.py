"""The share worker process on, for the tests of it (conftest turns it off elsewhere)."""

from __future__ import annotations

import pytest

from cnnviz.core import share_processes
from cnnviz.core.kernels import _jit


@pytest.fixture
def workers(monkeypatch):
    """Worker processes on (one, even on a 1-core machine), two shares a step, whatever
    the machine's load; no worker left over before or after."""
    monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", "1")
    monkeypatch.setattr(share_processes, "max_workers", lambda: 1)
    monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(_jit, "thread_count", lambda: 2)
    monkeypatch.setattr(_jit, "cores_busy", lambda: False)
    share_processes.shutdown()
    yield
    share_processes.shutdown()
