"""The one-image convolution path (conv_single.py): exact tap matrix, one product a pass.

Compared with the NumPy twins in core/reference.py on random shapes (odd sizes, padding
0–2, strides 1–2, 1×1 to 5×5 kernels, 1–64 channels, float32 and float64), at its
boundaries (batch 2, too few output channels, too large a tap matrix), with NaN and inf,
and checked to be the path every convolution of mini-resnet takes at batch 1. A layer's
plan (`conv.plan`, chosen once per input shape) gives the public functions' bits.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core import Network
from cnnviz.core import kernels as K
from cnnviz.core import reference as R
from cnnviz.core.kernels import conv, conv_single
from cnnviz.core.layers import iter_layers
from cnnviz.core.optim import SGD
from cnnviz.core.presets import get_preset


def _close(got, want, dtype):
    scale = max(1.0, float(np.abs(want).max()))
    tol = 1e-10 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * scale)


def _layer(x, w, b, stride, padding, delta):
    """Forward, then both gradients sharing the forward's cache, as a layer runs them,
    through the public functions (whichever path they choose)."""
    cache: dict = {}
    out = K.conv2d_forward(x, w, b, stride, padding, cache)
    grad_w, grad_b = K.conv2d_backward_params(x, delta, w.shape, stride, padding, cache)
    grad_x = K.conv2d_backward_input(delta, w, x.shape, stride, padding, cache)
    return out, (grad_x, grad_w, grad_b), cache


def _single_layer(x, w, b, stride, padding, delta):
    """The same on conv_single's own functions, whatever conv.py would choose."""
    cache: dict = {}
    out = conv_single.forward(x, w, b, stride, padding, cache)
    grad_w, grad_b = conv_single.grad_params(x, delta, w.shape, stride, padding, cache)
    grad_x = conv_single.grad_input(delta, w, x.shape, stride, padding)
    return out, (grad_x, grad_w, grad_b), cache


def _problem(rng, n, c, h, w, o, k, stride, padding, dtype):
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((o, c, *k)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    Ho = (h - k[0] + 2 * padding[0]) // stride[0] + 1
    Wo = (w - k[1] + 2 * padding[1]) // stride[1] + 1
    delta = rng.standard_normal((n, o, Ho, Wo)).astype(dtype)
    return x, weight, b, delta


def _check(x, weight, b, stride, padding, delta, layer=_single_layer):
    out, grads, cache = layer(x, weight, b, stride, padding, delta)
    dtype = x.dtype
    _close(out, R.conv2d_forward(x, weight, b, stride, padding), dtype)
    want = R.conv2d_backward(x, weight, delta, stride, padding)
    for got, expected in zip(grads, want, strict=True):
        assert got.shape == expected.shape and got.dtype == dtype
        _close(got, expected, dtype)
    return cache


# (c, h, w, o, k, stride, padding): mini-resnet's shapes, then odd ones
SHAPES = [
    (1, 28, 28, 16, (3, 3), (1, 1), (1, 1)),
    (16, 14, 14, 16, (3, 3), (1, 1), (1, 1)),
    (16, 14, 14, 32, (3, 3), (2, 2), (1, 1)),
    (32, 7, 7, 32, (3, 3), (1, 1), (1, 1)),
    (16, 14, 14, 32, (1, 1), (2, 2), (0, 0)),
    (32, 7, 7, 16, (1, 1), (1, 1), (0, 0)),
    (3, 9, 11, 8, (3, 3), (1, 1), (0, 0)),  # no padding: rows copied one by one
    (5, 6, 8, 9, (3, 3), (1, 1), (2, 2)),  # padding 2 with a 3×3 kernel
    (2, 11, 9, 12, (5, 5), (1, 1), (2, 2)),  # 5×5 "same": shifted runs, two wrapped columns
    (6, 14, 14, 16, (5, 5), (1, 1), (0, 0)),  # LeNet's conv2
    (4, 7, 10, 10, (3, 2), (2, 1), (1, 0)),  # uneven kernel, stride and padding
    (3, 5, 13, 8, (3, 3), (1, 1), (0, 1)),  # "same" columns only: Ho < H
    (7, 9, 9, 8, (1, 1), (1, 1), (1, 1)),  # a padded 1×1 kernel
    (64, 5, 5, 64, (3, 3), (1, 1), (1, 1)),  # 64 channels
    (9, 8, 7, 11, (2, 2), (3, 2), (2, 1)),  # stride 3, padding larger than half the kernel
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("c", "h", "w", "o", "k", "stride", "padding"), SHAPES)
def test_single_image_path_matches_reference(c, h, w, o, k, stride, padding, dtype):
    rng = np.random.default_rng(c * 7 + h * 3 + o)
    problem = _problem(rng, 1, c, h, w, o, k, stride, padding, dtype)
    assert conv_single.applies(problem[0].shape, problem[1].shape, stride, padding)
    cache = _check(*problem[:3], stride, padding, problem[3])
    assert "single" in cache  # the forward pass left its tap matrix
    if conv._single(problem[0].shape, problem[1].shape, stride, padding):
        _check(*problem[:3], stride, padding, problem[3], layer=_layer)  # the same via conv.py


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_single_image_path_matches_reference_on_random_shapes(dtype):
    """Forty random layers, any output channel count."""
    rng = np.random.default_rng(11)
    for _ in range(40):
        k = tuple(int(v) for v in rng.integers(1, 6, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 3, size=2))
        padding = tuple(int(rng.integers(0, (v + 1) // 2 + 1)) for v in k)
        h, w = (int(rng.integers(max(1, v - 2 * p), 16)) for v, p in zip(k, padding, strict=True))
        c, o = int(rng.integers(1, 65)), int(rng.integers(1, 40))
        problem = _problem(rng, 1, c, h, w, o, k, stride, padding, dtype)
        _check(*problem[:3], stride, padding, problem[3])


def test_the_path_takes_one_image_and_not_two_nor_too_few_channels_nor_large_maps():
    one = ((1, 16, 14, 14), (16, 16, 3, 3), (1, 1), (1, 1))
    assert conv_single.applies(*one) and conv._single(*one)
    assert not conv_single.applies((2, 16, 14, 14), *one[1:])
    few = (conv_single.SINGLE_MIN_OUT - 1, 16, 3, 3)
    assert not conv_single.applies(one[0], few, *one[2:])
    assert not conv_single.applies((1, 16, 160, 160), *one[1:])  # 144 × 25 600 taps


def test_lenet_keeps_its_direct_kernels_at_batch_1():
    """Stride 1, at most DIRECT_MAX_OUT output channels, neither 3×3 nor 1×1: conv.py
    keeps the direct wide kernels (as fast, and no extra compile at start-up)."""
    conv2 = ((1, 6, 14, 14), (16, 6, 5, 5), (1, 1), (0, 0))
    assert conv_single.applies(*conv2) and not conv._single(*conv2)
    wider = ((1, 6, 14, 14), (conv.DIRECT_MAX_OUT + 1, 6, 5, 5), (1, 1), (0, 0))
    assert conv._single(*wider)
    strided = ((1, 6, 14, 14), (16, 6, 5, 5), (2, 2), (0, 0))
    assert conv._single(*strided)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_two_on_the_batched_paths_equals_two_single_images(dtype):
    """Either side of the boundary: each image of a batch of 2 as a batch of 1."""
    rng = np.random.default_rng(5)
    x, w, b, delta = _problem(rng, 2, 16, 14, 14, 32, (3, 3), (1, 1), (1, 1), dtype)
    out, (grad_x, grad_w, grad_b), cache = _layer(x, w, b, (1, 1), (1, 1), delta)
    assert "single" not in cache
    singles = [_layer(x[n : n + 1], w, b, (1, 1), (1, 1), delta[n : n + 1]) for n in range(2)]
    _close(out, np.concatenate([s[0] for s in singles]), dtype)
    _close(grad_x, np.concatenate([s[1][0] for s in singles]), dtype)
    _close(grad_w, singles[0][1][1] + singles[1][1][1], dtype)
    _close(grad_b, singles[0][1][2] + singles[1][1][2], dtype)


def test_a_strided_view_of_one_image_gives_the_same_results():
    rng = np.random.default_rng(6)
    x, w, b, delta = _problem(rng, 3, 8, 9, 10, 12, (3, 3), (1, 1), (1, 1), np.float64)
    view = x[1:2, :, :, ::-1]  # not contiguous
    _check(view, w, b, (1, 1), (1, 1), delta[1:2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_weight_gradient_reuses_the_forward_tap_matrix_bit_for_bit(dtype):
    rng = np.random.default_rng(3)
    x, w, b, delta = _problem(rng, 1, 16, 14, 14, 16, (3, 3), (1, 1), (1, 1), dtype)
    cache: dict = {}
    K.conv2d_forward(x, w, b, (1, 1), (1, 1), cache)
    reused = K.conv2d_backward_params(x, delta, w.shape, (1, 1), (1, 1), cache)
    fresh = K.conv2d_backward_params(x, delta, w.shape, (1, 1), (1, 1), None)
    for a, c in zip(reused, fresh, strict=True):
        assert a.tobytes() == c.tobytes()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf·0 in the products, on purpose
@pytest.mark.parametrize("where", ["input", "weight", "delta"])
@pytest.mark.parametrize(("k", "stride", "padding"), [(3, 1, 1), (3, 2, 1), (1, 2, 0), (3, 1, 0)])
def test_nan_and_inf_land_where_the_reference_has_them(where, k, stride, padding):
    """Padding zeros times an inf weight are NaN in the forward pass (as in PyTorch) but
    never reach the input gradient; an inf input poisons its own windows only."""
    rng = np.random.default_rng(8)
    x, w, b, delta = _problem(rng, 1, 3, 8, 7, 8, (k, k), (stride,) * 2, (padding,) * 2,
                              np.float64)  # fmt: skip
    if where == "input":
        x[0, 1, 2, 6], x[0, 0, 7, 0], x[0, 2, 0, 0] = np.nan, np.inf, -np.inf
    elif where == "weight":
        w[1, 0, 0, k - 1], w[5, 2, k - 1, 0] = np.inf, np.nan
    else:
        delta[0, 2, 0, 0], delta[0, 7, -1, -1] = np.nan, -np.inf
    assert conv._single(x.shape, w.shape, (stride,) * 2, (padding,) * 2)
    out, grads, _ = _layer(x, w, b, (stride,) * 2, (padding,) * 2, delta)
    want = R.conv2d_backward(x, w, delta, (stride,) * 2, (padding,) * 2)
    want_out = R.conv2d_forward(x, w, b, (stride,) * 2, (padding,) * 2)
    for got, ref in zip((out, *grads), (want_out, *want), strict=True):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
        finite = np.isfinite(ref)
        np.testing.assert_allclose(got[finite], ref[finite], rtol=1e-9, atol=1e-9)


def test_every_convolution_of_mini_resnet_takes_the_path_at_batch_1(monkeypatch):
    """Counted on the passes of `conv_single.Single`, which the layers' plans call."""
    calls: dict = {"forward": 0, "grad_params": 0, "grad_input": 0}
    for name in calls:
        original = getattr(conv_single.Single, name)

        def counted(*args, _name=name, _original=original):
            calls[_name] += 1
            return _original(*args)

        monkeypatch.setattr(conv_single.Single, name, counted)
    net = Network.from_spec(get_preset("mini-resnet"), seed=0, dtype="float32")
    convs = sum(1 for layer in iter_layers(net.layers) if layer.type == "conv2d")
    assert convs == 9
    rng = np.random.default_rng(0)
    x = rng.random((1, *net.spec.input_shape), dtype=np.float32)
    net.train_step(x, np.array([3]), SGD(lr=0.01))
    # every conv forward and ∂E/∂w; ∂E/∂o of all but the stem (nothing needs it)
    assert calls == {"forward": convs, "grad_params": convs, "grad_input": convs - 1}


def _plan_layer(x, w, b, stride, padding, delta):
    """Forward and both gradients through `conv.plan`, as a Conv2d layer runs them."""
    plan, cache = conv.plan(x.shape, w.shape, stride, padding), {}
    out = plan.forward(x, w, b, cache)
    grad_w, grad_b = plan.grad_params(x, delta, cache)
    return out, (plan.grad_input(delta, w, cache), grad_w, grad_b), cache


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize(("c", "h", "w", "o", "k", "stride", "padding"), SHAPES)
def test_a_plan_gives_the_public_functions_bits(c, h, w, o, k, stride, padding, n, dtype):
    """Batch 1 (mostly `conv_single.Single`) and batch 3 (`conv.Routed`), with and without
    the forward pass's cache."""
    rng = np.random.default_rng(c * 5 + h + o)
    x, weight, b, delta = _problem(rng, n, c, h, w, o, k, stride, padding, dtype)
    plan = conv.plan(x.shape, weight.shape, stride, padding)
    single = conv._single(x.shape, weight.shape, stride, padding)
    assert isinstance(plan, conv_single.Single if single else conv.Routed)
    assert (plan.input_shape, plan.weight_shape) == (x.shape, weight.shape)
    got = _plan_layer(x, weight, b, stride, padding, delta)
    want = _layer(x, weight, b, stride, padding, delta)
    np.testing.assert_array_equal(got[0], want[0])
    for g, expected in zip(got[1], want[1], strict=True):
        assert g.dtype == expected.dtype and g.flags.c_contiguous
        np.testing.assert_array_equal(g, expected)
    uncached = plan.grad_params(x, delta, None)
    for g, expected in zip(uncached, want[1][1:], strict=True):
        np.testing.assert_array_equal(g, expected)


def test_single_plans_are_kept_per_shape():
    one = ((1, 16, 14, 14), (16, 16, 3, 3), (1, 1), (1, 1))
    assert conv_single.plan(*one) is conv_single.plan(*one)
    assert conv_single.plan(*one) is conv_single.plan(one[0], one[1], [1, 1], [1, 1])
    assert conv_single.plan(*one) is not conv_single.plan(*one[:2], (2, 2), (1, 1))


def test_a_conv_layer_plans_again_when_its_input_shape_changes():
    """Batch 1, then 3, then 1 again: each pass takes the plan of its input and gives the
    public functions' bits."""
    net = Network.from_spec(get_preset("mini-resnet"), seed=0, dtype="float64")
    layer = next(lay for lay in iter_layers(net.layers) if lay.type == "conv2d" and lay.key != "0")
    w, b = layer.params["weight"], layer.params["bias"]
    stride, padding = layer.config["stride"], layer.config["padding"]
    rng = np.random.default_rng(5)
    for n, kind in ((1, conv_single.Single), (3, conv.Routed), (1, conv_single.Single)):
        x = rng.standard_normal((n, *layer.in_shape))
        out = layer.forward(x)
        assert isinstance(layer._plan, kind) and layer._plan.input_shape == x.shape
        delta = rng.standard_normal(out.shape)
        grad_x = layer.backward(delta)
        want = _layer(x, w, b, stride, padding, delta)
        np.testing.assert_array_equal(out, want[0])
        np.testing.assert_array_equal(grad_x, want[1][0])
        np.testing.assert_array_equal(layer.grads["weight"], want[1][1])
        np.testing.assert_array_equal(layer.grads["bias"], want[1][2])
