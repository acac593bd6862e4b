"""The parent's handle on one share worker process (core/share_processes.py runs the pool
of them and the steps; the worker's side is core/share_worker.py).

A `ShareWorker` starts the process, keeps track of the network and the blocks it holds
(a step's shares: `Segment`; one-share steps' weight gradients: `grad_jobs.Block`), and
speaks the pipe's short control messages. `WorkerHub` is share 0's batch-statistics
exchange with the workers of a step.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import numpy as np

from cnnviz.core import grad_jobs
from cnnviz.core import share_mailbox as mailbox
from cnnviz.core.kernels import _jit
from cnnviz.core.layers import iter_layers
from cnnviz.core.network import Network
from cnnviz.core.share_segment import Field, Segment
from cnnviz.core.share_worker import REPLY_TIMEOUT_S, serve, state_arrays


class WorkerLostError(RuntimeError):
    """A worker failed in the middle of a step whose shares exchange batch statistics."""



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
        self.grads = grad_jobs.Block()  # for one-share steps' weight gradients
        self.grad_steps = 0  # one-share steps it served

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
        elif message[1] == self.grads.token and kind == "grads-loaded":
            self.grads.state = "loaded"
        elif kind == "grads-failed" or (message[1] == self.token and kind == "failed"):
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

    def ready_for_grads(self, net: Network, capacity: int) -> bool:
        """Whether this worker can take the weight gradients of net's one-share steps of up
        to `capacity` examples; if not, start loading its block (see `ready_for`)."""
        self._drain()
        block = self.grads
        fits = block.fits(net, capacity)
        if block.state == "loaded" and fits:
            return True
        if self.state != "broken" and (block.state == "none" or not fits):
            self._send(block.load(net, capacity))
        return False

    def begin_grads(self, net: Network, m: int) -> grad_jobs.Jobs | None:
        """A one-share step's Jobs, the worker told to serve them; None if it is gone."""
        jobs, message = self.grads.jobs(net, self.conn, m)
        self._send(message)
        return None if self.state == "broken" else jobs

    def collect_grads(self, jobs: grad_jobs.Jobs) -> None:
        """The step's weight gradients into its layers: the worker's, or, if they do not
        come, the caller's own (the worker is then dropped, with its report if it sent one)."""
        if jobs.collect(REPLY_TIMEOUT_S):
            self.grad_steps += 1
            return
        jobs.compute_here()
        self._drain()
        if self.state != "broken":
            self.fail(f"no weight gradients within {REPLY_TIMEOUT_S:.0f} s")

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
        self.grads.close()


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
