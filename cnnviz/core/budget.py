"""A memory budget: estimate what a command will allocate, and refuse before allocating it.

The limit is `$CNNVIZ_MEMORY_LIMIT` (bytes, or with a unit: `512M`, `4G`, `1.5T`; `0` or
`none` switches the check off), else half the memory the system reports available
(`MemAvailable` in /proc/meminfo; the physical memory where that is missing), else 4 GiB.
Estimates count, from the spec alone: parameters and their gradients, optimizer state,
the copies a command keeps (the stepper's history, the trainer's snapshots), every
layer's output and output gradient for the batch, the convolutions' tap matrices, and
dataset arrays. The copy counts were measured with peak RSS (docs/performance.md).
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import numpy as np

ENV_VAR = "CNNVIZ_MEMORY_LIMIT"
FALLBACK_LIMIT = 4 * 2**30
BASE_BYTES = 256 * 2**20  # the interpreter, NumPy, Numba and the compiled kernels
_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
# Optimizer state arrays per parameter (torch.optim semantics).
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "nesterov": 1, "rmsprop": 1, "adagrad": 1,
                   "adadelta": 2, "adam": 2}
# Whole-network copies of the parameters a command holds, besides the optimizer state:
# step: params, grads, the pass-start copy, U's before/after records and replay (~7);
# train: params, grads, the best/last snapshots (~5); a single pass: params, grads, copy.
PARAM_COPIES = {"step": 7, "train": 5, "pass": 3, "gradcheck": 5}
STATE_COPIES = {"step": 2, "train": 1, "pass": 0, "gradcheck": 0}


class BudgetError(ValueError):
    """A command would need more memory than the limit; the message gives both figures."""


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB', in binary units."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def parse_size(text: str) -> int | None:
    """'4G' -> 4 GiB in bytes; '0'/'none'/'off' -> None (no limit); ValueError if unreadable."""
    t = text.strip().lower()
    if t in ("0", "none", "off", "unlimited"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", t)
    if not match:
        raise ValueError(f"${ENV_VAR}={text!r}: write a size like 4G, 512M or 2000000000")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo, else the physical memory, else None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def memory_limit() -> int | None:
    """The budget in bytes (None: unlimited): $CNNVIZ_MEMORY_LIMIT, else half of available."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return parse_size(override)
    available = available_bytes()
    return available // 2 if available else FALLBACK_LIMIT


def limit_text(limit: int) -> str:
    """How the message names the limit and where it comes from."""
    source = (f"${ENV_VAR}" if os.environ.get(ENV_VAR, "").strip()
              else f"half the available memory; set ${ENV_VAR} to change it")
    return f"the memory limit of {format_bytes(limit)} ({source})"


def require(nbytes: int, what: str) -> None:
    """Refuse (BudgetError) if `what` would need more than the memory limit."""
    limit = memory_limit()
    if limit is not None and nbytes > limit:
        raise BudgetError(f"{what} would need about {format_bytes(nbytes)} of memory, "
                          f"more than {limit_text(limit)}")


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


def dataset_bytes(items: int, raw_itemsize: int, raw_copies: int = 1) -> int:
    """Loading `items` numbers from a file: the raw payload (`raw_copies` times: an IDX
    stream is read in chunks, joined, then byte-swapped) plus float32 images and their
    train/test copies."""
    return items * (raw_copies * raw_itemsize + 3 * 4)


def require_data(items: int, raw_itemsize: int, where: str, raw_copies: int = 1) -> None:
    """require() for loading a file's arrays, raising DataError naming the file."""
    from cnnviz.data.errors import DataError

    try:
        require(dataset_bytes(items, raw_itemsize, raw_copies), f"loading {where}")
    except BudgetError as error:
        raise DataError(str(error)) from None
