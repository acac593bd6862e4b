"""Fully connected layer: x = o·wᵀ + b, and its gradients.

Weight `[out, in]`, bias `[out]`, input `(N, in)`. The loops run along contiguous rows
so that LLVM vectorises the dot products (fast-math re-association is on).
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.kernels._jit import batch_chunks, kernel, run_chunks


@kernel
def _forward(o, w, b, x):
    """x[n, k] = Σ_j w[k, j]·o[n, j] + b[k]."""
    N, K = x.shape
    J = o.shape[1]
    for n in range(N):
        for k in range(K):
            s = b[k]
            for j in range(J):
                s += w[k, j] * o[n, j]
            x[n, k] = s


@kernel
def _grad_input(delta, w, grad_o):
    """∂E/∂o[n, j] = Σ_k δ[n, k]·w[k, j]."""
    N, K = delta.shape
    for n in range(N):
        for k in range(K):
            d = delta[n, k]
            row = w[k]
            out = grad_o[n]
            for j in range(row.shape[0]):
                out[j] += d * row[j]


@kernel
def _grad_params(o, delta, grad_w, grad_b):
    """∂E/∂w[k, j] = Σ_n δ[n, k]·o[n, j]; ∂E/∂b[k] = Σ_n δ[n, k]."""
    N, K = delta.shape
    for n in range(N):
        for k in range(K):
            d = delta[n, k]
            grad_b[k] += d
            row = grad_w[k]
            src = o[n]
            for j in range(src.shape[0]):
                row[j] += d * src[j]


def dense_forward(o, w, b):
    """(N, in) → (N, out)."""
    x = np.empty((o.shape[0], w.shape[0]), dtype=o.dtype)

    def task(start: int, stop: int) -> None:
        _forward(o[start:stop], w, b, x[start:stop])

    run_chunks(task, batch_chunks(o.shape[0], x.size * w.shape[1]))
    return x


def dense_backward(o, w, delta):
    """(∂E/∂o, ∂E/∂w, ∂E/∂b), the twin of `reference.dense_backward`."""
    grad_o = dense_backward_input(delta, w)
    grad_w, grad_b = dense_backward_params(o, delta)
    return grad_o, grad_w, grad_b


def dense_backward_input(delta, w):
    """∂E/∂o = δ·w."""
    grad_o = np.zeros((delta.shape[0], w.shape[1]), dtype=delta.dtype)
    _grad_input(delta, w, grad_o)
    return grad_o


def dense_backward_params(o, delta):
    """(∂E/∂w, ∂E/∂b) summed over the batch."""
    grad_w = np.zeros((delta.shape[1], o.shape[1]), dtype=delta.dtype)
    grad_b = np.zeros(delta.shape[1], dtype=delta.dtype)
    _grad_params(o, delta, grad_w, grad_b)
    return grad_w, grad_b
