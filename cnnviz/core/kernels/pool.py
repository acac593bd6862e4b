"""Max and average pooling with stride and zero padding, forward and backward.

Max pool records each window's winner as a flat index h·W + w in the unpadded input
plane (the PyTorch convention); padded cells never win and ties go to the first
maximum in row-major order. A NaN wins its window (the last NaN in row-major order, as
PyTorch's CPU kernel), so NaN propagates. Average pool counts padded cells as zeros
(count_include_pad=True), so every window divides by k1·k2.

The 2×2 / stride-2 / unpadded max pool (every preset's) has its own branch-free kernel,
taken when the input holds no NaN: a general kernel with data-dependent branches spent
most of its time on mispredictions. Winners are stored as flat indices and routed back
without the division by W that a (row, column) split costs.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.kernels._jit import helper, kernel, one_chunk, over_batch


@helper
def _window_range(i, s, p, k, size):
    """Rows (or columns) m of window i that fall inside the unpadded input."""
    start = i * s - p
    return max(0, -start), min(k, size - start)


@kernel
def _max_forward(o, k1, k2, sh, sw, ph, pw, out, argmax):
    N, C, H, W = o.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for n in range(N):
        for c in range(C):
            plane = o[n, c]
            for i in range(Ho):
                m0, m1 = _window_range(i, sh, ph, k1, H)
                for j in range(Wo):
                    q0, q1 = _window_range(j, sw, pw, k2, W)
                    r, s = i * sh - ph + m0, j * sw - pw + q0
                    best, where = plane[r, s], r * W + s
                    for m in range(m0, m1):
                        r = i * sh - ph + m
                        for q in range(q0, q1):
                            v = plane[r, j * sw - pw + q]
                            if v > best or v != v:  # a NaN wins, the last one (torch)
                                best, where = v, r * W + j * sw - pw + q
                    out[n, c, i, j] = best
                    argmax[n, c, i, j] = where


@kernel
def _max_forward_2x2(o, out, argmax, vm, vi):
    """2×2 windows, stride 2, no padding, no NaN (LeNet's pools), without branches.

    Per plane, a vertical pass over contiguous row pairs keeps the larger of each
    column pair and whether it came from the lower row; a horizontal pass then picks
    the left or right column pair. Ties go to the first maximum in row-major order: the
    right pair wins a tie only with its upper cell (index 1) against the left's lower
    cell (index W). Written with selects over a whole row, both passes vectorise; the
    one-pass kernel compiled to branches that mispredicted on real activations (2×).
    `vm` (o's dtype) and `vi` (int32), both (Ho, 2·Wo), hold one plane's vertical pass.
    """
    N, C, H, W = o.shape
    Ho, Wo = out.shape[2], out.shape[3]
    lower, upper, one = np.int32(W), np.int32(0), np.int32(1)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                top, bottom, m, v = o[n, c, 2 * i], o[n, c, 2 * i + 1], vm[i], vi[i]
                for k in range(2 * Wo):
                    down = bottom[k] > top[k]
                    m[k] = bottom[k] if down else top[k]
                    v[k] = lower if down else upper
            for i in range(Ho):
                m, v, best, where = vm[i], vi[i], out[n, c, i], argmax[n, c, i]
                base = 2 * i * W
                for j in range(Wo):
                    left, right = m[2 * j], m[2 * j + 1]
                    at_left, at_right = v[2 * j], v[2 * j + 1] + one
                    go_right = (right > left) | ((right == left) & (at_right < at_left))
                    best[j] = right if go_right else left
                    where[j] = base + 2 * j + (at_right if go_right else at_left)


@kernel
def _has_nan(flat):
    """Whether a flat array holds a NaN (no early exit: the loop vectorises)."""
    found = False
    for k in range(flat.size):
        found |= flat[k] != flat[k]
    return found


@kernel
def _max_backward(delta, argmax, grad):
    """Each delta goes to its window's winner only (grad is (N, C, H·W), zeroed)."""
    N, C, Ho, Wo = delta.shape
    for n in range(N):
        for c in range(C):
            dst = grad[n, c]
            for i in range(Ho):
                d, where = delta[n, c, i], argmax[n, c, i]
                for j in range(Wo):
                    dst[where[j]] += d[j]


@kernel
def _avg_forward(o, k1, k2, sh, sw, ph, pw, out):
    N, C, H, W = o.shape
    Ho, Wo = out.shape[2], out.shape[3]
    share = 1.0 / (k1 * k2)
    zero = np.zeros(1, dtype=out.dtype)[0]
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    total = zero
                    for m in range(k1):
                        r = i * sh + m - ph
                        if 0 <= r < H:
                            for q in range(k2):
                                s = j * sw + q - pw
                                if 0 <= s < W:
                                    total += o[n, c, r, s]
                    out[n, c, i, j] = total * share


@kernel
def _avg_backward(delta, k1, k2, sh, sw, ph, pw, grad):
    """Each delta spreads 1/(k1·k2) to every real cell of its window."""
    N, C, H, W = grad.shape
    Ho, Wo = delta.shape[2], delta.shape[3]
    share = 1.0 / (k1 * k2)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    d = delta[n, c, i, j] * share
                    for m in range(k1):
                        r = i * sh + m - ph
                        if 0 <= r < H:
                            for q in range(k2):
                                s = j * sw + q - pw
                                if 0 <= s < W:
                                    grad[n, c, r, s] += d


def _out_shape(shape, kernel_size, stride, padding) -> tuple[int, int, int, int]:
    N, C, H, W = shape
    return (
        N,
        C,
        (H - kernel_size[0] + 2 * padding[0]) // stride[0] + 1,
        (W - kernel_size[1] + 2 * padding[1]) // stride[1] + 1,
    )


def _max_part(o, out, argmax, pairs: bool, kernel_size, stride, padding) -> None:
    """The max pool of a slice of the batch into the matching slices of out and argmax."""
    if pairs:
        scratch = (out.shape[2], 2 * out.shape[3])
        vm, vi = np.empty(scratch, dtype=o.dtype), np.empty(scratch, dtype=np.int32)
        _max_forward_2x2(o, out, argmax, vm, vi)
    else:
        _max_forward(o, *kernel_size, *stride, *padding, out, argmax)


def maxpool2d_forward(o, kernel_size, stride, padding):
    """(out, argmax): the window maxima and their flat winner indices (int64). A batch
    that stays one chunk runs without the chunk machinery (~1 µs a call at batch 1)."""
    shape = _out_shape(o.shape, kernel_size, stride, padding)
    out = np.empty(shape, dtype=o.dtype)
    argmax = np.empty(shape, dtype=np.int64)
    pairs = (
        tuple(kernel_size) == (2, 2)
        and tuple(stride) == (2, 2)
        and tuple(padding) == (0, 0)
        and not _has_nan(o.ravel())
    )
    if one_chunk(o.shape[0], o.size * 2):  # LeNet: pool1 splits, pool2 not
        _max_part(o, out, argmax, pairs, kernel_size, stride, padding)
        return out, argmax

    def task(start: int, stop: int) -> None:
        _max_part(o[start:stop], out[start:stop], argmax[start:stop], pairs, kernel_size,
                  stride, padding)

    over_batch(task, o.shape[0], o.size * 2)
    return out, argmax


def maxpool2d_backward(delta, argmax, input_shape):
    """∂E/∂o: the deltas routed to the recorded winners."""
    N, C, H, W = input_shape
    grad = np.zeros((N, C, H * W), dtype=delta.dtype)
    if one_chunk(N, grad.size):
        _max_backward(delta, argmax, grad)
        return grad.reshape(input_shape)

    def task(start: int, stop: int) -> None:
        _max_backward(delta[start:stop], argmax[start:stop], grad[start:stop])

    over_batch(task, N, grad.size)
    return grad.reshape(input_shape)


def avgpool2d_forward(o, kernel_size, stride, padding):
    """The window means (padded cells count as zeros)."""
    out = np.empty(_out_shape(o.shape, kernel_size, stride, padding), dtype=o.dtype)
    _avg_forward(o, *kernel_size, *stride, *padding, out)
    return out


def avgpool2d_backward(delta, input_shape, kernel_size, stride, padding):
    """∂E/∂o: 1/(k1·k2) of every covering delta."""
    grad = np.zeros(input_shape, dtype=delta.dtype)
    _avg_backward(delta, *kernel_size, *stride, *padding, grad)
    return grad
