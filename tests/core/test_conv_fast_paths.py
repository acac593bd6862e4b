"""The fused 3×3 and the 1×1 convolution paths, and the kernels split over the pool.

Each path is forced on and off and compared with the NumPy twins in core/reference.py,
at batch 1 and above, odd channel counts, every padding the 3×3 path takes (and one it
hands back), and with chunks on several threads. Kernels that split work over threads
must give the very same bits as one thread.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core import kernels as K
from cnnviz.core import reference as R
from cnnviz.core.kernels import _jit, conv, conv1x1, conv3x3, conv_single


def _close(got, want, dtype=np.float64):
    scale = max(1.0, float(np.abs(want).max()))
    tol = 1e-10 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * scale)


def _layer(x, w, b, stride, padding, rng):
    """Forward, then both gradients sharing the forward's cache, as a layer runs them."""
    cache: dict = {}
    out = K.conv2d_forward(x, w, b, stride, padding, cache)
    delta = rng.standard_normal(out.shape).astype(x.dtype)
    grad_w, grad_b = K.conv2d_backward_params(x, delta, w.shape, stride, padding, cache)
    grad_x = K.conv2d_backward_input(delta, w, x.shape, stride, padding, cache)
    return out, delta, (grad_x, grad_w, grad_b)


def _check(x, w, b, stride, padding, seed=0):
    rng = np.random.default_rng(seed)
    out, delta, grads = _layer(x, w, b, stride, padding, rng)
    _close(out, R.conv2d_forward(x, w, b, stride, padding), x.dtype)
    for got, want in zip(grads, R.conv2d_backward(x, w, delta, stride, padding), strict=True):
        _close(got, want, x.dtype)


def _threads(monkeypatch, threads: int) -> None:
    """Chunks on `threads` threads; batch 1 on these paths too, not conv_single's."""
    monkeypatch.setattr(conv_single, "SINGLE_MAX_TAPS", 0)
    monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(_jit, "thread_count", lambda: threads)
    monkeypatch.setattr(_jit, "cores_busy", lambda: False)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("blas_below", [0, 10**9])  # the nine-tap kernels / the tap matrix
@pytest.mark.parametrize(
    ("n", "c", "h", "w", "o", "pad"),
    [
        (1, 16, 14, 14, 16, 1),  # mini-resnet's identity block at batch 1
        (5, 3, 9, 11, 5, 1),  # odd output channels: the last one pairs with a spare row
        (2, 1, 7, 6, 1, 0),  # one channel in, one out, no padding
        (3, 4, 6, 8, 3, 2),  # padding 2: δ padded by 0 for the input gradient
        (4, 2, 5, 5, 7, 3),  # padding 3: the input gradient takes the general path
    ],
)
def test_fused_3x3_path_matches_reference(monkeypatch, threads, blas_below, n, c, h, w, o, pad):
    _threads(monkeypatch, threads)
    monkeypatch.setattr(conv3x3, "BLAS_BELOW", blas_below)
    rng = np.random.default_rng(n * 31 + c)
    x = rng.standard_normal((n, c, h, w))
    weight, bias = rng.standard_normal((o, c, 3, 3)), rng.standard_normal(o)
    assert conv._fused3(weight.shape, (1, 1))
    _check(x, weight, bias, (1, 1), (pad, pad))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_3x3_path_equals_the_other_stride1_paths(monkeypatch, dtype):
    """The same layer with the fused path switched off (direct and tap-matrix kernels)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 5, 10, 9)).astype(dtype)
    w, b = rng.standard_normal((6, 5, 3, 3)).astype(dtype), rng.standard_normal(6).astype(dtype)
    fused = _layer(x, w, b, (1, 1), (1, 1), np.random.default_rng(1))
    monkeypatch.setattr(conv, "FUSED3_MAX_CHANNELS", 0)
    other = _layer(x, w, b, (1, 1), (1, 1), np.random.default_rng(1))
    _close(fused[0], other[0], dtype)
    for got, want in zip(fused[2], other[2], strict=True):
        _close(got, want, dtype)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf·0 in the products, on purpose
@pytest.mark.parametrize("where", ["input", "weight", "delta"])
def test_fused_3x3_path_keeps_nan_and_inf_where_the_reference_has_them(where):
    """The weight gradient's runs cross garbage columns: a non-finite input must take the
    general path; the input gradient must not multiply padding zeros by an inf weight."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 8, 7)), rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    delta = rng.standard_normal((2, 4, 8, 7))
    if where == "input":
        x[0, 1, 2, 6], x[1, 0, 7, 0] = np.nan, np.inf
    elif where == "weight":
        w[1, 0, 0, 2] = np.inf
    else:
        delta[1, 2, 0, 0] = np.nan
    one = (1, 1)
    got = (K.conv2d_forward(x, w, b, one, one), *K.conv2d_backward(x, w, delta, one, one))
    want = (R.conv2d_forward(x, w, b, one, one), *R.conv2d_backward(x, w, delta, one, one))
    for g, r in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(r))
        finite = np.isfinite(r)
        np.testing.assert_allclose(g[finite], r[finite], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("stride", [(1, 1), (2, 2), (2, 1)])
@pytest.mark.parametrize(("n", "c", "h", "w", "o"), [(1, 16, 7, 7, 32), (4, 3, 9, 6, 5)])
def test_1x1_path_matches_reference(monkeypatch, threads, stride, n, c, h, w, o):
    _threads(monkeypatch, threads)
    rng = np.random.default_rng(h * w + o)
    x = rng.standard_normal((n, c, h, w))
    weight, bias = rng.standard_normal((o, c, 1, 1)), rng.standard_normal(o)
    assert conv1x1.applies(weight.shape, (0, 0))
    _check(x, weight, bias, stride, (0, 0))


def test_a_padded_1x1_convolution_does_not_take_the_1x1_path():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 1, 1)), np.zeros(2)
    assert not conv1x1.applies(w.shape, (1, 1))
    _check(x, w, b, (1, 1), (1, 1))


def _split_results(monkeypatch, threads: int) -> list[np.ndarray]:
    """Batch norm (both modes), relu and max pool on one input, with `threads` chunks."""
    _threads(monkeypatch, threads)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 7, 9, 10)).astype(np.float32)
    delta = rng.standard_normal(x.shape).astype(np.float32)
    gamma, beta = rng.standard_normal((2, 7)).astype(np.float32)
    out, x_hat, mean, var = K.batchnorm_forward(x, gamma, beta, 1e-5)
    results = [out, x_hat, mean, var]
    results += K.batchnorm_forward_eval(x, gamma, beta, mean, var, 1e-5)
    for training in (True, False):
        results += K.batchnorm_backward(delta, x_hat, gamma, var, 1e-5, training)
    results += [K.relu_forward(x), K.relu_backward(x, delta), K.tanh_forward(x)]
    pooled, argmax = K.maxpool2d_forward(x, (2, 2), (2, 2), (0, 0))
    results += [pooled, K.maxpool2d_backward(delta[:, :, :4, :5], argmax, x.shape)]
    return results


def test_kernels_split_over_threads_give_the_same_bits_as_one_thread(monkeypatch):
    one = _split_results(monkeypatch, 1)
    three = _split_results(monkeypatch, 3)
    for a, b in zip(one, three, strict=True):
        np.testing.assert_array_equal(a, b)


def test_cores_busy_counts_other_processes_only(monkeypatch):
    """Our own threads keeping both cores busy is no reason to stop using the pool;
    another process holding a core is."""
    clock = {"wall": 100.0, "own": 10.0, "system": 50.0}
    monkeypatch.setattr(_jit.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(_jit.time, "process_time", lambda: clock["own"])
    monkeypatch.setattr(_jit, "_system_busy_seconds", lambda: clock["system"])
    monkeypatch.setattr(_jit.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(_jit, "_busy_sample", [-1.0, 0.0, 0.0, False])

    def window(own: float, others: float) -> bool:
        clock["wall"] += 0.2
        clock["own"] += own * 0.2
        clock["system"] += (own + others) * 0.2
        return _jit.cores_busy()

    assert _jit.cores_busy() is False  # no window yet: unknown counts as free
    assert window(own=2.0, others=0.0) is False  # both cores ours
    assert window(own=1.0, others=1.0) is True  # another process holds the other core
    assert window(own=1.0, others=0.2) is False  # a little background work
    clock["wall"] += 0.01
    assert _jit.cores_busy() is False  # within the window: the last verdict


def test_one_chunk_and_over_batch_agree_with_batch_chunks(monkeypatch):
    """`over_batch` is `run_chunks` over `batch_chunks`, a single chunk called directly."""
    seen: list = []

    def task(start: int, stop: int) -> tuple[int, int]:
        seen.append((start, stop))
        return start, stop

    for min_work, threads in ((_jit.PARALLEL_MIN_WORK, 2), (0, 3), (0, 1)):
        monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", min_work)
        monkeypatch.setattr(_jit, "thread_count", lambda threads=threads: threads)
        for batch, work in ((1, 10**9), (7, 10), (64, 10**9)):
            chunks = _jit.batch_chunks(batch, work)
            if _jit.one_chunk(batch, work):  # (one thread may also give one chunk)
                assert chunks == [(0, batch)]
            seen.clear()
            assert _jit.over_batch(task, batch, work) == chunks
            assert sorted(seen) == chunks


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused3_weight_gradient_reuses_the_forward_tap_matrix_bit_for_bit(monkeypatch, dtype):
    """At batch 1 (the BLAS path) the forward pass leaves its tap matrix for the weight
    gradient; the gradient must be the very bits of one built afresh."""
    monkeypatch.setattr(conv_single, "SINGLE_MAX_TAPS", 0)  # (conv_single's own test too)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 16, 14, 14)).astype(dtype)
    w = rng.standard_normal((16, 16, 3, 3)).astype(dtype)
    delta = rng.standard_normal((1, 16, 14, 14)).astype(dtype)
    cache: dict = {}
    K.conv2d_forward(x, w, np.zeros(16, dtype), (1, 1), (1, 1), cache)
    assert ("taps", 0, 1) in cache
    reused = K.conv2d_backward_params(x, delta, w.shape, (1, 1), (1, 1), cache)
    fresh = K.conv2d_backward_params(x, delta, w.shape, (1, 1), (1, 1), None)
    for a, b in zip(reused, fresh, strict=True):
        assert a.tobytes() == b.tobytes()
    want_w, want_b = R.conv2d_backward(x, w, delta, (1, 1), (1, 1))[1:]
    _close(reused[0], want_w, dtype)
    _close(reused[1], want_b, dtype)
