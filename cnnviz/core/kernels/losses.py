"""Losses over a batch of class scores z (N, K) and integer labels y (N,).

cross_entropy: E = mean_n −log softmax(z_n)[y_n], as torch.nn.functional.cross_entropy.
mse (the seeds' cost): E = mean_n ½·Σ_k (ŷ_k − t_k)², t the one-hot target.
Both return (E, ∂E/∂z); sums run in float64 whatever the dtype of z.
"""

from __future__ import annotations

import math

import numpy as np

from cnnviz.core.kernels._jit import kernel


@kernel
def _softmax_cross_entropy(z, y, grad):
    N, K = z.shape
    total = 0.0
    for n in range(N):
        top = -np.inf
        for k in range(K):
            top = max(top, np.float64(z[n, k]))
        norm = 0.0
        for k in range(K):
            norm += math.exp(z[n, k] - top)
        log_norm = math.log(norm) + top
        total += log_norm - z[n, y[n]]
        for k in range(K):
            p = math.exp(z[n, k] - log_norm)
            grad[n, k] = (p - (1.0 if k == y[n] else 0.0)) / N
    return total / N


@kernel
def _mse(z, y, grad):
    N, K = z.shape
    total = 0.0
    for n in range(N):
        for k in range(K):
            diff = np.float64(z[n, k]) - (1.0 if k == y[n] else 0.0)
            total += 0.5 * diff * diff
            grad[n, k] = diff / N
    return total / N


def softmax_cross_entropy(z, y):
    """(mean cross-entropy, ∂E/∂z = (softmax(z) − onehot(y)) / N)."""
    grad = np.empty_like(z)
    return float(_softmax_cross_entropy(z, y, grad)), grad


def mse_loss(z, y):
    """(mean ½·Σ(ŷ − t)², ∂E/∂ŷ = (ŷ − t) / N)."""
    grad = np.empty_like(z)
    return float(_mse(z, y, grad)), grad
