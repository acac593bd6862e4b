"""NaN and ±inf propagate through every layer type, forward and backward, as in PyTorch.

Each kernel is compared with its NumPy twin (always) and with PyTorch (when installed):
values, NaN positions and infinities must agree, and max pool's winners too. A network
whose activations hold NaN must not report a finite loss.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core import kernels as K
from cnnviz.core import reference as R
from cnnviz.core.network import Network

try:
    import torch
except ImportError:  # the twin comparison still runs
    torch = None

# NaN arithmetic is the point here: NumPy's "invalid value" warnings are expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
NAN, INF = np.nan, np.inf
DTYPES = [np.float32, np.float64]


def poisoned(shape: tuple[int, ...], dtype, seed: int = 0) -> np.ndarray:
    """Random values with a NaN, a +inf and a -inf at fixed places."""
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    flat[1], flat[min(5, flat.size - 1)], flat[min(9, flat.size - 1)] = NAN, INF, -INF
    return x


def same(actual, expected, dtype) -> None:
    """Equal values (to the dtype's precision), the same NaN positions and infinities."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(actual), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected))
    tol = 1e-10 if dtype == np.float64 else 1e-5
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=tol, atol=tol)


def torch_grads(fn, *arrays, delta):
    """(output, gradients of every input) of a torch function for the upstream delta."""
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(torch.tensor(delta, dtype=torch.float64))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


ACTIVATIONS = {
    "relu": (lambda x: K.relu_forward(x), lambda x, y, d: K.relu_backward(x, d),
             lambda x: R.relu_forward(x), lambda x, y, d: R.relu_backward(x, d),
             lambda t: torch.relu(t)),
    "leaky_relu": (lambda x: K.leaky_relu_forward(x, 0.1),
                   lambda x, y, d: K.leaky_relu_backward(x, d, 0.1),
                   lambda x: R.leaky_relu_forward(x, 0.1),
                   lambda x, y, d: R.leaky_relu_backward(x, d, 0.1),
                   lambda t: torch.nn.functional.leaky_relu(t, 0.1)),
    "sigmoid": (K.sigmoid_forward, lambda x, y, d: K.sigmoid_backward(y, d),
                R.sigmoid_forward, lambda x, y, d: R.sigmoid_backward(y, d),
                lambda t: torch.sigmoid(t)),
    "tanh": (K.tanh_forward, lambda x, y, d: K.tanh_backward(y, d),
             R.tanh_forward, lambda x, y, d: R.tanh_backward(y, d), lambda t: torch.tanh(t)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_propagate_nan_and_inf(name, dtype):
    fwd, back, ref_fwd, ref_back, torch_fn = ACTIVATIONS[name]
    x = poisoned((2, 3, 4), dtype)
    delta = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    y = fwd(x)
    grad = back(x, y, delta)
    same(y, ref_fwd(x), dtype)
    same(grad, ref_back(x, ref_fwd(x), delta), dtype)
    assert np.isnan(y.reshape(-1)[1]), f"{name}(NaN) must be NaN"
    if torch is not None:
        t_out, (t_grad,) = torch_grads(torch_fn, x.astype(np.float64), delta=delta)
        same(y, t_out, dtype)
        same(grad, t_grad, dtype)


POOLS = [((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1)), ((2, 3), (1, 2), (1, 1))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("k", "s", "p"), POOLS)
def test_max_pool_lets_nan_win_like_pytorch(k, s, p, dtype):
    x = poisoned((2, 2, 6, 6), dtype)
    x[0, 0, :2, :2] = NAN                      # two NaN in one window: the last one wins
    x[1, 1, 2:4, 2:4] = -INF                   # an all -inf window: the first cell
    out, argmax = K.maxpool2d_forward(x, k, s, p)
    ref_out, ref_argmax = R.maxpool2d_forward(x, k, s, p)
    same(out, ref_out, dtype)
    np.testing.assert_array_equal(argmax, ref_argmax)
    delta = np.random.default_rng(2).standard_normal(out.shape).astype(dtype)
    grad = K.maxpool2d_backward(delta, argmax, x.shape)
    same(grad, R.maxpool2d_backward(delta, ref_argmax, x.shape), dtype)
    assert np.isnan(out[0, 0, 0, 0])
    if torch is not None:
        t_x = torch.tensor(x.astype(np.float64), requires_grad=True)
        t_out, t_idx = torch.nn.functional.max_pool2d(t_x, k, s, p, return_indices=True)
        t_out.backward(torch.tensor(delta, dtype=torch.float64))
        same(out, t_out.detach().numpy(), dtype)
        np.testing.assert_array_equal(argmax, t_idx.numpy())
        same(grad, t_x.grad.numpy(), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("k", "s", "p"), POOLS)
def test_avg_pool_propagates_nan_and_inf(k, s, p, dtype):
    x = poisoned((2, 2, 6, 6), dtype)
    out = K.avgpool2d_forward(x, k, s, p)
    same(out, R.avgpool2d_forward(x, k, s, p), dtype)
    delta = poisoned(out.shape, dtype, seed=3)
    grad = K.avgpool2d_backward(delta, x.shape, k, s, p)
    same(grad, R.avgpool2d_backward(delta, x.shape, k, s, p), dtype)
    if torch is not None:
        t_out, (t_grad,) = torch_grads(
            lambda t: torch.nn.functional.avg_pool2d(t, k, s, p, count_include_pad=True),
            x.astype(np.float64), delta=delta.astype(np.float64))
        same(out, t_out, dtype)
        same(grad, t_grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("stride", "padding"), [((1, 1), (1, 1)), ((2, 1), (0, 2))])
def test_conv_propagates_nan_and_inf(stride, padding, dtype):
    o = poisoned((2, 2, 7, 7), dtype)
    w = np.random.default_rng(4).standard_normal((3, 2, 3, 3)).astype(dtype)
    b = np.zeros(3, dtype)
    x = K.conv2d_forward(o, w, b, stride, padding)
    same(x, R.conv2d_forward(o, w, b, stride, padding), dtype)
    delta = np.random.default_rng(5).standard_normal(x.shape).astype(dtype)
    grads = K.conv2d_backward(o, w, delta, stride, padding)
    for got, want in zip(grads, R.conv2d_backward(o, w, delta, stride, padding), strict=True):
        same(got, want, dtype)
    if torch is not None:
        t_out, t_grads = torch_grads(
            lambda to, tw, tb: torch.nn.functional.conv2d(to, tw, tb, stride, padding),
            o.astype(np.float64), w.astype(np.float64), b.astype(np.float64), delta=delta)
        same(x, t_out, dtype)
        for got, want in zip(grads, t_grads, strict=True):
            same(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_propagates_nan_and_inf(dtype):
    o = poisoned((3, 12), dtype)
    w = np.random.default_rng(6).standard_normal((4, 12)).astype(dtype)
    b = np.zeros(4, dtype)
    x = K.dense_forward(o, w, b)
    same(x, R.dense_forward(o, w, b), dtype)
    delta = np.random.default_rng(7).standard_normal(x.shape).astype(dtype)
    grads = K.dense_backward(o, w, delta)
    for got, want in zip(grads, R.dense_backward(o, w, delta), strict=True):
        same(got, want, dtype)
    if torch is not None:
        t_out, t_grads = torch_grads(torch.nn.functional.linear, o.astype(np.float64),
                                     w.astype(np.float64), b.astype(np.float64), delta=delta)
        same(x, t_out, dtype)
        for got, want in zip(grads, t_grads, strict=True):
            same(got, want, dtype)


LOGITS = {"nan": [[NAN, 1.0, 2.0], [0.5, 0.1, -0.3]], "inf": [[INF, 1.0, 2.0], [0.5, 0.1, 0.2]],
          "-inf": [[-INF, 1.0, 2.0], [0.5, 0.1, 0.2]], "all nan": [[NAN, NAN, NAN], [1, 2, 3]]}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(LOGITS))
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_losses_propagate_nan_and_inf(loss, case, dtype):
    z = np.array(LOGITS[case], dtype=dtype)
    y = np.array([1, 0])
    kernel = K.softmax_cross_entropy if loss == "cross_entropy" else K.mse_loss
    twin = R.softmax_cross_entropy if loss == "cross_entropy" else R.mse_loss
    with np.errstate(all="ignore"):
        value, grad = kernel(z, y)
        ref_value, ref_grad = twin(z, y)
    same(value, ref_value, dtype)
    same(grad, ref_grad, dtype)
    if torch is not None:
        t_z = torch.tensor(z.astype(np.float64), requires_grad=True)
        if loss == "cross_entropy":
            t_loss = torch.nn.functional.cross_entropy(t_z, torch.tensor(y))
        else:
            onehot = torch.nn.functional.one_hot(torch.tensor(y), 3).double()
            t_loss = 0.5 * ((t_z - onehot) ** 2).sum() / len(y)
        t_loss.backward()
        same(value, t_loss.item(), dtype)
        same(grad, t_z.grad.numpy(), dtype)


NET = {"input": [1, 8, 8], "layers": [
    {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1}, {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2}, {"type": "conv2d", "out_channels": 2,
                                               "kernel_size": 3},
    {"type": "leaky_relu", "negative_slope": 0.1}, {"type": "avgpool2d", "kernel_size": 2},
    {"type": "flatten"}, {"type": "dense", "units": 4}, {"type": "tanh"},
    {"type": "dense", "units": 3}, {"type": "sigmoid"}, {"type": "dense", "units": 2}]}


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("bad", [NAN, INF, -INF])
def test_a_network_with_nan_activations_shows_no_finite_loss(bad, loss):
    """Every layer type in one network: a NaN (or an inf that turns into one) in the input
    reaches the loss; the loss is NaN, never a finite number that hides it."""
    net = Network.from_spec({**NET, "loss": loss}, seed=0, dtype="float64")
    x = np.zeros((1, 1, 8, 8))
    x[0, 0, 3, 3] = bad
    with np.errstate(all="ignore"):
        p = net.run_pass(x, np.array([1]))
    assert not np.isfinite(p.loss), p.loss
    assert not np.isfinite(p.outputs[1]).all()          # relu passed it on
    if bad != bad:
        assert np.isnan(p.outputs[-1]).all()
