"""Element-wise activations and their derivatives: relu, leaky_relu, sigmoid, tanh.

Backward functions take what the forward pass saved: the pre-activation x for
relu / leaky_relu, the output f(x) for sigmoid / tanh (their derivatives are cheapest
from it). Arrays of any shape; loops run over the flattened contiguous data. NaN and
±inf propagate exactly as in PyTorch: relu(NaN) = NaN and its gradient passes δ.
"""

from __future__ import annotations

import math

import numpy as np

from cnnviz.core.kernels._jit import PARALLEL_MIN_WORK, batch_chunks, kernel, one_chunk, run_chunks


@kernel
def _relu(x, out):
    """max(x, 0) with NaN passed through (as torch.relu): `x <= 0` is false for NaN."""
    for k in range(x.size):
        v = x[k]
        out[k] = 0 if v <= 0 else v


@kernel
def _relu_back(x, delta, grad):
    """δ where x > 0 or x is NaN (torch's threshold_backward), else 0."""
    for k in range(x.size):
        grad[k] = 0 if x[k] <= 0 else delta[k]


@kernel
def _leaky(x, slope, out):
    for k in range(x.size):
        v = x[k]
        out[k] = v if v > 0 else v * slope


@kernel
def _leaky_back(x, delta, slope, grad):
    for k in range(x.size):
        grad[k] = delta[k] if x[k] > 0 else delta[k] * slope


@kernel
def _sigmoid(x, out):
    for k in range(x.size):
        out[k] = 1.0 / (1.0 + math.exp(-np.float64(x[k])))


@kernel
def _sigmoid_back(out, delta, grad):
    for k in range(out.size):
        s = out[k]
        grad[k] = delta[k] * s * (1 - s)


@kernel
def _tanh(x, out):
    for k in range(x.size):
        out[k] = math.tanh(x[k])


@kernel
def _tanh_back(out, delta, grad):
    for k in range(out.size):
        t = out[k]
        grad[k] = delta[k] * (1 - t * t)


def _apply(fn, arrays: tuple, *scalars):
    """fn(*arrays, *scalars, out) over flattened views, returning the new array `out` (in
    C order, whatever the inputs' layout); large arrays in slices on the kernel pool
    (mini-resnet's stem relu: 800k values), small ones with one direct call (no chunk
    machinery: ~1 µs less a call)."""
    first = arrays[0]
    out = np.empty(first.shape, first.dtype)
    size = out.size
    if one_chunk(size, size):
        if len(arrays) == 1:  # the common cases spelled out: ~0.3 µs of a 1.3 µs relu
            fn(first.ravel(), *scalars, out.ravel())
        else:
            fn(first.ravel(), arrays[1].ravel(), *scalars, out.ravel())
        return out
    flat, flat_out = [a.ravel() for a in arrays], out.ravel()

    def task(start: int, stop: int) -> None:
        fn(*[a[start:stop] for a in flat], *scalars, flat_out[start:stop])

    run_chunks(task, batch_chunks(size, size))
    return out


def relu_forward(x):
    """max(x, 0). An array too small to split (`one_chunk`) goes straight to the kernel:
    relu runs twice per activation and step, and `_apply`'s general path cost ~0.15 µs
    more a call at batch 1."""
    if x.size < PARALLEL_MIN_WORK:
        out = np.empty(x.shape, x.dtype)
        _relu(x.ravel(), out.ravel())
        return out
    return _apply(_relu, (x,))


def relu_backward(x, delta):
    """δ·f'(x), f'(x) = 1 for x > 0 else 0; a small array straight to the kernel."""
    if x.size < PARALLEL_MIN_WORK:
        out = np.empty(x.shape, x.dtype)
        _relu_back(x.ravel(), delta.ravel(), out.ravel())
        return out
    return _apply(_relu_back, (x, delta))


def leaky_relu_forward(x, slope):
    return _apply(_leaky, (x,), x.dtype.type(slope))


def leaky_relu_backward(x, delta, slope):
    """δ·f'(x), f'(x) = 1 for x > 0 else the slope."""
    return _apply(_leaky_back, (x, delta), delta.dtype.type(slope))


def sigmoid_forward(x):
    return _apply(_sigmoid, (x,))


def sigmoid_backward(out, delta):
    """δ·f(x)·(1 − f(x))."""
    return _apply(_sigmoid_back, (out, delta))


def tanh_forward(x):
    return _apply(_tanh, (x,))


def tanh_backward(out, delta):
    """δ·(1 − f(x)²)."""
    return _apply(_tanh_back, (out, delta))
