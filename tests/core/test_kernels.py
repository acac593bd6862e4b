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


# --- the fast paths: each must give the reference's numbers -------------------------


@st.composite
def wide_kernel_case(draw):
    """Stride-1 problems with kernels up to 7 wide: the direct kernels take taps 5 at a time."""
    n, c, o = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 5))
    k1, k2 = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    p1, p2 = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    h = draw(st.integers(max(1, k1 - 2 * p1), 13))
    w = draw(st.integers(max(1, k2 - 2 * p2), 13))
    seed = draw(st.integers(0, 2**31))
    return (n, c, h, w), (o, c, k1, k2), (p1, p2), seed


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("direct_max_out", [0, 64])  # 0: tap matrix + BLAS; 64: direct loops
@SETTINGS
@given(case=wide_kernel_case())
def test_both_stride1_conv_paths_match_reference(dtype, direct_max_out, case):
    """Force each stride-1 path (direct / tap matrix) on random problems."""
    from cnnviz.core.kernels import conv_wide_passes as conv

    x_shape, w_shape, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    saved = conv.DIRECT_MAX_OUT, conv.DIRECT_INPUT_MAX_OUT
    conv.DIRECT_MAX_OUT = conv.DIRECT_INPUT_MAX_OUT = direct_max_out
    try:
        cache: dict = {}
        out = K.conv2d_forward(x, w, b, (1, 1), padding, cache)
        delta = rng.standard_normal(out.shape).astype(dtype)
        cached = K.conv2d_backward_params(x, delta, w.shape, (1, 1), padding, cache)
        got = K.conv2d_backward(x, w, delta, (1, 1), padding)
    finally:
        conv.DIRECT_MAX_OUT, conv.DIRECT_INPUT_MAX_OUT = saved
    assert_close(out, R.conv2d_forward(x, w, b, (1, 1), padding), dtype)
    want = R.conv2d_backward(x, w, delta, (1, 1), padding)
    for g, r in zip((*got, *cached), (*want, *want[1:]), strict=True):
        assert_close(g, r, dtype)


def _nonfinite_conv_case(direct_max_out, where, padding):
    from cnnviz.core.kernels import conv_wide_passes as conv

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 7, 6))
    w = rng.standard_normal((3, 2, 3, 2))
    b = rng.standard_normal(3)
    if where == "input":
        # edge columns: unpadded, the wide rows' garbage columns read exactly these cells
        x[0, 1, 2, 5], x[1, 0, 4, 0] = np.nan, np.inf
    else:
        w[1, 0, 0, 1] = np.nan
    Ho, Wo = 7 - 3 + 1 + 2 * padding[0], 6 - 2 + 1 + 2 * padding[1]
    delta = rng.standard_normal((2, 3, Ho, Wo))
    saved = conv.DIRECT_MAX_OUT, conv.DIRECT_INPUT_MAX_OUT
    conv.DIRECT_MAX_OUT = conv.DIRECT_INPUT_MAX_OUT = direct_max_out
    try:
        got = (
            K.conv2d_forward(x, w, b, (1, 1), padding),
            *K.conv2d_backward(x, w, delta, (1, 1), padding),
        )
    finally:
        conv.DIRECT_MAX_OUT, conv.DIRECT_INPUT_MAX_OUT = saved
    want = (
        R.conv2d_forward(x, w, b, (1, 1), padding),
        *R.conv2d_backward(x, w, delta, (1, 1), padding),
    )
    return got, want


@pytest.mark.parametrize("direct_max_out", [0, 64])
@pytest.mark.parametrize("where", ["input", "weight"])
@pytest.mark.parametrize("padding", [(0, 0), (1, 1)])
def test_stride1_conv_keeps_nan_and_inf_exactly_where_the_reference_has_them(
    direct_max_out, where, padding
):
    """The wide rows' garbage columns must never leak 0·inf = NaN into real results."""
    got, want = _nonfinite_conv_case(direct_max_out, where, padding)
    for g, r in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(r))
        np.testing.assert_array_equal(np.isinf(g), np.isinf(r))
        finite = np.isfinite(r)
        scale = max(1.0, np.abs(r[finite]).max(initial=0.0))
        np.testing.assert_allclose(g[finite], r[finite], rtol=0, atol=1e-10 * scale)
    assert np.isnan(want[0]).any() and np.isfinite(want[0]).any()  # the case is not trivial


@pytest.mark.parametrize("dtype", DTYPES)
def test_2x2_maxpool_fast_path_keeps_first_winner_on_ties(dtype):
    rng = np.random.default_rng(9)
    x = rng.integers(-1, 2, size=(5, 3, 9, 8)).astype(dtype)  # odd height: last row unused
    out, argmax = K.maxpool2d_forward(x, (2, 2), (2, 2), (0, 0))
    ref_out, ref_argmax = R.maxpool2d_forward(x, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(argmax, ref_argmax)


def test_lenet5_pass_is_bit_identical_run_to_run():
    """The debugger replays steps and expects run_pass's exact numbers (batch split included)."""
    from cnnviz.core import Network
    from cnnviz.core.presets import get_preset

    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=64)
    passes = [Network.from_spec(get_preset("lenet5"), seed=1).run_pass(x, y) for _ in range(2)]
    first, second = passes
    assert first.loss == second.loss
    for a, c in zip(
        first.outputs + first.output_grads, second.outputs + second.output_grads, strict=True
    ):
        np.testing.assert_array_equal(a, c)
    for name in first.grads:
        np.testing.assert_array_equal(first.grads[name], second.grads[name])


_WARMUP_SCRIPT = """
import sys, numba, numpy as np
from cnnviz.core import Network, warmup
from cnnviz.core.kernels import (activations, conv, conv3x3, conv_single, conv_wide, dropout,
                                 losses, norm, pool)
from cnnviz.core.optim import SGD
from cnnviz.core.presets import get_preset

def signatures():
    return {(m.__name__, name): len(f.signatures)
            for m in (activations, conv, conv3x3, conv_single, conv_wide, dropout, losses, norm,
                      pool)
            for name, f in vars(m).items() if isinstance(f, numba.core.registry.CPUDispatcher)}

warmup("float32")
before = signatures()
rng = np.random.default_rng(0)
for preset in ("lenet5", "tinyvgg", "mini-resnet", "rgb-shapes", "lenet5-dropout"):
    net = Network.from_spec(get_preset(preset), seed=0)
    for batch in (1, 64):
        x = rng.random((batch, *net.spec.input_shape), dtype=np.float32)
        y = rng.integers(0, net.spec.num_classes, size=batch)
        net.run_pass(x, y)
        net.train_step(x, y, SGD(lr=0.01))
after = signatures()
print({k: (before[k], after[k]) for k in after if after[k] != before.get(k)})
"""


def test_warmup_compiles_every_kernel_a_training_step_uses():
    """After warmup no pass or step compiles anything (the first GUI step must not freeze).

    A fresh interpreter, so that kernels compiled by earlier tests cannot hide a gap.
    """
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", _WARMUP_SCRIPT], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip().splitlines()[-1] == "{}", run.stdout


# --- batch norm and dropout ------------------------------------------------------------


@st.composite
def norm_case(draw):
    """A batch-norm input: (N, C) or (N, C, H, W), odd sizes, batch 1 and more."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    spatial = draw(st.sampled_from([(), (1, 1), (3, 5), (7, 2)]))
    if n == 1 and spatial in ((), (1, 1)):
        n = 2  # one value per channel: no variance to normalise with (PyTorch refuses it)
    return (n, c, *spatial), draw(st.integers(0, 2**31))


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(case=norm_case(), training=st.booleans())
def test_batchnorm_matches_reference(dtype, case, training):
    shape, seed = case
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    gamma, beta = (rng.standard_normal(shape[1]).astype(dtype) for _ in range(2))
    eps = 1e-5
    if training:
        out, x_hat, mean, var = K.batchnorm_forward(x, gamma, beta, eps)
        ref = R.batchnorm_forward(x, gamma, beta, eps)
        for got, want in zip((out, x_hat, mean, var), ref, strict=True):
            assert_close(got, want, dtype)
    else:
        mean, var = rng.standard_normal(shape[1]).astype(dtype), rng.random(shape[1]).astype(dtype)
        out, x_hat = K.batchnorm_forward_eval(x, gamma, beta, mean, var, eps)
        ref = R.batchnorm_forward_eval(x, gamma, beta, mean, var, eps)
        for got, want in zip((out, x_hat), ref, strict=True):
            assert_close(got, want, dtype)
    delta = rng.standard_normal(shape).astype(dtype)
    got = K.batchnorm_backward(delta, x_hat, gamma, var, eps, training)
    want = R.batchnorm_backward(delta, x_hat, gamma, var, eps, training)
    for a, b in zip(got, want, strict=True):
        assert_close(a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(case=norm_case())
def test_batchnorm_share_sums_match_reference(dtype, case):
    """The partial sums of a share of a data-parallel step (core/batch_sync.py) and its
    ∂E/∂x from given whole-batch sums."""
    shape, seed = case
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    shift = rng.standard_normal(shape[1])
    for square in (False, True):
        got = K.batchnorm_shifted_sums(x, shift, square)
        assert_close(got, R.batchnorm_shifted_sums(x, shift, square), np.float64)
    gamma = rng.standard_normal(shape[1]).astype(dtype)
    _, x_hat, _, var = K.batchnorm_forward(x, gamma, gamma, 1e-5)
    delta = rng.standard_normal(shape).astype(dtype)
    sums = K.batchnorm_delta_sums(delta, x_hat)
    assert sums.dtype == np.float64  # float64 sums of products in the arrays' dtype
    assert_close(sums.astype(dtype), R.batchnorm_delta_sums(delta, x_hat).astype(dtype), dtype)
    m = x.size // x.shape[1] + int(rng.integers(0, 5))  # the whole batch's, ≥ the share's
    got = K.batchnorm_backward_with_sums(delta, x_hat, gamma, var, 1e-5, sums, m)
    want = R.batchnorm_backward_with_sums(delta, x_hat, gamma, var, 1e-5, sums, m)
    assert_close(got, want, dtype)


def test_batchnorm_backward_with_its_own_sums_is_the_whole_backward():
    """With the share's own sums and count, the share's ∂E/∂x is `batchnorm_backward`'s
    (to rounding: LLVM may contract the two loops into FMAs differently)."""
    rng = np.random.default_rng(4)
    x, delta = rng.standard_normal((2, 6, 3, 5, 4))
    gamma = rng.standard_normal(3)
    _, x_hat, _, var = K.batchnorm_forward(x, gamma, gamma, 1e-5)
    whole, grad_gamma, grad_beta = K.batchnorm_backward(delta, x_hat, gamma, var, 1e-5, True)
    sums = K.batchnorm_delta_sums(delta, x_hat)
    np.testing.assert_array_equal(sums, [grad_beta, grad_gamma])
    got = K.batchnorm_backward_with_sums(delta, x_hat, gamma, var, 1e-5, sums, 6 * 5 * 4)
    np.testing.assert_allclose(got, whole, rtol=0, atol=1e-14 * np.abs(whole).max())


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(
    c=st.integers(1, 70),
    momentum=st.sampled_from([0.1, 0.0, 1.0, 0.05, 0.3, 0.999, 1e-7, 0.123456789]),
    m=st.sampled_from([2, 3, 49, 196, 12544, 999_983]),
    scale=st.sampled_from([1e-30, 1e-3, 1.0, 1e3, 1e30]),
    seed=st.integers(0, 2**31),
)
def test_batchnorm_update_running_matches_reference_bit_for_bit(dtype, c, momentum, m, scale,
                                                                seed):
    """The running-statistics kernel gives NumPy's bits exactly (its layer used NumPy's
    expressions before): the floats in the arrays' dtype, no fused multiply-add."""
    rng = np.random.default_rng(seed)
    running_mean, mean = (rng.standard_normal((2, c)) * scale).astype(dtype)
    running_var, var = (rng.random((2, c)) * scale).astype(dtype)
    want = running_mean.copy(), running_var.copy()
    R.batchnorm_update_running(*want, mean, var, momentum, m)
    K.batchnorm_update_running(running_mean, running_var, mean, var, momentum, m)
    assert running_mean.tobytes() == want[0].tobytes()
    assert running_var.tobytes() == want[1].tobytes()


def test_batchnorm_update_running_keeps_numpy_promotion_and_specials():
    """float32 running statistics moved by float64 batch ones (NumPy computes in float64
    and rounds once on storing), and infinities, zeros and subnormals, bit for bit."""
    rng = np.random.default_rng(5)
    specials = np.array([np.inf, -np.inf, 0.0, -0.0, 1e-40, 3e38, 1.0, -2.5])
    for batch_dtype in (np.float32, np.float64):
        running_mean, running_var = rng.choice(specials, (2, 64)).astype(np.float32)
        mean, var = rng.choice(specials, (2, 64)).astype(batch_dtype)
        want = running_mean.copy(), running_var.copy()
        with np.errstate(all="ignore"):
            R.batchnorm_update_running(*want, mean, var, 0.1, 7)
        K.batchnorm_update_running(running_mean, running_var, mean, var, 0.1, 7)
        assert running_mean.tobytes() == want[0].tobytes()
        assert running_var.tobytes() == want[1].tobytes()


def test_batchnorm_training_output_has_zero_mean_and_unit_variance():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3, 4, 6)) * 7 - 2
    out, _, mean, var = K.batchnorm_forward(x, np.ones(3), np.zeros(3), 1e-5)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(axis=(0, 2, 3)), rtol=1e-12)  # biased
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), var / (var + 1e-5), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(
    shape=st.lists(st.integers(1, 7), min_size=2, max_size=4).map(tuple),
    p=st.sampled_from([0.0, 0.1, 0.5, 0.9]),
    seed=st.integers(0, 2**31),
)
def test_dropout_matches_reference(dtype, shape, p, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    mask = (rng.random(shape) >= p).astype(dtype)
    out = K.dropout_forward(x, mask, p)
    assert_close(out, R.dropout_forward(x, mask, p), dtype)
    np.testing.assert_array_equal(out == 0, (mask == 0) | (x == 0))
    delta = rng.standard_normal(shape).astype(dtype)
    assert_close(K.dropout_backward(delta, mask, p), R.dropout_backward(delta, mask, p), dtype)


# --- the optimizer's update ------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=4).map(tuple),
    lr=st.sampled_from([0.01, 0.1, 1e-3, 1 / 3, 0.0, 1e-45, 3e38, 1e300]),
    seed=st.integers(0, 2**31),
)
def test_sgd_update_is_numpy_bit_for_bit(dtype, shape, lr, seed):
    """The exact kernel rounds −η to the dtype, then the product, then the sum, as NumPy
    (bit for bit; a NaN is a NaN where NumPy's is, whatever its sign bit)."""
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, shape)).astype(dtype)
    g = (rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, shape)).astype(dtype)
    g.flat[0], w.flat[-1] = np.inf, np.nan
    want = w.copy()
    with np.errstate(all="ignore"):
        R.sgd_update(want, g, lr)
        K.sgd_update(w, g, lr)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(w), nan)
    assert w[~nan].tobytes() == want[~nan].tobytes()


def test_sgd_update_falls_back_to_numpy_for_what_the_kernel_cannot_take():
    """Strided views, mixed dtypes and float16 still update in place, with NumPy's bits."""
    from cnnviz.core.kernels.update import descend_in_place

    rng = np.random.default_rng(0)
    base = rng.standard_normal((6, 8)).astype(np.float32)
    cases = [
        (base[:, ::2], rng.standard_normal((6, 4)).astype(np.float32)),  # strided w
        (base.copy(), rng.standard_normal((6, 8))),  # float64 g for a float32 w
        (base.astype(np.float16), base.astype(np.float16)),
    ]
    for w, g in cases:
        assert not descend_in_place(w, g, 0.1)
        want = w.copy()
        want += -0.1 * g
        K.sgd_update(w, g, 0.1)
        assert w.tobytes() == want.tobytes()
    frozen = base.copy()
    frozen.flags.writeable = False
    assert not descend_in_place(frozen, base, 0.1)
