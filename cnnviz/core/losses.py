"""Losses by name: cross_entropy (softmax + NLL, as PyTorch) and the seeds' mse.

`z` is the last layer's output (N, K) and `y` the integer class labels (N,). Each loss
returns (E, ∂E/∂z) with E the mean over the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cnnviz.core import kernels as K

LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (probabilities for the prediction panel)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """E = mean_n −log softmax(z_n)[y_n]; ∂E/∂z = (softmax(z) − onehot(y)) / N."""
    return K.softmax_cross_entropy(z, y)


def mse(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """E = mean_n ½·Σ_k (ŷ_k − t_k)², t = onehot(y); ∂E/∂ŷ = (ŷ − t) / N."""
    return K.mse_loss(z, y)


LOSSES: dict[str, LossFn] = {"cross_entropy": cross_entropy, "mse": mse}
