"""Every Numba kernel against its plain-NumPy twin in core/reference.py, on random shapes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnviz.core import kernels as K
from cnnviz.core import reference as R

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = [np.float32, np.float64]


def assert_close(actual, expected, dtype):
    """float64: 1e-10 relative to the largest value; float32: 1e-5 of it (DESIGN.md)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert actual.dtype == np.dtype(dtype) or actual.dtype == np.int64
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    tol = 1e-10 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol * scale)


@st.composite
def conv_case(draw):
    """A random conv problem: batch, channels, odd sizes, rectangular kernels, stride, padding."""
    n, c, o = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    k1, k2 = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s1, s2 = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    p1, p2 = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, k1 - 2 * p1), 11))
    w = draw(st.integers(max(1, k2 - 2 * p2), 11))
    seed = draw(st.integers(0, 2**31))
    return (n, c, h, w), (o, c, k1, k2), (s1, s2), (p1, p2), seed


@st.composite
def pool_case(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k1, k2 = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s1, s2 = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    p1, p2 = draw(st.integers(0, k1 // 2)), draw(st.integers(0, k2 // 2))
    h = draw(st.integers(max(1, k1 - 2 * p1), 11))
    w = draw(st.integers(max(1, k2 - 2 * p2), 11))
    seed = draw(st.integers(0, 2**31))
    return (n, c, h, w), (k1, k2), (s1, s2), (p1, p2), seed


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(case=conv_case())
def test_conv2d_forward_and_backward_match_reference(dtype, case):
    x_shape, w_shape, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    out = K.conv2d_forward(x, w, b, stride, padding)
    assert_close(out, R.conv2d_forward(x, w, b, stride, padding), dtype)
    delta = rng.standard_normal(out.shape).astype(dtype)
    for got, want in zip(
        K.conv2d_backward(x, w, delta, stride, padding),
        R.conv2d_backward(x, w, delta, stride, padding),
        strict=True,
    ):
        assert_close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(case=pool_case())
def test_maxpool2d_matches_reference_including_winners(dtype, case):
    x_shape, kernel, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    # a coarse grid of values makes ties common: the first maximum must win, as in PyTorch
    x = rng.integers(-3, 4, size=x_shape).astype(dtype)
    out, argmax = K.maxpool2d_forward(x, kernel, stride, padding)
    ref_out, ref_argmax = R.maxpool2d_forward(x, kernel, stride, padding)
    assert_close(out, ref_out, dtype)
    np.testing.assert_array_equal(argmax, ref_argmax)
    delta = rng.standard_normal(out.shape).astype(dtype)
    assert_close(
        K.maxpool2d_backward(delta, argmax, x.shape),
        R.maxpool2d_backward(delta, ref_argmax, x.shape),
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(case=pool_case())
def test_avgpool2d_matches_reference(dtype, case):
    x_shape, kernel, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    out = K.avgpool2d_forward(x, kernel, stride, padding)
    assert_close(out, R.avgpool2d_forward(x, kernel, stride, padding), dtype)
    delta = rng.standard_normal(out.shape).astype(dtype)
    assert_close(
        K.avgpool2d_backward(delta, x.shape, kernel, stride, padding),
        R.avgpool2d_backward(delta, x.shape, kernel, stride, padding),
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(n=st.integers(1, 5), j=st.integers(1, 40), k=st.integers(1, 12), seed=st.integers(0, 999))
def test_dense_matches_reference(dtype, n, j, k, seed):
    rng = np.random.default_rng(seed)
    o = rng.standard_normal((n, j)).astype(dtype)
    w = rng.standard_normal((k, j)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    out = K.dense_forward(o, w, b)
    assert_close(out, R.dense_forward(o, w, b), dtype)
    delta = rng.standard_normal(out.shape).astype(dtype)
    for got, want in zip(K.dense_backward(o, w, delta), R.dense_backward(o, w, delta), strict=True):
        assert_close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "leaky_relu"])
def test_activations_match_reference(dtype, name):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((3, 2, 5, 7)) * 4).astype(dtype)
    x[0, 0, 0, :3] = 0.0  # the kink: relu'(0) = 0 and leaky_relu'(0) = slope, as PyTorch
    delta = rng.standard_normal(x.shape).astype(dtype)
    extra = (0.2,) if name == "leaky_relu" else ()
    out = getattr(K, f"{name}_forward")(x, *extra)
    assert_close(out, getattr(R, f"{name}_forward")(x, *extra), dtype)
    saved = out if name in ("sigmoid", "tanh") else x
    got = getattr(K, f"{name}_backward")(saved, delta, *extra)
    assert_close(got, getattr(R, f"{name}_backward")(saved, delta, *extra), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "mse_loss"])
@pytest.mark.parametrize("n", [1, 7])
def test_losses_match_reference(dtype, loss, n):
    rng = np.random.default_rng(n)
    z = (rng.standard_normal((n, 10)) * 5).astype(dtype)
    y = rng.integers(0, 10, size=n)
    value, grad = getattr(K, loss)(z, y)
    ref_value, ref_grad = getattr(R, loss)(z, y)
    assert value == pytest.approx(ref_value, rel=1e-12 if dtype == np.float64 else 1e-6)
    assert_close(grad, ref_grad, dtype)


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0]])
    value, grad = K.softmax_cross_entropy(z, np.array([0]))
    assert value == pytest.approx(0.0)
    assert np.all(np.isfinite(grad))


def test_every_kernel_has_a_twin():
    for name in K.TWINNED:
        assert callable(getattr(R, name)), name


def test_large_batches_split_over_threads_give_the_same_numbers(monkeypatch):
    """The batch splitter must not change results: compare chunked and single-thread runs."""
    from cnnviz.core.kernels import _jit

    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 3, 12, 12))
    w = rng.standard_normal((5, 3, 3, 3))
    b = rng.standard_normal(5)
    delta = rng.standard_normal((16, 5, 10, 10))
    monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(_jit, "thread_count", lambda: 3)
    assert len(_jit.batch_chunks(16, 10)) == 3
    split = (
        K.conv2d_forward(x, w, b, (1, 1), (0, 0)),
        *K.conv2d_backward(x, w, delta, (1, 1), (0, 0)),
    )
    monkeypatch.setattr(_jit, "thread_count", lambda: 1)
    single = (
        K.conv2d_forward(x, w, b, (1, 1), (0, 0)),
        *K.conv2d_backward(x, w, delta, (1, 1), (0, 0)),
    )
    for a, c in zip(split, single, strict=True):
        np.testing.assert_allclose(a, c, rtol=0, atol=1e-12)


@pytest.mark.parametrize("padding", [(0, 0), (1, 1)])
def test_maxpool2d_propagates_nan_like_the_reference(padding):
    x = np.arange(2 * 1 * 6 * 6, dtype=np.float64).reshape(2, 1, 6, 6)
    x[0, 0, 1, 1] = np.nan
    out, argmax = K.maxpool2d_forward(x, (2, 2), (2, 2), padding)
    ref_out, ref_argmax = R.maxpool2d_forward(x, (2, 2), (2, 2), padding)
    np.testing.assert_array_equal(out, ref_out)  # NaN compares equal positionally here
    np.testing.assert_array_equal(argmax, ref_argmax)
    assert np.isnan(out[0, 0]).sum() == 1
