"""Max and average pooling with stride and zero padding, forward and backward.

Max pool records each window's winner as a flat index h·W + w in the unpadded input
plane (the PyTorch convention); padded cells never win and ties go to the first
maximum in row-major order. Average pool counts padded cells as zeros
(count_include_pad=True), so every window divides by k1·k2.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.kernels._jit import batch_chunks, kernel, run_chunks


@kernel
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
                            if v > best or (v != v and best == best):
                                best, where = v, r * W + j * sw - pw + q
                    out[n, c, i, j] = best
                    argmax[n, c, i, j] = where


@kernel
def _max_forward_unpadded(o, k1, k2, sh, sw, out, argmax):
    """The common case, no padding and no NaN: every window lies inside the input."""
    N, C, H, W = o.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for n in range(N):
        for c in range(C):
            plane = o[n, c]
            for i in range(Ho):
                for j in range(Wo):
                    r0, s0 = i * sh, j * sw
                    best, where = plane[r0, s0], r0 * W + s0
                    for m in range(k1):
                        for q in range(k2):
                            v = plane[r0 + m, s0 + q]
                            if v > best:
                                best, where = v, (r0 + m) * W + s0 + q
                    out[n, c, i, j] = best
                    argmax[n, c, i, j] = where


@kernel
def _has_nan(o):
    flat = o.reshape(o.size)
    for k in range(flat.size):
        if flat[k] != flat[k]:
            return True
    return False


@kernel
def _max_backward(delta, argmax, grad):
    """Each delta goes to its window's winner only."""
    N, C, Ho, Wo = delta.shape
    W = grad.shape[3]
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    where = argmax[n, c, i, j]
                    grad[n, c, where // W, where % W] += delta[n, c, i, j]


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


def maxpool2d_forward(o, kernel_size, stride, padding):
    """(out, argmax): the window maxima and their flat winner indices (int64)."""
    shape = _out_shape(o.shape, kernel_size, stride, padding)
    out = np.empty(shape, dtype=o.dtype)
    argmax = np.empty(shape, dtype=np.int64)

    general = tuple(padding) != (0, 0) or _has_nan(o)

    def task(start: int, stop: int) -> None:
        part, o_out, o_arg = o[start:stop], out[start:stop], argmax[start:stop]
        if general:
            _max_forward(part, *kernel_size, *stride, *padding, o_out, o_arg)
        else:
            _max_forward_unpadded(part, *kernel_size, *stride, o_out, o_arg)

    run_chunks(task, batch_chunks(o.shape[0], o.size * 4))
    return out, argmax


def maxpool2d_backward(delta, argmax, input_shape):
    """∂E/∂o: the deltas routed to the recorded winners."""
    grad = np.zeros(input_shape, dtype=delta.dtype)
    _max_backward(delta, argmax, grad)
    return grad


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
