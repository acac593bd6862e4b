"""Fully connected layer: x = o·wᵀ + b, and its gradients.

Weight `[out, in]`, bias `[out]`, input `(N, in)`. Every product here is one matrix
multiplication, which NumPy hands to BLAS (single-threaded, see `_jit.py`, so the
results are the same run to run); a hand-written loop was 2–3× slower at batch 64 and
no faster at batch 1. `np.dot` rather than `@`: for δᵀ·o at batch 1 (an outer product)
`@` took 50 µs here, `np.dot` 6 µs.
"""

from __future__ import annotations

import numpy as np


def dense_forward(o, w, b):
    """(N, in) → (N, out)."""
    x = np.dot(o, w.T)
    x += b
    return x


def dense_backward(o, w, delta):
    """(∂E/∂o, ∂E/∂w, ∂E/∂b), the twin of `reference.dense_backward`."""
    grad_o = dense_backward_input(delta, w)
    grad_w, grad_b = dense_backward_params(o, delta)
    return grad_o, grad_w, grad_b


def dense_backward_input(delta, w):
    """∂E/∂o = δ·w."""
    return np.dot(delta, w)


def dense_backward_params(o, delta):
    """(∂E/∂w, ∂E/∂b) summed over the batch."""
    return np.dot(delta.T, o), delta.sum(axis=0, dtype=delta.dtype)
