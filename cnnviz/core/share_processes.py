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
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress

import numpy as np

from cnnviz.core import share_mailbox as mailbox
from cnnviz.core.batch_sync import sharing
from cnnviz.core.kernels import _jit
from cnnviz.core.layers import iter_layers
from cnnviz.core.network import Network
from cnnviz.core.share_segment import Field, Segment
from cnnviz.core.share_worker import REPLY_TIMEOUT_S, serve, state_arrays


class WorkerLostError(RuntimeError):
    """A worker failed in the middle of a step whose shares exchange batch statistics."""


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


# --- the layout of a step's shared block -----------------------------------------------


def layout(net: Network, capacity: int) -> list[Field]:
    """The block's fields for shares of up to `capacity` examples of net."""
    dtype = net.dtype.name
    fields: list[Field] = [(f"s:{n}", a.shape, dtype) for n, a in state_arrays(net).items()]
    fields += [(f"g:{n}", a.shape, dtype) for n, a in net.params().items()]
    out_shape = tuple(net.spec.layers[-1].out_shape)
    return fields + [
        ("x", (capacity, *net.spec.input_shape), dtype),
        ("y", (capacity,), "int64"),
        ("out", (capacity, *out_shape), dtype),
        ("loss", (1,), "float64"),
        *mailbox.fields(mailbox.floats_needed(net)),
    ]


def modes(net: Network) -> tuple[bool, ...]:
    """Every layer's training flag, blocks' inner layers included."""
    return tuple(layer.training for layer in iter_layers(net.layers))


@contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """Ignore Ctrl+C while a worker is spawned, so that it starts ignoring it (an ignored
    signal stays ignored across exec, and Python then installs no handler): Ctrl+C in a
    terminal reaches the whole process group, and the parent decides. Only the main
    thread can change signal handlers; from others (the window's trainer thread) the
    worker ignores Ctrl+C from `serve` on. A Ctrl+C in the few milliseconds of the spawn
    is lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


class ShareWorker:
    """One worker process and the network it holds, as the parent sees them."""

    def __init__(self, index: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child,), daemon=True,
                                       name=f"cnnviz-share-{index}")
        with _interrupts_ignored():
            self.process.start()
        child.close()
        _jit.count_as_own(self.process.pid)
        self.state = "idle"  # → loading → loaded; or broken
        self.token = 0
        self.key: tuple | None = None
        self.segment: Segment | None = None
        self.error = ""
        self.steps = 0  # shares this worker ran
        self.exchanges = 0  # batch-statistics exchanges in the current step

    def _drain(self) -> None:
        """Take in the messages that have arrived, without waiting."""
        try:
            while self.state != "broken" and self.conn.poll():
                self._take(self.conn.recv())
        except (EOFError, OSError) as error:
            self.fail(f"the worker process ended ({error or 'pipe closed'})")

    def _take(self, message: tuple) -> None:
        kind = message[0]
        if message[1] == self.token and kind == "loaded":
            self.state = "loaded"
        elif message[1] == self.token and kind == "failed":
            self.fail(message[2])

    def ready_for(self, net: Network, capacity: int) -> bool:
        """Whether this worker holds net for shares of `capacity` examples; if not, and
        it is free, start loading it (the answer comes on a later step)."""
        self._drain()
        key = (net.spec, net.dtype, modes(net))
        fits = (self.key is not None and self.key[0] is net.spec and self.key[1:] == key[1:]
                and self.segment is not None and self.segment.arrays["x"].shape[0] >= capacity)
        if self.state == "loaded" and fits:
            return True
        if self.state == "idle" or (self.state == "loaded" and not fits):
            self._load(net, key, capacity)
        return False

    def _load(self, net: Network, key: tuple, capacity: int) -> None:
        if self.segment is not None:
            self.segment.close()
        fields = layout(net, capacity)
        self.segment = Segment.create(fields)
        self.key, self.token, self.state = key, self.token + 1, "loading"
        self._send(("load", self.token, net.spec, net.dtype.name, key[2], self.segment.name,
                    fields))

    def _send(self, message: tuple) -> None:
        """Send the worker a message; if its process is gone, drop it (fail)."""
        try:
            self.conn.send(message)
        except OSError as error:  # the worker ended since the last look at the pipe
            self.fail(f"the worker process ended ({error or 'pipe closed'})")

    def begin(self, net: Network, x: np.ndarray, y: np.ndarray, weight: float,
              index: int) -> None:
        """Hand the worker its share: state, inputs and labels into the block, then go.
        (A share that raises in the worker, even a floating-point error the caller asked
        to raise, drops the worker: the caller then runs the share and raises itself. So
        does a worker found gone here: `end` then says None.)"""
        arrays = self.segment.arrays
        for name, array in state_arrays(net).items():
            np.copyto(arrays[f"s:{name}"], array)
        m = x.shape[0]
        arrays["x"][:m] = x
        arrays["y"][:m] = y
        arrays["sum_seq"][0] = arrays["total_seq"][0] = self.exchanges = 0
        self.token += 1
        self._send(("step", self.token, m, weight, np.geterr(), index))

    def partial_sums(self, like: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """The worker's side of a batch-statistics exchange, shaped like the caller's
        own arrays `like` (WorkerLostError if the worker failed or went silent)."""
        if self.state == "broken":
            raise WorkerLostError(self.error)
        self.exchanges += 1
        arrays = self.segment.arrays
        if not mailbox.wait_for(arrays["sum_seq"], self.exchanges, self.conn, REPLY_TIMEOUT_S):
            message = self._reply(wait=False)  # the pipe spoke, or the time is already up
            if self.state != "broken":
                self.fail(f"unexpected {message[0]!r} from the worker during an exchange")
            raise WorkerLostError(self.error)
        return mailbox.unpack(arrays["sums"], like)

    def send_total(self, total: tuple[np.ndarray, ...]) -> None:
        """The exchange's totals, for the worker to carry on with."""
        arrays = self.segment.arrays
        mailbox.pack(total, arrays["totals"])
        arrays["total_seq"][0] = self.exchanges

    def _reply(self, wait: bool = True) -> tuple:
        """The worker's next message, waiting up to REPLY_TIMEOUT_S for it (or, `wait`
        False, only a moment); ("lost",) and the worker dropped if there is none."""
        try:
            if not mailbox.poll_spinning(self.conn, mailbox.SPIN_S,
                                         REPLY_TIMEOUT_S if wait else 0.0):
                self.fail(f"no answer within {REPLY_TIMEOUT_S:.0f} s")
                return ("lost",)
            message = self.conn.recv()
        except (EOFError, OSError) as error:
            self.fail(f"the worker process ended ({error or 'pipe closed'})")
            return ("lost",)
        if message[0] == "failed":
            self.fail(message[2])
        return message

    def end(self, net: Network, m: int) -> tuple[float, np.ndarray, list[dict]] | None:
        """The share's (loss, logits, per-layer gradients), or None if the worker failed
        (it is then dropped and the caller runs the share itself)."""
        if self.state == "broken":
            return None
        message = self._reply()
        if message[:2] != ("done", self.token):
            if self.state != "broken":
                self.fail(f"unexpected {message[0]!r} from the worker")
            return None
        self.steps += 1
        arrays = self.segment.arrays
        grads = [{name: arrays[f"g:{layer.index}.{name}"] for name in layer.params}
                 for layer in net.layers]
        return float(arrays["loss"][0]), arrays["out"][:m], grads

    def fail(self, reason: str) -> None:
        """Drop this worker for good (its shares run on the caller from now on)."""
        self.state, self.error = "broken", reason
        self.close()

    def retire(self, reason: str) -> None:
        """Stop this worker without blame (its step failed elsewhere): a new one replaces
        it, and it does not count towards MAX_FAILURES."""
        self.state, self.error = "retired", reason
        self.close()

    def close(self) -> None:
        """Ask the process to stop, then make sure it has."""
        with suppress(OSError, ValueError):  # the pipe is already closed
            self.conn.send(("quit",))
        self.process.join(timeout=1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=1.0)
        _jit.count_as_own(self.process.pid, False)
        self.conn.close()
        if self.segment is not None:
            self.segment.close()
            self.segment = None


class WorkerHub:
    """Share 0's BatchSync when the step's other shares run in workers: their partial sums
    gathered in share order and added to its own; the totals sent back to them."""

    def __init__(self, workers: list[ShareWorker]) -> None:
        self.workers = workers

    def all_sum(self, arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        arrays = tuple(arrays)
        parts = [arrays, *(worker.partial_sums(arrays) for worker in self.workers)]
        total = _jit.add_in_order(parts)
        for worker in self.workers:
            worker.send_total(total)
        return tuple(np.array(a, copy=True) for a in total)


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
    _FAILURES.extend(worker.error for worker in _WORKERS if worker.state == "broken")
    _WORKERS[:] = [worker for worker in _WORKERS if worker.state not in ("broken", "retired")]
    if not usable():
        return []
    try:
        while len(_WORKERS) < needed:
            _WORKERS.append(ShareWorker(len(_WORKERS) + 1))
        workers = _WORKERS[:needed]
        ready = [worker.ready_for(net, capacity) for worker in workers]
    except (OSError, RuntimeError, ValueError) as error:  # no processes here (a sandbox)
        _FAILURES.extend([f"{type(error).__name__}: {error}"] * MAX_FAILURES)
        return []
    return workers if all(ready) else []


def describe() -> str:
    """Where the shares of the latest steps ran, in words (for `cnnviz bench`)."""
    if not enabled():
        return "threads (worker processes off: CNNVIZ_SHARE_PROCESSES=0)"
    if not usable() and _FAILURES:
        return f"threads (worker processes unavailable: {_FAILURES[-1]})"
    used = [worker for worker in _WORKERS if worker.steps]
    if not used:
        return "threads (no worker process was ready)"
    return f"{len(used)} worker process{'es' if len(used) > 1 else ''} beside the caller"


def shutdown() -> None:
    """Stop every worker (at exit, and for tests)."""
    with _LOCK:
        for worker in _WORKERS:
            if worker.state not in ("broken", "retired"):
                worker.close()
        _WORKERS.clear()
        _FAILURES.clear()


atexit.register(shutdown)
