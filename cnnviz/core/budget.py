"""A memory budget for networks: estimate what a command will allocate, and refuse before
allocating it. The limit and the check itself live in `cnnviz.data.budget`.

Estimates count, from the spec alone: parameters and their gradients, optimizer state,
the copies a command keeps (the stepper's history, the trainer's snapshots), every
layer's output and output gradient for the batch, the convolutions' tap matrices, and
dataset arrays. The copy counts were measured with peak RSS (docs/performance.md).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnviz.data.budget import (  # noqa: F401 - re-exported for the commands
    BudgetError,
    format_bytes,
    limit_text,
    memory_limit,
    require,
)

BASE_BYTES = 256 * 2**20  # the interpreter, NumPy, Numba and the compiled kernels
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "nesterov": 1, "rmsprop": 1, "adagrad": 1,
                   "adadelta": 2, "adam": 2}
# Whole-network copies of the parameters a command holds, besides the optimizer state:
# step: params, grads, the pass-start copy, U's before/after records and replay (~7);
# train: params, grads, the best/last snapshots (~5); a single pass: params, grads, copy.
PARAM_COPIES = {"step": 7, "train": 5, "pass": 3, "gradcheck": 5}
STATE_COPIES = {"step": 2, "train": 1, "pass": 0, "gradcheck": 0}


def _activation_items(spec: Any) -> int:
    """Items per example: the input, every layer's output and its gradient (twice), and
    the convolutions' tap matrices (once: they are rebuilt, not kept, for the backward)."""
    items = math.prod(spec.input_shape)
    for layer in spec.layers:
        items += 2 * math.prod(layer.out_shape)
        weight = layer.param_shapes.get("weight")
        if layer.type == "conv2d" and weight is not None:
            items += math.prod(weight[1:]) * math.prod(layer.out_shape[1:])
    return items


def network_bytes(spec: Any, dtype: Any, batch: int, command: str,
                  optimizer: str | None = None) -> int:
    """Estimated peak bytes of `command` ('step', 'train', 'pass', 'gradcheck') on spec."""
    itemsize = np.dtype(dtype).itemsize
    slots = OPTIMIZER_SLOTS.get((optimizer or "sgd").lower(), 2)
    params = spec.param_count * (PARAM_COPIES[command] + slots * (1 + STATE_COPIES[command]))
    return BASE_BYTES + (params + batch * _activation_items(spec)) * itemsize


def require_network(spec: Any, dtype: Any, batch: int, command: str,
                    optimizer: str | None = None) -> None:
    """require() with network_bytes, naming the command, network size and batch."""
    nbytes = network_bytes(spec, dtype, batch, command, optimizer)
    require(nbytes, f"{command} on this network ({spec.param_count:,} parameters, "
                    f"batch {batch}, {dtype})")
