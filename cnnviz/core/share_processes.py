"""Worker processes that run shares of the trainer's data-parallel step (the parent's side;
the worker's is core/share_worker.py).

Threads sharing the GIL run a step's shares side by side well only when nothing disturbs
them: each share makes ~90 short calls that take and hand back the GIL, and a hand-back
to a thread whose CPU went idle wakes it first (`cnnviz bench`, alternating with
PyTorch: 2.63–2.65 ms a LeNet-5 batch-64 step on threads, 1.51–1.60 ms with a worker).
So each extra share of a step runs in a worker process: a spawned Python (no fork of a
threaded GUI process, no Qt) holding its own copy of the network. Per step the parent
writes the parameters, buffers, the share's inputs and labels into a shared-memory block
(`Segment`); the worker runs forward, loss and backward on its share with the same code
as a thread share (`share_pass.run_share`) and writes the gradients, its logits and its
loss back. The pipe carries only short control messages.

A worker is used only when it holds the step's network, loaded and warmed up (its
kernels compiled or read from the Numba cache); until then, and if it ever fails, the
parent runs the share itself: the same code on the same numbers, so the same bits.
CNNVIZ_SHARE_PROCESSES=0 turns the workers off.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

import numpy as np

from cnnviz.core import grad_jobs
from cnnviz.core import share_mailbox as mailbox
from cnnviz.core.batch_sync import sharing
from cnnviz.core.kernels import _jit
from cnnviz.core.network import Network
from cnnviz.core.worker_handle import (  # noqa: F401 — the pool's names for its callers
    ShareWorker,
    WorkerHub,
    WorkerLostError,
    layout,
    modes,
)


def enabled() -> bool:
    """Whether steps may use worker processes (CNNVIZ_SHARE_PROCESSES=0: never)."""
    return os.environ.get("CNNVIZ_SHARE_PROCESSES", "1") != "0"


MAX_FAILURES = 3  # workers that failed are replaced until this many have; then threads
_FAILURES: list[str] = []  # why workers failed (or could not start), oldest first


def usable() -> bool:
    """Whether workers are enabled, can start, and have not failed too often."""
    return enabled() and len(_FAILURES) < MAX_FAILURES and max_workers() > 0


def max_workers() -> int:
    """One worker per core beyond the caller's."""
    return max(0, (os.cpu_count() or 1) - 1)




def run_with_workers(net: Network, x: np.ndarray, y: np.ndarray,
                     parts: list[tuple[int, int]], workers: list[ShareWorker],
                     share: Callable[[int, int], tuple], synced: bool) -> list | None:
    """The step's shares: `share(*parts[0])` here while the workers run the others.

    Without batch statistics, a share whose worker failed runs here afterwards. With them
    (`synced`), share 0 gathers the workers' partial sums; if a worker fails mid-step,
    every worker of the step is dropped, the running statistics are put back and None
    is returned (the caller runs the step on threads). An error here drops the workers
    too (they are mid-step) and is raised.
    """
    n = x.shape[0]
    # only a synced step moves the running statistics (share 0, mid-step)
    buffers = {name: array.copy() for name, array in net.buffers().items()} if synced else {}
    begun: list[ShareWorker] = []
    try:
        for k, (worker, (start, stop)) in enumerate(zip(workers, parts[1:], strict=True), 1):
            worker.begin(net, x[start:stop], y[start:stop], (stop - start) / n, k)
            begun.append(worker)
        with sharing(WorkerHub(workers), 0) if synced else nullcontext():
            results = [share(*parts[0])]
        for worker, (start, stop) in zip(workers, parts[1:], strict=True):
            result = worker.end(net, stop - start)
            if result is None and synced:
                raise WorkerLostError(worker.error)
            results.append(result or share(start, stop))
        return results
    except BaseException as error:
        _release_after_error(net, begun, parts, synced, error)
        live = net.buffers()
        for name, saved in buffers.items():
            np.copyto(live[name], saved)
        if isinstance(error, WorkerLostError):
            return None
        raise


def _release_after_error(net: Network, begun: list[ShareWorker],
                         parts: list[tuple[int, int]], synced: bool,
                         error: BaseException) -> None:
    """The workers a step that raised had handed a share (`begun`, in share order; the
    others never started one and stay as they are). A failed worker marked itself broken where
    the failure showed; the others are not to blame and do not count towards
    MAX_FAILURES. Without batch statistics their shares end on their own: their results
    are taken in and dropped, and they stay loaded. With them a worker may wait for an
    exchange that will not come, so it is retired (a new one replaces it)."""
    reason = f"the step stopped: {type(error).__name__}: {error}"
    for worker, (start, stop) in zip(begun, parts[1:], strict=False):
        if worker.state in ("broken", "retired"):
            continue
        finished = not synced and not isinstance(error, WorkerLostError) and (
            worker.end(net, stop - start) is not None)
        if not finished and worker.state != "broken":  # end() marks a worker that failed
            worker.retire(reason)


# --- the pool of workers -----------------------------------------------------------------

_WORKERS: list[ShareWorker] = []
_LOCK = threading.Lock()  # one step at a time uses the workers


@contextmanager
def borrowed(net: Network, parts: list[tuple[int, int]],
             synced: bool = False) -> Iterator[list[ShareWorker]]:
    """Workers for every share of `parts` but the first, each holding net — or [] (the
    caller then runs the shares on threads), also while another step holds them, and
    for `synced` steps (batch statistics) where the exchange needs ordered stores."""
    needed = len(parts) - 1
    if (not usable() or needed < 1 or needed > max_workers() or (synced and not mailbox.ORDERED)
            or not _LOCK.acquire(False)):
        yield []
        return
    try:
        yield _ready(net, needed, max(stop - start for start, stop in parts[1:]))
    finally:
        _LOCK.release()


def _ready(net: Network, needed: int, capacity: int) -> list[ShareWorker]:
    """The first `needed` live workers if all hold net; starts and loads them if not."""
    workers = _live(needed)
    try:
        ready = [worker.ready_for(net, capacity) for worker in workers]
    except (OSError, RuntimeError, ValueError) as error:  # no shared memory here
        _FAILURES.extend([f"{type(error).__name__}: {error}"] * MAX_FAILURES)
        return []
    return workers if workers and all(ready) else []


def _live(needed: int) -> list[ShareWorker]:
    """The first `needed` workers, broken ones dropped and missing ones started; [] if
    workers cannot be used (or cannot start: then never again this session)."""
    _FAILURES.extend(worker.error for worker in _WORKERS if worker.state == "broken")
    _WORKERS[:] = [worker for worker in _WORKERS if worker.state not in ("broken", "retired")]
    if not usable():
        return []
    try:
        while len(_WORKERS) < needed:
            _WORKERS.append(ShareWorker(len(_WORKERS) + 1))
    except (OSError, RuntimeError, ValueError) as error:  # no processes here (a sandbox)
        _FAILURES.extend([f"{type(error).__name__}: {error}"] * MAX_FAILURES)
        return []
    return _WORKERS[:needed]


@contextmanager
def borrowed_for_grads(net: Network, m: int) -> Iterator[ShareWorker | None]:
    """A worker ready to take the convolutions' weight gradients of net's one-share step
    of m examples (core/grad_jobs.py), or None: workers off or failed, the other core
    busy, another step holding the worker, nothing to hand over, or not ready yet (it
    then starts loading)."""
    if not offload_possible(net) or _jit.cores_busy() or not _LOCK.acquire(False):
        yield None
        return
    try:
        yield _ready_for_grads(net, m)
    finally:
        _LOCK.release()


def offload_possible(net: Network) -> bool:
    """Whether net's one-share steps could hand their weight gradients to a worker."""
    return usable() and mailbox.ORDERED and grad_jobs.has_jobs(net)


def _ready_for_grads(net: Network, m: int) -> ShareWorker | None:
    """The worker if it holds net's block for m examples (else it starts loading it)."""
    workers = _live(1)
    try:
        ready = bool(workers) and workers[0].ready_for_grads(net, m)
    except (OSError, RuntimeError, ValueError) as error:  # no shared memory here
        _FAILURES.extend([f"{type(error).__name__}: {error}"] * MAX_FAILURES)
        return None
    return workers[0] if ready else None


def grads_ready(net: Network, m: int) -> bool:
    """Whether a worker holds net's block for one-share steps of m examples (starts
    loading it if not); False also while another step holds the worker."""
    if not offload_possible(net) or not _LOCK.acquire(False):
        return False
    try:
        return _ready_for_grads(net, m) is not None
    finally:
        _LOCK.release()


def describe() -> str:
    """Where the shares of the latest steps ran, in words (for `cnnviz bench`)."""
    if not enabled():
        return "threads (worker processes off: CNNVIZ_SHARE_PROCESSES=0)"
    if not usable() and _FAILURES:
        return f"threads (worker processes unavailable: {_FAILURES[-1]})"
    used = [worker for worker in _WORKERS if worker.steps or worker.grad_steps]
    if not used:
        return "threads (no worker process was ready)"
    text = f"{len(used)} worker process{'es' if len(used) > 1 else ''} beside the caller"
    if grad_steps():  # steps that did not split (batch 1) used it too
        text += f"; it took the weight gradients of {grad_steps()} one-share steps"
    return text


def grad_steps() -> int:
    """One-share steps whose weight gradients the live workers computed (for `cnnviz bench`)."""
    return sum(worker.grad_steps for worker in _WORKERS)


def shutdown() -> None:
    """Stop every worker (at exit, and for tests)."""
    with _LOCK:
        for worker in _WORKERS:
            if worker.state not in ("broken", "retired"):
                worker.close()
        _WORKERS.clear()
        _FAILURES.clear()


atexit.register(shutdown)
