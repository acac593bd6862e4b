"""Inverted dropout with a given mask: y = x·mask/(1 − p), and the same for the gradient.

The mask (1 = kept, 0 = dropped, in the array's dtype) is drawn by the layer from the
network's seeded generator, so that a kernel stays a pure function of its arguments.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.kernels._jit import kernel


@kernel
def _scale_kept(a, mask, scale, out):
    for k in range(a.size):
        out[k] = a[k] * (mask[k] * scale)


def _apply(a, mask, p):
    """a·mask/(1 − p) over flattened contiguous views."""
    a, mask = np.ascontiguousarray(a), np.ascontiguousarray(mask)
    out = np.empty_like(a)
    _scale_kept(a.reshape(-1), mask.reshape(-1), a.dtype.type(1.0 / (1.0 - p)), out.reshape(-1))
    return out


def dropout_forward(x, mask, p):
    """y = x·mask/(1 − p): dropped units give 0, kept ones are scaled up."""
    return _apply(x, mask, p)


def dropout_backward(delta, mask, p):
    """∂E/∂x = δ·mask/(1 − p): only kept units pass the gradient, with the same scale."""
    return _apply(delta, mask, p)
