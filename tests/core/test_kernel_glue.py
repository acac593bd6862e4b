"""The wrappers' fast paths give the same bits as the general ones (batch 1 glue)."""

import numpy as np
import pytest

from cnnviz.core import kernels as K
from cnnviz.core.kernels import norm


def _forward_by_ranges(x3, ranges, gamma, beta):
    """norm._forward_train over the given channel ranges: (mean, var, x̂, y)."""
    C, dtype = x3.shape[1], x3.dtype
    arrays = (np.empty(C, dtype), np.empty(C, dtype), np.empty_like(x3), np.empty_like(x3))
    for c0, c1 in ranges:
        norm._forward_train(x3, c0, c1, 1e-5, gamma, beta, *arrays)
    return arrays


def _backward_by_ranges(d3, ranges, x_hat, gamma, var):
    """norm._backward (training mode) over the given channel ranges: (∂E/∂x, ∂E/∂γ, ∂E/∂β)."""
    C, dtype = d3.shape[1], d3.dtype
    arrays = (np.empty_like(d3), np.empty(C, dtype), np.empty(C, dtype))
    for c0, c1 in ranges:
        norm._backward(d3, c0, c1, x_hat, gamma, var, 1e-5, True, *arrays)
    return arrays


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("L", [49, 300])  # rows summed through partials, and directly
def test_batchnorm_split_and_per_channel_passes_give_the_same_bits(dtype, L):
    """All channels at once runs the passes per channel (more than SPLIT_PASSES_UP_TO
    values), one channel at a time each pass over its range: the same bits."""
    rng = np.random.default_rng(0)
    N = norm.SPLIT_PASSES_UP_TO // L + 1  # one channel splits, all of them do not
    x3 = (rng.standard_normal((N, 3, L)) * 2 + 1).astype(dtype)
    gamma, beta = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    whole = _forward_by_ranges(x3, [(0, 3)], gamma, beta)
    split = _forward_by_ranges(x3, [(0, 1), (1, 2), (2, 3)], gamma, beta)
    assert all(np.array_equal(a, b) for a, b in zip(whole, split, strict=True))
    d3 = rng.standard_normal(x3.shape).astype(dtype)
    x_hat, var = whole[2], whole[1]
    grads = [_backward_by_ranges(d3, r, x_hat, gamma, var) for r in ([(0, 3)], [(0, 1), (1, 3)])]
    assert all(np.array_equal(a, b) for a, b in zip(*grads, strict=True))


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_activations_of_a_transposed_array_are_those_of_its_copy(name):
    """The output is a new C-order array whatever the input's layout (a transposed input
    used to leave an F-order output unwritten)."""
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).transpose(0, 1, 3, 2)
    args = (0.1,) if name == "leaky_relu" else ()
    forward, backward = getattr(K, f"{name}_forward"), getattr(K, f"{name}_backward")
    out = forward(x, *args)
    assert out.flags.c_contiguous
    assert np.array_equal(out, forward(np.ascontiguousarray(x), *args))
    grad = backward(x, x[::-1], *args)
    expected = backward(np.ascontiguousarray(x), np.ascontiguousarray(x[::-1]), *args)
    assert np.array_equal(grad, expected)
