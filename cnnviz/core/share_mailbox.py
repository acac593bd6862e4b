"""Batch-statistics exchanges between a share worker and the caller, in shared memory.

A batch-norm network's step in shares exchanges per-channel sums three times per batch-
norm layer (27 times a step for mini-resnet). Over a pipe each exchange woke a sleeping
process: ~100 µs on the build machine, 2.5–2.7 ms of a 11.7 ms step. Here the sender
writes its arrays into the shared block and then raises a counter, and the receiver,
which is mid-step on the other core, spins on the counter for the few microseconds to
milliseconds until it moves. After `SPIN_S` of spinning it sleeps between looks, and it
looks at the pipe now and then: a worker reports a failure there, and a closed pipe
means the other process is gone.

The counter is written after the data, and the data read after the counter: on x86-64
another core sees one process's stores in the order they were made, so that is enough
(`ORDERED`). Elsewhere batch-norm steps keep their shares on threads.
"""

from __future__ import annotations

import platform
import time
from typing import Any

import numpy as np

from cnnviz.core.batch_sync import SYNCED_TYPES
from cnnviz.core.layers import iter_layers
from cnnviz.core.share_segment import Field

ORDERED = platform.machine().lower() in ("x86_64", "amd64")
LOOK_EVERY = 256  # spins between looks at the pipe and the clock
SPIN_S = 0.005  # then sleep between looks
NEXT_STEP_SPIN_S = 0.002  # a worker looks this long for the next step before it sleeps
NAP_S = 50e-6


def fields(floats: int) -> list[Field]:
    """The exchange's fields in a share's block: counters and a buffer each way."""
    return [("sum_seq", (1,), "int64"), ("total_seq", (1,), "int64"),
            ("sums", (floats,), "float64"), ("totals", (floats,), "float64")]


def floats_needed(net: Any) -> int:
    """Room for the largest exchange of net's batch-norm layers: (Σδ, Σδ·x̂) per channel."""
    channels = [layer.in_shape[0] for layer in iter_layers(net.layers)
                if layer.type in SYNCED_TYPES]
    return 2 * max(channels, default=0) + 8


def pack(arrays: tuple[np.ndarray, ...], buffer: np.ndarray) -> None:
    """The arrays' values one after the other into the float64 buffer (counts are exact
    in float64 below 2**53)."""
    start = 0
    for array in arrays:
        buffer[start:start + array.size] = array.ravel()
        start += array.size


def unpack(buffer: np.ndarray, like: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Arrays shaped and typed like `like` (the receiver's own arrays of the exchange)."""
    out, start = [], 0
    for array in like:
        values = buffer[start:start + array.size]
        out.append(values.astype(array.dtype).reshape(array.shape))
        start += array.size
    return tuple(out)


def wait_for(counter: np.ndarray, value: int, conn: Any, timeout: float) -> bool:
    """Until counter[0] reaches value: True; False if the pipe has something to read
    first (a failure report, or the other side closed it) or `timeout` seconds pass."""
    spins, started = 0, time.monotonic()
    while counter[0] < value:
        spins += 1
        if spins % LOOK_EVERY:
            continue
        if conn.poll():
            return False
        waited = time.monotonic() - started
        if waited > timeout:
            return False
        if waited > SPIN_S:
            time.sleep(NAP_S)
    return True


def poll_spinning(conn: Any, spin: float, timeout: float | None) -> bool:
    """conn.poll(timeout), but looking without sleeping for the first `spin` seconds: the
    trainer's next step, or a worker's answer, usually comes within a millisecond, and
    waking a sleeping process costs ~50–100 µs here. (timeout None: wait for good.)"""
    deadline = time.monotonic() + spin
    while time.monotonic() < deadline:
        if conn.poll():
            return True
    return conn.poll(timeout)


class WorkerLink:
    """A worker's BatchSync: its partial sums into the block, the caller's totals back."""

    def __init__(self, arrays: dict[str, np.ndarray], conn: Any, timeout: float) -> None:
        self.arrays, self.conn, self.timeout = arrays, conn, timeout
        self.count = 0

    def all_sum(self, arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        self.count += 1
        pack(arrays, self.arrays["sums"])
        self.arrays["sum_seq"][0] = self.count
        if not wait_for(self.arrays["total_seq"], self.count, self.conn, self.timeout):
            raise RuntimeError("the caller ended the step during a batch-norm exchange")
        return unpack(self.arrays["totals"], arrays)
