"""Compile (or load from Numba's cache) every kernel before the user needs it.

The first call of a kernel compiles it: about a second each when cold, a few
milliseconds when the on-disk cache is warm. The GUI warms up on a worker thread at
start-up so that no step freezes the window, in three stages: `warmup_spec` with
`backward=False` (the forward pass of the opening network: enough for the window and
the first F10s), `warmup_spec` (its whole first pass), then `warmup` (every code path,
part by part: the direct and the tap-matrix convolution for few / many output channels,
the general strided one, also the fallback for non-finite values, the 2×2 and general
max pools, and every other op family).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from cnnviz.core import kernels as K
from cnnviz.core.kernels.conv import DIRECT_MAX_OUT
from cnnviz.core.kernels.conv_single import SINGLE_MIN_OUT
from cnnviz.core.network import Network


def _conv_paths(t: type) -> None:
    """The direct and tap-matrix wide paths (2×2 kernels), the strided one, and the fused
    3×3 path with short runs (BLAS) and long ones (the nine-tap kernels), on two images;
    and one image on the batch-1 path (conv_single.py)."""
    small, large = np.ones((2, 1, 4, 4), dtype=t), np.ones((2, 1, 30, 30), dtype=t)
    cases = (
        (small, 1, 2, (1, 1)),
        (small, DIRECT_MAX_OUT + 1, 2, (1, 1)),
        (small, 1, 2, (2, 2)),
        (small, 1, 3, (1, 1)),
        (large, 1, 3, (1, 1)),
        (small[:1], SINGLE_MIN_OUT, 3, (1, 1)),
    )
    for x, out_channels, size, stride in cases:
        w = np.ones((out_channels, 1, size, size), dtype=t)
        b = np.zeros(out_channels, dtype=t)
        cache: dict = {}
        out = K.conv2d_forward(x, w, b, stride, (1, 1), cache)
        K.conv2d_backward_params(x, out, w.shape, stride, (1, 1), cache)
        K.conv2d_backward(x, w, out, stride, (1, 1))


def _pool_paths(t: type) -> None:
    x = np.ones((1, 1, 4, 4), dtype=t)
    for kernel, padding in (((2, 2), (0, 0)), ((2, 2), (1, 1))):
        pooled, argmax = K.maxpool2d_forward(x, kernel, (2, 2), padding)
        K.maxpool2d_backward(pooled, argmax, x.shape)
    zero = (0, 0)
    K.avgpool2d_backward(
        K.avgpool2d_forward(x, (2, 2), (2, 2), zero), x.shape, (2, 2), (2, 2), zero
    )


def _norm_and_dropout(t: type) -> None:
    """Batch norm in both modes (the backward's mode is a runtime flag), its running
    statistics, its partial sums in a share of the trainer's step, and dropout."""
    x = np.ones((2, 1, 2, 2), dtype=t)
    one, zero = np.ones(1, dtype=t), np.zeros(1, dtype=t)
    out, x_hat, mean, var = K.batchnorm_forward(x, one, zero, 1e-5)
    K.batchnorm_update_running(zero.copy(), one.copy(), mean, var, 0.1, 8)
    K.batchnorm_forward_eval(x, one, zero, zero, one, 1e-5)
    K.batchnorm_backward(out, x_hat, one, var, 1e-5, True)
    K.batchnorm_shifted_sums(x, np.zeros(1), True)
    sums = K.batchnorm_delta_sums(out, x_hat)
    K.batchnorm_backward_with_sums(out, x_hat, one, var, 1e-5, sums, 8)
    K.dropout_backward(K.dropout_forward(x, x, 0.5), x, 0.5)


def _dense_activations_losses(t: type) -> None:
    """Dense layers, every activation, both losses and plain SGD's update."""
    x = np.ones((1, 1, 4, 4), dtype=t)
    flat = x.reshape(1, -1)
    dw = np.ones((2, 16), dtype=t)
    z = K.dense_forward(flat, dw, np.zeros(2, dtype=t))
    K.dense_backward(flat, dw, z)
    for name in ("relu", "sigmoid", "tanh"):
        y = getattr(K, f"{name}_forward")(x)
        getattr(K, f"{name}_backward")(x if name == "relu" else y, x)
    K.leaky_relu_backward(x, K.leaky_relu_forward(x, 0.01), 0.01)
    labels = np.zeros(1, dtype=np.int64)
    K.softmax_cross_entropy(z, labels)
    K.mse_loss(z, labels)
    for w in (dw[0], dw, x):  # plain SGD's update: bias, dense and conv weight shapes
        K.sgd_update(w, w.copy(), 0.01)


# The parts of `warmup`, in order, each with the words a progress message uses.
WARMUP_PARTS: tuple[tuple[str, Callable[[type], None]], ...] = (
    ("convolutions", _conv_paths),
    ("pooling", _pool_paths),
    ("batch norm and dropout", _norm_and_dropout),
    ("dense layers, activations, losses and the update", _dense_activations_losses),
)


def warmup(dtype: str = "float32",
           on_part: Callable[[int, int, str], None] | None = None) -> float:
    """Run every kernel once on tiny arrays of `dtype`; returns the seconds it took.

    `on_part(done, total, name)` is called before each part (and once more at the end).
    """
    start = time.perf_counter()
    t = np.dtype(dtype).type
    for done, (name, part) in enumerate(WARMUP_PARTS):
        if on_part is not None:
            on_part(done, len(WARMUP_PARTS), name)
        part(t)
    if on_part is not None:
        on_part(len(WARMUP_PARTS), len(WARMUP_PARTS), "")
    return time.perf_counter() - start


def warmup_spec(spec: object, dtype: str = "float32", backward: bool = True) -> float:
    """Compile exactly the kernels one pass of a network uses (its forward pass only, or
    forward, loss and backward) by running it on one zero example; returns the seconds."""
    start = time.perf_counter()
    net = Network.from_spec(spec, seed=0, dtype=dtype)
    x = np.zeros((1, *net.spec.input_shape), dtype=net.dtype)
    if backward:
        net.run_pass(x, np.zeros(1, dtype=np.int64))
    else:
        net.forward(x)
    return time.perf_counter() - start
