"""Numba flags for every kernel, set in one place, and the batch splitter.

`kernel` compiles a function with the house flags: cached on disk, releasing the GIL,
and the fast-math subset that lets LLVM vectorise sums (re-association, contraction)
while keeping NaN and infinity semantics (the divergence guard needs them);
`exact_kernel` the same without fast math, where NumPy's rounding must be kept. A function
that kernels call is a `helper`: inlined into each caller by Numba, never linked in
as a separately compiled function (see `helper` for why).

Kernels are serial. Large batches are split into chunks that run on a small thread
pool: the kernels release the GIL, so the chunks run on all cores, and no kernel pays
the compile time of `parallel=True`. When other processes already fill the other cores
(`cores_busy`), the caller runs the same chunks itself.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager

from numba import njit
from threadpoolctl import threadpool_limits

# BLAS runs single-threaded: the batch splitter below already uses every core, and a
# multi-threaded BLAS on a shared 2-core machine was seen to stall for milliseconds
# (re-measured 2026-11-23: 2 OpenBLAS threads took a LeNet-5 step at batch 64 from
# ~4 ms to 3.2 ms on an idle second core, but to 10–15 ms when another process held
# it; its idle threads spin and also fight the kernel pool).
threadpool_limits(1, user_api="blas")


def _keep_freed_memory() -> None:
    """Let glibc reuse freed blocks of any size instead of mapping fresh pages each time.

    By default large arrays are mmap'd, and every fresh page faults on first touch: a
    1.7 MB temporary cost 0.5–1.4 ms per conv call (8× the kernel) in some shapes.
    Freed heap memory is kept up to 512 MB rather than returned to the OS at once.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 256 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 512 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: leave the allocator alone
        pass


_keep_freed_memory()

FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
JIT_FLAGS = {"cache": True, "nogil": True, "fastmath": FASTMATH, "error_model": "numpy"}
# The same without fast math, for arithmetic that must round as NumPy's does (see exact_kernel)
EXACT_FLAGS = {**JIT_FLAGS, "fastmath": False}

# Below this many multiply-adds a kernel call runs on the calling thread: handing work
# to a pool thread costs tens of microseconds.
PARALLEL_MIN_WORK = 400_000


def kernel(function: Callable) -> Callable:
    """Compile `function` with the house flags (see module docstring)."""
    return njit(**JIT_FLAGS)(function)


def exact_kernel(function: Callable) -> Callable:
    """Compile `function` cached and releasing the GIL like `kernel`, but without fast
    math: each operation rounds where the code says, as the same expression on NumPy
    arrays would (no fused multiply-add from `contract`, no reordering from `reassoc`).
    For short kernels that replace NumPy expressions bit for bit."""
    return njit(**EXACT_FLAGS)(function)


def helper(function: Callable) -> Callable:
    """Compile `function`, called from kernels, with the house flags, inlined into each
    caller at the Numba IR level (`inline="always"`), so that a caller's machine code
    holds all its arithmetic and runs the same in every process.

    A kernel calling an ordinary `kernel` links in a copy of it that LLVM optimises a
    second time within the caller; with fast math that copy may add in another order
    than the callee compiled on its own. Both define the same (`linkonce_odr`) symbol,
    and the process's JIT links the caller's call to the one loaded first: the callee's
    own in a process that has just compiled both (a callee compiles before its caller),
    the caller's copy in one that loads the caller from Numba's cache. Batch norm's
    float64 backward (`_delta_sums`) gave different last bits in the two.

    Keep a helper in the module of the kernels that call it: Numba's cache checks only
    the caller's source file for changes.
    """
    return njit(inline="always", **JIT_FLAGS)(function)


def thread_count() -> int:
    """How many threads the batch splitter uses (CNNVIZ_THREADS overrides)."""
    env = os.environ.get("CNNVIZ_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(8, os.cpu_count() or 1))


_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0


def _pool(min_threads: int = 0) -> ThreadPoolExecutor:
    """The kernel pool: `thread_count()` threads, or `min_threads` if more. A pool too small
    is replaced, not shut down: callers still holding it finish, and its threads exit
    once it is garbage."""
    global _POOL, _POOL_SIZE
    if _POOL is None or min_threads > _POOL_SIZE:
        _POOL_SIZE = max(thread_count(), min_threads)
        _POOL = ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="cnnviz-kernel")
    return _POOL


_whole = threading.local()  # .on: this thread runs one chunk of a split step (see below)


@contextmanager
def whole_chunks() -> Iterator[None]:
    """Within it, this thread's kernels take their whole input as one chunk: the caller
    already runs on a share of the batch (a data-parallel step), and a pool thread
    waiting on the pool could deadlock it."""
    before = getattr(_whole, "on", False)
    _whole.on = True
    try:
        yield
    finally:
        _whole.on = before


def one_chunk(batch: int, work: int) -> bool:
    """Whether `batch_chunks(batch, work)` is the whole batch as one chunk: then callers
    run their kernels directly, without the chunk machinery (a few µs a call at batch 1)."""
    return work < PARALLEL_MIN_WORK or batch < 2 or getattr(_whole, "on", False)


def batch_chunks(batch: int, work: int) -> list[tuple[int, int]]:
    """Split `batch` examples into contiguous ranges, one per thread, if `work` is large."""
    if one_chunk(batch, work):
        return [(0, batch)]  # the common small case, without the sums
    parts = max(1, min(thread_count(), batch))
    bounds = [round(k * batch / parts) for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(parts)]


_BUSY_WINDOW_S = 0.1
# when last sampled: wall clock, system busy CPU seconds, this process's CPU seconds; and
# the verdict of the latest full window
_busy_sample: list = [-1.0, 0.0, 0.0, False]


def _system_busy_seconds() -> float | None:
    """CPU seconds every core together spent busy since boot (steal included: a vCPU
    another guest holds is not free), from /proc/stat; None where unknown."""
    try:
        with open("/proc/stat", "rb") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values) - idle) / ticks


_OWN_HELPERS: set[int] = set()  # worker processes whose CPU time counts as this process's


def count_as_own(pid: int, own: bool = True) -> None:
    """Count (or stop counting) a helper process's CPU time as this process's own in
    `cores_busy`: the share workers run this process's work."""
    (_OWN_HELPERS.add if own else _OWN_HELPERS.discard)(pid)


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and of its share workers."""
    total = time.process_time()
    for pid in tuple(_OWN_HELPERS):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, AttributeError):
            pass
    return total


def cores_busy() -> bool:
    """Whether other processes keep every core but the caller's busy: over the last
    ~100 ms, the system's busy CPU time minus this process's own (its share workers'
    included) left less than half a core free. False where unknown.

    (The running-task count of /proc/loadavg, used before, never fell below 2 on the
    2-vCPU build machine even when idle, so the pool never ran.) A pool thread on a
    busy machine only takes CPU from other tasks and from the caller: at load 2.5–3,
    two threads made a LeNet-5 step at batch 64 7–10 % slower than one.
    """
    now, own = time.monotonic(), _own_cpu_seconds()
    when, system_then, own_then, verdict = _busy_sample
    if now - when < _BUSY_WINDOW_S:
        return verdict
    system = _system_busy_seconds()
    if system is None:
        return False
    if when >= 0:
        others = max(0.0, (system - system_then) - (own - own_then)) / (now - when)
        verdict = (os.cpu_count() or 1) - 1 - others < 0.5
    _busy_sample[:] = [now, system, own, verdict]
    return verdict


def over_batch(task: Callable[[int, int], object], batch: int, work: int) -> list:
    """`run_chunks(task, batch_chunks(batch, work))`; a batch that stays one chunk is
    task(0, batch), called directly."""
    if one_chunk(batch, work):
        return [task(0, batch)]
    return run_chunks(task, batch_chunks(batch, work))


def add_in_order(parts: Sequence[tuple]) -> tuple:
    """Per-chunk partial results (tuples of arrays, as `run_chunks` returns them) added
    element by element in chunk order: the same sums whether the pool or the caller ran
    the chunks."""
    total = tuple(parts[0])
    if len(parts) == 1:
        return total
    for more in parts[1:]:
        total = tuple(a + b for a, b in zip(total, more, strict=True))
    return total


def run_chunks(task: Callable[[int, int], object], chunks: Sequence[tuple[int, int]]) -> list:
    """Run task(start, stop) for every chunk, on the pool when there are several and a
    core is free (else one after the other on the caller: the same chunks, so the same
    results)."""
    if len(chunks) == 1:
        return [task(*chunks[0])]
    if cores_busy():
        return [task(start, stop) for start, stop in chunks]
    futures = [_pool().submit(task, start, stop) for start, stop in chunks[1:]]
    results = [task(*chunks[0])]
    results.extend(future.result() for future in futures)
    return results


def run_together(task: Callable[[int, int], object], chunks: Sequence[tuple[int, int]]) -> list:
    """Run task(start, stop) for every chunk at the same time, each on its own thread (the
    first on the caller, the others on the pool, enlarged if it has too few threads): for
    tasks that wait on each other, which `run_chunks` may run one after the other. Waits
    for every chunk before it returns or raises; results in chunk order."""
    futures = [_pool(len(chunks) - 1).submit(task, start, stop) for start, stop in chunks[1:]]
    try:
        first = task(*chunks[0])
    finally:
        wait(futures)
    return [first, *(future.result() for future in futures)]
