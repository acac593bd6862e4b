"""The batch-64 fast paths of the stride-1 convolution and the 2×2 max pool.

LeNet's shapes take kernels that small random problems rarely reach: input channels in
pairs for 5-wide kernels (the gather input gradient), whole-chunk weight-gradient runs,
the wide δ shared by the weight and input gradients, and chunks on several threads.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core import kernels as K
from cnnviz.core import reference as R
from cnnviz.core.kernels import _jit, conv_single


def _close(got, want):
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10 * scale)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize(
    ("n", "c", "h", "w", "o", "k", "pad"),
    [
        (7, 6, 14, 14, 16, 5, 0),  # LeNet's conv2
        (5, 1, 28, 28, 6, 5, 2),  # LeNet's conv1
        (4, 5, 11, 9, 3, 5, 1),  # odd channels: pairs and a single one
        (3, 3, 9, 13, 7, 3, 1),  # 3-wide kernels
        (1, 2, 6, 7, 9, 5, 2),  # batch 1
    ],
)
def test_layer_path_matches_reference(monkeypatch, threads, n, c, h, w, o, k, pad):
    """Forward, then the weight gradient and the input gradient sharing one cache."""
    monkeypatch.setattr(conv_single, "SINGLE_MAX_TAPS", 0)  # batch 1 on these paths too
    monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(_jit, "thread_count", lambda: threads)
    rng = np.random.default_rng(n * 100 + c)
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((o, c, k, k))
    b = rng.standard_normal(o)
    cache: dict = {}
    out = K.conv2d_forward(x, weight, b, (1, 1), (pad, pad), cache)
    delta = rng.standard_normal(out.shape)
    grad_w, grad_b = K.conv2d_backward_params(x, delta, weight.shape, (1, 1), (pad, pad), cache)
    grad_x = K.conv2d_backward_input(delta, weight, x.shape, (1, 1), (pad, pad), cache)
    want_x, want_w, want_b = R.conv2d_backward(x, weight, delta, (1, 1), (pad, pad))
    _close(out, R.conv2d_forward(x, weight, b, (1, 1), (pad, pad)))
    _close(grad_w, want_w)
    _close(grad_b, want_b)
    _close(grad_x, want_x)


def test_input_gradient_never_reuses_the_wide_delta_of_another_delta():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 14, 14))
    weight = rng.standard_normal((16, 6, 5, 5))
    cache: dict = {}
    out = K.conv2d_forward(x, weight, np.zeros(16), (1, 1), (0, 0), cache)
    first, second = rng.standard_normal(out.shape), rng.standard_normal(out.shape)
    K.conv2d_backward_params(x, first, weight.shape, (1, 1), (0, 0), cache)
    got = K.conv2d_backward_input(second, weight, x.shape, (1, 1), (0, 0), cache)
    _close(got, R.conv2d_backward(x, weight, second, (1, 1), (0, 0))[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_2x2_max_pool_breaks_ties_in_row_major_order(dtype):
    """Values from {0, 1, 2}: most windows hold ties, in every arrangement."""
    x = np.random.default_rng(2).integers(0, 3, size=(5, 3, 12, 10)).astype(dtype)
    out, argmax = K.maxpool2d_forward(x, (2, 2), (2, 2), (0, 0))
    want_out, want_argmax = R.maxpool2d_forward(x, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(argmax, want_argmax)


def test_chunks_run_on_the_caller_when_the_other_cores_are_busy(monkeypatch):
    """Same chunks, same order, no pool thread: the results cannot change."""
    import threading

    monkeypatch.setattr(_jit, "cores_busy", lambda: True)
    seen = []

    def task(start, stop):
        seen.append(threading.current_thread())
        return (start, stop)

    chunks = [(0, 3), (3, 5), (5, 9)]
    assert _jit.run_chunks(task, chunks) == chunks
    assert seen == [threading.current_thread()] * 3


def test_cores_busy_reads_a_bool():
    assert _jit.cores_busy() in (True, False)
