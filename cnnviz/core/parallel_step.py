"""Data-parallel training steps for the trainer: the batch split over the kernel pool.

Until its gradients are summed, a training step treats every example on its own — unless
dropout (one mask draw for the batch) runs in training mode: such steps run whole. Each
pool thread runs the forward and backward pass of its share of the batch through its own
copy of the layers (the same parameter arrays; its own saved tensors and gradients): one
hand-off per step instead of one per layer, and every layer, the dense ones and the
activations included, runs on all cores. LeNet-5 at batch 64 spent ~0.5 ms a step in
layers too small to split on their own.

Batch norm in training mode couples the batch through its statistics: there the shares
run at the same time and exchange per-channel sums (core/batch_sync.py: three exchanges
per layer and step), share 0 alone moving the running statistics.

The shares' gradients are added in share order and the loss's mean is taken over the
whole batch (each share's ∂E/∂output scaled by its size over the batch's), so the result
does not depend on which thread ran which share, nor on whether the pool ran at all:
`run_chunks` runs the same shares one after the other when other processes hold the
cores (shares that exchange sums then take turns instead). Inside a share the kernels take
their input whole (`whole_chunks`).
"""

from __future__ import annotations

import copy
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnviz.core import share_processes
from cnnviz.core.batch_sync import SYNCED_TYPES, run_shares
from cnnviz.core.kernels import _jit
from cnnviz.core.kernels._jit import batch_chunks, run_chunks
from cnnviz.core.layers import Layer, Residual, iter_layers
from cnnviz.core.share_pass import run_share

if TYPE_CHECKING:
    from cnnviz.core.network import Network

WHOLE_TYPES = ("dropout",)  # in training mode: one mask draw for the whole batch


def _any_training(net: Network, types: tuple[str, ...]) -> bool:
    """Whether a layer of one of these types, blocks' included, is in training mode."""
    return any(layer.training for layer in _layers_of_type(net, types))


_TYPED: dict[int, tuple[list, dict]] = {}  # id(net.layers) → (net.layers, {types: layers})


def _layers_of_type(net: Network, types: tuple[str, ...]) -> list[Layer]:
    """net's layers of these types, blocks' included, found once per layer list (every
    step asks: walking mini-resnet's 35 layers took ~6 µs of a 0.45 ms batch-1 step)."""
    held = _TYPED.get(id(net.layers))
    if held is None or held[0] is not net.layers:
        if len(_TYPED) > 64:  # networks come and go in the editor
            _TYPED.clear()
        held = _TYPED[id(net.layers)] = (net.layers, {})
    found = held[1].get(types)
    if found is None:
        found = held[1][types] = [layer for layer in iter_layers(net.layers)
                                  if layer.type in types]
    return found


def splittable(net: Network) -> bool:
    """Whether a training step of net may run in shares: no dropout in training mode."""
    return not _any_training(net, WHOLE_TYPES)


def synced(net: Network) -> bool:
    """Whether the shares of net's training step exchange batch statistics (batch norm in
    training mode): they then run at the same time (`batch_sync.run_shares`)."""
    return _any_training(net, SYNCED_TYPES)


def macs_per_example(specs: Any) -> int:
    """Multiply-adds of one example's forward pass through conv and dense layers."""
    total = 0
    for spec in specs:
        if spec.type == "residual":
            total += macs_per_example(spec.body) + macs_per_example(spec.shortcut)
        elif "weight" in spec.param_shapes:
            total += math.prod(spec.out_shape) * math.prod(spec.param_shapes["weight"][1:])
    return total


_MACS: dict[int, tuple[Any, int]] = {}  # id(spec) → (spec, its macs_per_example)


def _spec_macs(spec: Any) -> int:
    """macs_per_example of a network spec, worked out once per spec (every step asks)."""
    held = _MACS.get(id(spec))
    if held is None or held[0] is not spec:
        if len(_MACS) > 64:  # networks come and go in the editor
            _MACS.clear()
        held = _MACS[id(spec)] = (spec, macs_per_example(spec.layers))
    return held[1]


def shares(net: Network, batch: int) -> list[tuple[int, int]]:
    """The batch's shares: one per pool thread when the step is large enough, else one."""
    if not splittable(net):
        return [(0, batch)]
    return batch_chunks(batch, batch * 3 * _spec_macs(net.spec))


def prepare(net: Network, batch: int, timeout: float = 60.0) -> bool:
    """Start the worker processes for net's steps at `batch` and wait (up to `timeout`
    seconds) until they hold it; True if steps will use them. Without it the trainer's
    first steps run on threads while the workers load (the same results)."""
    parts = shares(net, batch)
    deadline = time.monotonic() + timeout
    while True:
        with share_processes.borrowed(net, parts, synced(net)) as workers:
            if workers:
                return True
        if len(parts) < 2 or time.monotonic() > deadline or not share_processes.usable():
            return False
        time.sleep(0.02)


def _replica(layer: Layer) -> Layer:
    """A copy of the layer sharing its parameter and buffer arrays, with its own saved
    tensors and gradients (and, for a block, its own copies of the inner layers). Batch
    norm's running statistics are moved by the replica of share 0 only."""
    clone = copy.copy(layer)
    clone.saved, clone.grads = {}, {}
    if isinstance(layer, Residual):
        clone.body = [_replica(inner) for inner in layer.body]
        clone.shortcut = [_replica(inner) for inner in layer.shortcut]
    return clone


def train_step(net: Network, x: Any, y: Any, opt: Any) -> float:
    """`net.train_step(x, y, opt)`, in shares on the kernel pool when the step allows it
    and is large enough; returns the loss. The trainer's step.

    In shares, the result equals `Network.train_step` to rounding (the gradients are
    summed share by share), and afterwards each layer's `saved` tensors are cleared but
    the last layer's output (the whole batch's logits, which the trainer's batch accuracy
    reads). `Network.train_step` stays exactly `run_pass` plus the update (DESIGN.md).
    """
    x = net.prepare_input(x)
    y = net.prepare_labels(y, x.shape[0])
    parts = shares(net, x.shape[0])
    if len(parts) == 1:
        return net.train_step_prepared(x, y, opt)
    return _train_step_in_shares(net, x, y, opt, parts)


def _train_step_in_shares(net: Network, x: np.ndarray, y: np.ndarray, opt: Any,
                          parts: list[tuple[int, int]]) -> float:
    """The step with the prepared batch in `parts`: the first share on the caller, the
    others in worker processes when they are ready, else on the kernel pool's threads."""
    n = x.shape[0]

    def share(start: int, stop: int) -> tuple[float, np.ndarray, list[dict]]:
        layers = [_replica(layer) for layer in net.layers]
        loss, out = run_share(net, layers, x[start:stop], y[start:stop], (stop - start) / n)
        return loss, out, [layer.grads for layer in layers]

    with share_processes.borrowed(net, parts, synced(net)) as workers:
        results = None
        if workers and not _jit.cores_busy():
            results = share_processes.run_with_workers(net, x, y, parts, workers, share,
                                                       synced(net))
        if results is None:
            results = (run_shares if synced(net) else run_chunks)(share, parts)
        # a worker's gradients and logits are views of its shared block: take them in
        # before the workers go back (another thread's step would overwrite or unmap it)
        loss = _take_results(net, results)
    opt.step(net.params(), net.grads())
    return loss


def _take_results(net: Network, results: list[tuple[float, np.ndarray, list[dict]]]) -> float:
    """The shares' gradients summed into net's layers and their logits saved as the last
    layer's output (copies: nothing of `results` is kept); returns the step's loss."""
    for layer in iter_layers(net.layers):  # no stale tensors of an earlier pass, blocks too
        layer.saved = {}
    for k, layer in enumerate(net.layers):
        layer.grads = _summed([grads[k] for _, _, grads in results])
    net.layers[-1].saved["output"] = np.concatenate([out for _, out, _ in results])
    return float(sum(loss for loss, _, _ in results))


def _summed(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-name sums of the shares' gradients, in share order."""
    total = {name: array.copy() for name, array in parts[0].items()}
    for more in parts[1:]:
        for name, array in more.items():
            total[name] += array
    return total
