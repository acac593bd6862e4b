"""The share worker process: the other side of core/share_processes.py.

A spawned worker holds a copy of the network. For each step its parent has written the
parameters, buffers, the share's examples and labels into their shared block; the worker
runs the share with the same code as a thread share (`share_pass.run_share`), exchanging
batch-norm statistics through the block (`share_mailbox.WorkerLink`), and writes the
gradients, logits and loss back. Control messages come and go over the pipe.
"""

from __future__ import annotations

import signal
from typing import Any

import numpy as np

from cnnviz.core import share_mailbox as mailbox
from cnnviz.core.batch_sync import sharing
from cnnviz.core.layers import iter_layers
from cnnviz.core.network import Network
from cnnviz.core.share_pass import run_share
from cnnviz.core.share_segment import Field, Segment

REPLY_TIMEOUT_S = 120.0  # a worker that does not answer a step within this is dropped


def state_arrays(net: Network) -> dict[str, np.ndarray]:
    """The live parameter and buffer arrays a worker must mirror before each step."""
    return {**net.params(), **net.buffers()}


def serve(conn: Any) -> None:
    """The worker's loop: load a network, run shares, until the parent quits or dies.
    Ctrl+C in a terminal reaches the whole process group: the parent decides (it stops
    after the batch), so the worker ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    held: tuple[Any, Segment] | None = None
    while True:
        try:
            mailbox.poll_spinning(conn, mailbox.NEXT_STEP_SPIN_S, None)
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if message[0] == "quit":
            return
        token = message[1]
        try:
            if message[0] == "load":
                if held is not None:
                    held[1].close()
                held = _load(*message[2:])
                conn.send(("loaded", token))
            else:
                m, weight, errors, index = message[2:]
                link = mailbox.WorkerLink(held[1].arrays, conn, REPLY_TIMEOUT_S)
                _run_step(*held, m, weight, errors, link, index)
                conn.send(("done", token))
        except Exception as error:  # noqa: BLE001 — reported to the parent, which carries on
            try:
                conn.send(("failed", token, f"{type(error).__name__}: {error}"))
            except OSError:  # the parent is gone
                return


def _load(spec: Any, dtype: str, flags: tuple[bool, ...], name: str,
          fields: list[Field]) -> tuple[Any, Segment]:
    """Build the network, attach its block and run one share of zeros through the
    in-share code path (compiles or loads its kernels)."""
    net = Network(spec, seed=0, dtype=dtype)
    for layer, flag in zip(iter_layers(net.layers), flags, strict=True):
        layer.training = flag
    segment = Segment.attach(name, fields)
    capacity = segment.arrays["x"].shape[0]
    _run_step(net, segment, capacity, 1.0, None, _Alone(), 1)
    return net, segment


def _run_step(net: Any, segment: Segment, m: int, weight: float,
              errors: dict[str, str] | None, sync: Any, index: int) -> None:
    """Share `index`: the parent's state in, gradients, logits and loss out; batch
    statistics through `sync`; floating-point errors treated as the parent treats them
    (`np.geterr()` there)."""
    arrays = segment.arrays
    for name, array in state_arrays(net).items():
        np.copyto(array, arrays[f"s:{name}"])
    with np.errstate(**(errors or {})), sharing(sync, index):
        loss, out = run_share(net, net.layers, arrays["x"][:m], arrays["y"][:m], weight)
    for name, grad in net.grads().items():
        np.copyto(arrays[f"g:{name}"], grad)
    arrays["out"][:m] = out
    arrays["loss"][0] = loss


class _Alone:
    """The BatchSync of a share that is the whole step (the warm-up)."""

    def all_sum(self, arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        return tuple(np.array(a, copy=True) for a in arrays)


# --- the parent's view of a worker -------------------------------------------------------
