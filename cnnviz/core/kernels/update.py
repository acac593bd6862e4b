"""The optimizer's plain gradient-descent update, w ← w − η·∂E/∂w, as one exact kernel.

NumPy's `w += -lr * g` makes a temporary and walks the arrays twice, ~0.8 µs a
parameter at batch 1 even for a bias of 16 values; a training step of mini-resnet
updates 38 arrays. The kernel rounds as that expression does (an exact kernel: the
product rounds before the sum, no fused multiply-add), so the bits are NumPy's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba.core.errors import NumbaError

from cnnviz.core.kernels._jit import exact_kernel

# What calling the kernel with an array it cannot take raises (a read-only one: Numba
# refuses to compile the store); the optimizer then takes NumPy's path and its clear error
KernelRefused = NumbaError

# The dtypes the kernel takes; others go through NumPy (the same arithmetic)
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@exact_kernel
def descend_kernel(w, g, lr):
    """w[k] ← w[k] + (−lr)·g[k], with −lr rounded to the arrays' dtype first, as NumPy
    takes a Python float next to an array (a weak scalar); False, with nothing done, if
    the shapes differ. Only for pairs `descend_in_place` checks (one float32 / float64
    dtype, C-contiguous, w writeable): the optimizer calls it directly for arrays it
    knows (checking a pair in Python cost more than the call itself at batch 1)."""
    if w.shape != g.shape:
        return False
    step = np.empty(1, dtype=w.dtype)
    step[0] = -lr
    s = step[0]
    flat_w, flat_g = w.reshape(w.size), g.reshape(g.size)  # views: both are C-contiguous
    for k in range(flat_w.size):
        flat_w[k] = flat_w[k] + s * flat_g[k]
    return True


def descend_in_place(w: Any, g: Any, lr: float) -> bool:
    """w −= η·g with the kernel if the pair is what the kernel takes as it is (NumPy arrays
    of one float32 / float64 dtype and shape, C-contiguous, w writeable); False, with
    nothing done, otherwise. Identity tests first; the kernel compares the shapes."""
    if type(w) is not np.ndarray or type(g) is not np.ndarray:
        return False
    dtype = w.dtype
    if g.dtype is not dtype or dtype not in KERNEL_DTYPES:
        return False
    w_flags = w.flags
    if not (w_flags.c_contiguous and w_flags.writeable and g.flags.c_contiguous):
        return False
    return descend_kernel(w, g, lr)


def sgd_update(w: np.ndarray, g: np.ndarray, lr: float) -> None:
    """w −= η·g in place, bit for bit `w += -lr * g`: the kernel for C-contiguous float32 /
    float64 arrays of one dtype and shape, NumPy otherwise."""
    if not descend_in_place(w, g, float(lr)):
        w += -lr * g
