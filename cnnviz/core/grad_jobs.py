"""The convolutions' weight gradients of a one-share step, on the share worker's core.

A training step that does not split into shares (batch 1, or a batch too small to split)
leaves the other core idle. Yet in backward a convolution's ∂E/∂w and ∂E/∂b are not
needed before the update, while its ∂E/∂input is needed at once by the layer below. So
the caller writes each convolution's input and δ into a shared block and posts a job
(`Jobs.post`, through `grad_offload.current_offload()`), then goes on with the input
gradient; the share worker computes the weight gradients with the same kernel
(`conv2d_backward_params`: the same bits, tests compare them) and the caller takes them
in before the update (`Jobs.collect`). If the worker fails, the caller computes them.

Jobs go through counters in the block as the batch-norm exchanges do (`share_mailbox`:
data first, then the counter; x86-64 keeps the order). `posted` and `done` count the jobs
since the block was made; a step's jobs are listed in `queue` in the order they came,
and a STOP ends the step's list (also when its pass raised).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnviz.core import kernels as K
from cnnviz.core import share_mailbox as mailbox
from cnnviz.core.layers import Layer, Residual, iter_layers
from cnnviz.core.share_segment import Field, Segment

STOP = -1  # a queue entry: no more jobs this step


def offloaded(net: Any) -> list[Layer]:
    """The convolutions whose weight gradients a step may hand over: all but a first
    layer (whose backward is its weight gradient alone)."""
    return [layer for layer in iter_layers(net.layers)
            if layer.type == "conv2d" and layer is not net.layers[0]]


def geometry(net: Any) -> list[tuple]:
    """Per job slot: (weight shape, stride, padding), what the worker's kernel needs."""
    return [(layer.params["weight"].shape, tuple(layer.config["stride"]),
             tuple(layer.config["padding"])) for layer in offloaded(net)]


def layout(net: Any, capacity: int) -> list[Field]:
    """The block's fields for steps of up to `capacity` examples: counters, the queue, and
    per convolution its input, δ, and the two gradients."""
    dtype = net.dtype.name
    layers = offloaded(net)
    fields: list[Field] = [("posted", (1,), "int64"), ("done", (1,), "int64"),
                           ("queue", (len(layers) + 1,), "int64")]
    for k, layer in enumerate(layers):
        fields += [(f"x{k}", (capacity, *layer.in_shape), dtype),
                   (f"d{k}", (capacity, *layer.out_shape), dtype),
                   (f"w{k}", layer.params["weight"].shape, dtype),
                   (f"b{k}", layer.params["bias"].shape, dtype)]
    return fields


def _slot_arrays(arrays: dict[str, np.ndarray], k: int) -> tuple[np.ndarray, ...]:
    return arrays[f"x{k}"], arrays[f"d{k}"], arrays[f"w{k}"], arrays[f"b{k}"]


Slots = dict[str, tuple]  # layer key → (slot, input, δ, ∂E/∂w, ∂E/∂b arrays in the block)


def slots(net: Any, segment: Segment) -> Slots:
    """Each offloaded layer's slot and arrays in the block (worked out once per load)."""
    return {layer.key: (k, *_slot_arrays(segment.arrays, k))
            for k, layer in enumerate(offloaded(net))}


_HAS_JOBS: dict[int, tuple[Any, bool]] = {}  # id(spec) → (spec, whether offloaded(net))


def has_jobs(net: Any) -> bool:
    """Whether a step of net has weight gradients to hand over (worked out once per spec)."""
    held = _HAS_JOBS.get(id(net.spec))
    if held is None or held[0] is not net.spec:
        if len(_HAS_JOBS) > 64:  # networks come and go in the editor
            _HAS_JOBS.clear()
        held = _HAS_JOBS[id(net.spec)] = (net.spec, bool(offloaded(net)))
    return held[1]


class Jobs:
    """The caller's side of one step's jobs (a `grad_offload.GradOffload`)."""

    def __init__(self, net: Any, segment: Segment, held: Slots, conn: Any, m: int) -> None:
        arrays = segment.arrays
        self.net, self.slots, self.conn, self.m = net, held, conn, m
        self.counters = arrays["posted"], arrays["done"], arrays["queue"]
        self.base = int(arrays["posted"][0])  # jobs posted before this step
        self.jobs: list[tuple[Layer, int, np.ndarray, np.ndarray]] = []
        self.stopped = False

    def post(self, layer: Layer, x: np.ndarray, delta: np.ndarray) -> bool:
        """The layer's input and δ into its slot, then the job; False if the layer has no
        slot, was posted already, or the batch is not the step's."""
        held = self.slots.get(layer.key)
        if held is None or self.stopped or x.shape[0] != self.m or len(self.jobs) >= len(
                self.slots):
            return False
        k, x_slot, d_slot = held[0], held[1], held[2]
        x_slot[:self.m] = x
        d_slot[:self.m] = delta
        self._enqueue(k)
        self.jobs.append((layer, k, x, delta))
        return True

    def _enqueue(self, entry: int) -> None:
        posted, _, queue = self.counters
        n = len(self.jobs)
        queue[n] = entry
        posted[0] = self.base + n + 1  # after the data and the entry (see the docstring)

    def stop(self) -> None:
        """End the step's list (the worker goes back to its pipe)."""
        if not self.stopped:
            self._enqueue(STOP)
            self.stopped = True

    def collect(self, timeout: float) -> bool:
        """Wait for the worker's gradients and give them to the layers (copies), the blocks'
        gathered ones too; False, with nothing given, if the worker failed or went silent
        (the caller then calls `compute_here`)."""
        self.stop()
        if not mailbox.wait_for(self.counters[1], self.base + len(self.jobs) + 1, self.conn,
                                timeout):
            return False
        for layer, _, _, _ in self.jobs:
            gw, gb = self.slots[layer.key][3:]
            layer.grads = {"weight": gw.copy(), "bias": gb.copy()}
        self._regather()
        return True

    def compute_here(self) -> None:
        """The posted layers' gradients computed by the caller (the worker failed)."""
        for layer, _, x, delta in self.jobs:
            w = layer.params["weight"]
            gw, gb = K.conv2d_backward_params(x, delta, w.shape, layer.config["stride"],
                                              layer.config["padding"])
            layer.grads = {"weight": gw, "bias": gb}
        self._regather()

    def _regather(self) -> None:
        """Blocks gathered their inner gradients in their own backward, before these."""
        for layer in self.net.layers:
            if isinstance(layer, Residual):
                layer.grads = layer.inner_grads()


class Block:
    """A worker's block for one-share steps, as the parent sees it: the network it is laid
    out for, and whether the worker has attached it (state none → loading → loaded)."""

    def __init__(self) -> None:
        self.state, self.token = "none", 0
        self.key: tuple | None = None
        self.segment: Segment | None = None
        self.slots: Slots = {}

    def fits(self, net: Any, capacity: int) -> bool:
        """Whether the block is laid out for net's steps of `capacity` examples."""
        key = self.key
        return (key is not None and key[0] is net.spec and key[1] == net.dtype
                and key[2] >= capacity)

    def load(self, net: Any, capacity: int) -> tuple:
        """A new block for net (the old one goes); the message that has the worker attach it."""
        self.close()
        fields = layout(net, capacity)
        self.segment = Segment.create(fields)
        self.slots = slots(net, self.segment)
        self.key, self.state = (net.spec, net.dtype, capacity), "loading"
        self.token += 1
        return ("grads-load", self.token, self.segment.name, fields, geometry(net))

    def jobs(self, net: Any, conn: Any, m: int) -> tuple[Jobs, tuple]:
        """A step's Jobs, and the message that has the worker serve them."""
        jobs = Jobs(net, self.segment, self.slots, conn, m)
        return jobs, ("grads-step", self.token, jobs.base, m, np.geterr())

    def close(self) -> None:
        if self.segment is not None:
            self.segment.close()
        self.segment, self.slots, self.state = None, {}, "none"


# --- the worker's side --------------------------------------------------------------------


def load(name: str, fields: list[Field], shapes: list[tuple]) -> tuple[Segment, list[tuple]]:
    """Attach the block and run every slot's kernel once on zeros (compiles or loads it)."""
    segment = Segment.attach(name, fields)
    for k, (weight_shape, stride, padding) in enumerate(shapes):
        x, d, _, _ = _slot_arrays(segment.arrays, k)
        K.conv2d_backward_params(np.zeros_like(x[:1]), np.zeros_like(d[:1]), weight_shape,
                                 stride, padding)
    return segment, shapes


def serve_step(held: tuple[Segment, list[tuple]], conn: Any, base: int, m: int,
               errors: dict[str, str], timeout: float) -> None:
    """Run the step's jobs as they are posted, until its STOP (or the parent is gone, or
    says something, or `timeout` seconds pass without a job)."""
    segment, shapes = held
    arrays = segment.arrays
    posted, done, queue = arrays["posted"], arrays["done"], arrays["queue"]
    with np.errstate(**errors):
        for n in range(queue.shape[0]):
            if not mailbox.wait_for(posted, base + n + 1, conn, timeout):
                return
            k = int(queue[n])
            if k != STOP:
                x, d, gw, gb = _slot_arrays(arrays, k)
                weight_shape, stride, padding = shapes[k]
                w_grad, b_grad = K.conv2d_backward_params(x[:m], d[:m], weight_shape, stride,
                                                          padding)
                gw[...] = w_grad
                gb[...] = b_grad
            done[0] = base + n + 1
            if k == STOP:
                return
