"""1×1 convolution without padding (any stride): a matrix product over channels.

A 1×1 kernel mixes channels position by position, so with the (subsampled) input laid
out channel by channel, `Xc[c, (n, i, j)] = o[n, c, i·s, j·s]`, the layer is one
product `x = w2d · Xc + b` and its gradients are `∂E/∂w = δc · Xcᵀ` and
`∂E/∂o = w2dᵀ · δc` (scattered back to the positions the stride read; the others get
0). No tap matrix, no padding: mini-resnet's bottleneck and projection layers take this
path (2–3× less time than the wide-row direct kernels that handle one tap per pass).
The products go to BLAS; large batches are split over the kernel pool.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.kernels._jit import add_in_order, over_batch


def applies(weight_shape, padding) -> bool:
    """Whether a layer takes this path: a 1×1 kernel and no padding."""
    return tuple(weight_shape[2:]) == (1, 1) and tuple(padding) == (0, 0)


def _channel_major(a, stride) -> np.ndarray:
    """(C, N·H'·W') rows of a (N, C, H, W) array read at the stride."""
    sub = a[:, :, :: stride[0], :: stride[1]]
    return np.ascontiguousarray(sub.transpose(1, 0, 2, 3)).reshape(a.shape[1], -1)


def forward(o, w, b, stride) -> np.ndarray:
    """x[n, k] = w[k, :]·o[n, :, ::s, ::s] + b[k]."""
    O = w.shape[0]
    sub = o[:, :, :: stride[0], :: stride[1]]
    N, _, Ho, Wo = sub.shape
    x = np.empty((N, O, Ho, Wo), dtype=o.dtype)
    w2d = w.reshape(O, -1)

    def task(start: int, stop: int) -> None:
        rows = w2d @ _channel_major(o[start:stop], stride)
        x[start:stop] = rows.reshape(O, stop - start, Ho, Wo).transpose(1, 0, 2, 3)
        x[start:stop] += b[:, None, None]

    over_batch(task, N, x.size * w.shape[1])
    return x


def grad_params(o, delta, weight_shape, stride):
    """(∂E/∂w, ∂E/∂b): δc · Xcᵀ and Σ δ, per-chunk partials added in chunk order."""

    def task(start: int, stop: int):
        dc = _channel_major(delta[start:stop], (1, 1))
        return dc @ _channel_major(o[start:stop], stride).T, dc.sum(axis=1)

    parts = over_batch(task, delta.shape[0], delta.size * weight_shape[1])
    grad_w, grad_b = add_in_order(parts)
    return np.ascontiguousarray(grad_w.reshape(weight_shape)), grad_b.astype(delta.dtype)


def grad_input(delta, w, input_shape, stride) -> np.ndarray:
    """∂E/∂o: w2dᵀ · δc at the positions the stride read, 0 elsewhere."""
    N, O, Ho, Wo = delta.shape
    C = input_shape[1]
    strided = tuple(stride) != (1, 1)
    grad = (np.zeros if strided else np.empty)(input_shape, dtype=delta.dtype)
    w2d_t = w.reshape(O, -1).T

    def task(start: int, stop: int) -> None:
        rows = w2d_t @ _channel_major(delta[start:stop], (1, 1))
        part = rows.reshape(C, stop - start, Ho, Wo).transpose(1, 0, 2, 3)
        grad[start:stop, :, :: stride[0], :: stride[1]] = part

    over_batch(task, N, delta.size * C)
    return grad
