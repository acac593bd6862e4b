"""Convolution (cross-correlation, as PyTorch): forward, weight/bias gradient, input gradient.

Which path a pass takes, first match wins:

1. one image with at least `conv_single.SINGLE_MIN_OUT` (8) output channels and a tap
   matrix of at most `conv_single.SINGLE_MAX_TAPS` elements, unless path 4's direct
   kernels would run (`_single`): `conv_single.py`, an exact tap matrix (no garbage
   columns, no padded copy) and one BLAS product per pass, for any kernel, stride and
   padding — every convolution of mini-resnet at batch 1. It needs no finiteness checks:
   its products are the reference's;
2. 1×1 kernels without padding (any stride): a matrix product over channels
   (`conv1x1.py`);
3. 3×3 stride-1 kernels with up to `FUSED3_MAX_CHANNELS` channels: the nine taps fused
   (`conv3x3.py`; ResNet-style layers at batch > 1);
4. other stride-1 kernels: the wide rows of `conv_wide.py` (kernels) and
   `conv_wide_passes.py` (the passes) — the input padded once into flat "wide" rows, so
   each kernel tap reads one contiguous run; up to `conv_wide_passes.DIRECT_MAX_OUT`
   (`DIRECT_INPUT_MAX_OUT` for ∂E/∂o) output channels direct loops do the work without a
   tap matrix, above it a wide tap matrix goes to BLAS;
5. everything else: the general im2col path below.

The public functions choose on every call; a Conv2d layer asks `plan` once per input
shape and calls the passes of the plan it gets (path 1's `conv_single.Single` directly).

Paths 3 and 4 compute garbage columns that the weight gradient and input gradient
multiply by zero, so those take them only when the operands are finite (else 0·inf would
be NaN where PyTorch has a number) and hand the other cases to path 5.

The general path unfolds the padded input into a tap matrix (im2col, one row per kernel
tap (c, m, q), one column per output position (n, i, j)) and folds tap gradients back
(col2im). The products in between are single matrix multiplications handed to BLAS,
which releases the GIL; large batches are split over the kernel thread pool, and
per-chunk weight gradients are added in chunk order, so results do not depend on thread
timing.

    taps[(c, m, q), (n, i, j)] = o_padded[n, c, i·sh + m, j·sw + q]
    x      = w2d · taps + b           (seed eq. 7, for every position at once)
    ∂E/∂w  = δ2d · tapsᵀ              (the delta correlated with the input)
    ∂E/∂o  = col2im(w2dᵀ · δ2d)       (= the full convolution of δ with rot180(w))

Layout NCHW; weights `[out, in, k1, k2]`; `stride` and `padding` are (h, w) pairs.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.kernels import conv1x1 as C1
from cnnviz.core.kernels import conv3x3 as C3
from cnnviz.core.kernels import conv_single as CS
from cnnviz.core.kernels import conv_wide_passes as CWP
from cnnviz.core.kernels._jit import helper, kernel
from cnnviz.core.kernels.conv_wide_passes import DIRECT_MAX_OUT  # noqa: F401 (warmup.py)


@helper
def _valid_columns(q, sw, pw, W, Wo):
    """The output columns j whose tap q reads a real (not padded) input column."""
    lo = max(0, (pw - q + sw - 1) // sw)
    hi = min(Wo, (W - 1 + pw - q) // sw + 1)
    return lo, max(lo, hi)


@kernel
def _im2col(o, k1, k2, sh, sw, ph, pw, Ho, Wo, taps):
    """taps[c·k1·k2 + m·k2 + q, n·Ho·Wo + i·Wo + j] = o[n, c, i·sh+m−ph, j·sw+q−pw] or 0."""
    N, C, H, W = o.shape
    for c in range(C):
        for m in range(k1):
            for q in range(k2):
                t = (c * k1 + m) * k2 + q
                lo, hi = _valid_columns(q, sw, pw, W, Wo)
                shift = q - pw
                for n in range(N):
                    for i in range(Ho):
                        base = (n * Ho + i) * Wo
                        r = i * sh + m - ph
                        if r < 0 or r >= H:
                            for j in range(Wo):
                                taps[t, base + j] = 0
                            continue
                        for j in range(lo):
                            taps[t, base + j] = 0
                        for j in range(hi, Wo):
                            taps[t, base + j] = 0
                        if sw == 1:  # the common case: a contiguous copy that vectorises
                            for j in range(lo, hi):
                                taps[t, base + j] = o[n, c, r, j + shift]
                        else:
                            for j in range(lo, hi):
                                taps[t, base + j] = o[n, c, r, j * sw + shift]


@kernel
def _col2im(dtaps, k1, k2, sh, sw, ph, pw, Ho, Wo, grad):
    """The adjoint of _im2col: each tap gradient is added back to the cell it read."""
    N, C, H, W = grad.shape
    for c in range(C):
        for m in range(k1):
            for q in range(k2):
                t = (c * k1 + m) * k2 + q
                lo, hi = _valid_columns(q, sw, pw, W, Wo)
                shift = q - pw
                for n in range(N):
                    for i in range(Ho):
                        r = i * sh + m - ph
                        if r < 0 or r >= H:
                            continue
                        base = (n * Ho + i) * Wo
                        if sw == 1:
                            for j in range(lo, hi):
                                grad[n, c, r, j + shift] += dtaps[t, base + j]
                        else:
                            for j in range(lo, hi):
                                grad[n, c, r, j * sw + shift] += dtaps[t, base + j]


@kernel
def _planes_to_nchw(planes, b, x):
    """x[n, o, i, j] = planes[o, n·Ho·Wo + i·Wo + j] + b[o]."""
    N, O, Ho, Wo = x.shape
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                base = (n * Ho + i) * Wo
                for j in range(Wo):
                    x[n, o, i, j] = planes[o, base + j] + b[o]


@kernel
def _nchw_to_planes(delta, planes):
    """planes[o, n·Ho·Wo + i·Wo + j] = δ[n, o, i, j] (no reshape: it compiles slowly)."""
    N, O, Ho, Wo = delta.shape
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                base = (n * Ho + i) * Wo
                for j in range(Wo):
                    planes[o, base + j] = delta[n, o, i, j]


def output_shape(input_shape, weight_shape, stride, padding) -> tuple[int, int, int, int]:
    """(N, O, Ho, Wo) with Ho = ⌊(H − k1 + 2·ph)/sh⌋ + 1 and likewise Wo."""
    N, _, H, W = input_shape
    O, _, k1, k2 = weight_shape
    return (
        N,
        O,
        (H - k1 + 2 * padding[0]) // stride[0] + 1,
        (W - k2 + 2 * padding[1]) // stride[1] + 1,
    )


def im2col(o, kernel_size, stride, padding) -> np.ndarray:
    """The tap matrix (C·k1·k2, N·Ho·Wo) of o's receptive windows."""
    N, C, _, _ = o.shape
    k1, k2 = kernel_size
    _, _, Ho, Wo = output_shape(o.shape, (1, C, k1, k2), stride, padding)
    taps = np.empty((C * k1 * k2, N * Ho * Wo), dtype=o.dtype)
    _im2col(o, k1, k2, stride[0], stride[1], padding[0], padding[1], Ho, Wo, taps)
    return taps


def _delta_planes(delta) -> np.ndarray:
    N, O, Ho, Wo = delta.shape
    planes = np.empty((O, N * Ho * Wo), dtype=delta.dtype)
    _nchw_to_planes(delta, planes)
    return planes


# --- which path -------------------------------------------------------------------------

# 3×3 stride-1 kernels with up to this many input and output channels take the fused
# nine-tap kernels of conv3x3.py: 1.5–3× less time than the direct or BLAS paths on
# mini-resnet's 16- and 32-channel layers, at batch 1 and 64.
FUSED3_MAX_CHANNELS = 64


def _fused3(weight_shape, stride) -> bool:
    O, C, k1, k2 = weight_shape
    return _is_unit(stride) and (k1, k2) == (3, 3) and max(O, C) <= FUSED3_MAX_CHANNELS


def _is_unit(stride) -> bool:
    return tuple(stride) == (1, 1)


def _single(input_shape, weight_shape, stride, padding) -> bool:
    """Whether a pass takes conv_single.py: batch 1 (see `conv_single.applies`), except
    where the direct wide kernels run (stride 1, at most DIRECT_MAX_OUT output channels,
    neither 3×3 nor 1×1: LeNet's layers). Those are about as fast at batch 1 (LeNet's
    conv2: 42 µs a step there, 37 µs here), and LeNet-5, the network the app opens with,
    then compiles no further kernels at start-up (conv_single's take 0.4–0.8 s cold)."""
    if not CS.applies(input_shape, weight_shape, stride, padding):
        return False
    direct = _is_unit(stride) and weight_shape[0] <= CWP.DIRECT_MAX_OUT
    return not direct or _fused3(weight_shape, stride) or C1.applies(weight_shape, padding)


class Routed:
    """The passes of a convolution that `plan` did not give a path of its own: the public
    functions below, which choose theirs on each call. Immutable, like `conv_single.Single`."""

    def __init__(self, input_shape, weight_shape, stride, padding) -> None:
        self.input_shape, self.weight_shape = tuple(input_shape), tuple(weight_shape)
        self.stride, self.padding = tuple(stride), tuple(padding)

    def forward(self, o, w, b, cache: dict | None) -> np.ndarray:
        return conv2d_forward(o, w, b, self.stride, self.padding, cache)

    def grad_params(self, o, delta, cache: dict | None):
        return conv2d_backward_params(o, delta, self.weight_shape, self.stride, self.padding, cache)

    def grad_input(self, delta, w, cache: dict | None) -> np.ndarray:
        return conv2d_backward_input(delta, w, self.input_shape, self.stride, self.padding, cache)


def plan(input_shape, weight_shape, stride, padding) -> CS.Single | Routed:
    """The passes a convolution of these shapes takes, chosen once (a layer holds the plan
    of its last input shape): `forward(o, w, b, cache)`, `grad_params(o, δ, cache)` and
    `grad_input(δ, w, cache)`, the same results as the public functions. At batch 1 the
    `conv_single.Single` of the shapes (the choice made per pass took ~1 µs a call of a
    mini-resnet step's 26), otherwise `Routed`. A plan keeps the path the thresholds chose
    when it was made."""
    if _single(input_shape, weight_shape, stride, padding):
        return CS.plan(input_shape, weight_shape, stride, padding)
    return Routed(input_shape, weight_shape, stride, padding)


# --- public functions -------------------------------------------------------------------


def conv2d_forward(o, w, b, stride, padding, taps_cache: dict | None = None):
    """The layer's pre-activation x for input o: (N, C, H, W) → (N, O, Ho, Wo).

    If `taps_cache` is a dict, what the backward pass can reuse (padded input, tap
    matrices) is kept in it.
    """
    if _single(o.shape, w.shape, stride, padding):
        return CS.forward(o, w, b, stride, padding, taps_cache)
    if C1.applies(w.shape, padding):
        return C1.forward(o, w, b, stride)
    if _fused3(w.shape, stride):
        return C3.forward(o, w, b, padding, taps_cache)
    if _is_unit(stride):
        return CWP.forward(o, w, b, CWP.Wide(o.shape, w.shape, padding), taps_cache)
    shape = output_shape(o.shape, w.shape, stride, padding)
    w2d = w.reshape(w.shape[0], -1)
    x = np.empty(shape, dtype=o.dtype)

    def task(start: int, stop: int) -> None:
        taps = im2col(o[start:stop], w.shape[2:], stride, padding)
        _planes_to_nchw(w2d @ taps, b, x[start:stop])
        if taps_cache is not None:
            taps_cache[(start, stop)] = taps

    CWP.over_chunks(task, shape, w.shape)
    return x


def conv2d_backward_params(o, delta, weight_shape, stride, padding, taps_cache=None):
    """(∂E/∂w, ∂E/∂b) summed over the batch: δ ⋆ o, and Σ δ."""
    if _single(o.shape, weight_shape, stride, padding):
        return CS.grad_params(o, delta, weight_shape, stride, padding, taps_cache)
    if C1.applies(weight_shape, padding):
        return C1.grad_params(o, delta, weight_shape, stride)
    if _fused3(weight_shape, stride):
        fused = C3.grad_params(o, delta, weight_shape, padding, taps_cache)
        if fused is not None:
            return fused
        taps_cache = None
    elif _is_unit(stride):
        geo = CWP.Wide(o.shape, weight_shape, padding)
        if CWP.padded(o, geo, taps_cache)[1]:  # the wide rows need a finite input
            return CWP.grad_params(o, delta, weight_shape, geo, taps_cache)
        taps_cache = None

    def task(start: int, stop: int):
        planes = _delta_planes(delta[start:stop])
        taps = (taps_cache or {}).get((start, stop))
        if taps is None:
            taps = im2col(o[start:stop], weight_shape[2:], stride, padding)
        return planes @ taps.T, planes.sum(axis=1, dtype=delta.dtype)

    grad_w, grad_b = CWP.sum_parts(CWP.over_chunks(task, delta.shape, weight_shape))
    return np.ascontiguousarray(grad_w.reshape(weight_shape)), grad_b


def conv2d_backward_input(delta, w, input_shape, stride, padding, taps_cache=None):
    """∂E/∂o, shape `input_shape` (δ routed back through w to the cells each window read).

    With the `taps_cache` of `conv2d_backward_params` for the same δ, the wide δ it
    built is reused.
    """
    if _single(input_shape, w.shape, stride, padding):
        return CS.grad_input(delta, w, input_shape, stride, padding)
    if C1.applies(w.shape, padding):
        return C1.grad_input(delta, w, input_shape, stride)
    # padding zeros times an inf weight would be NaN (a vectorised scan: np.isfinite(w)
    # allocates and took 1.4 µs at batch 1)
    finite_w = bool(C3.all_finite(w.reshape(-1)))
    if _fused3(w.shape, stride) and max(padding) <= 2 and finite_w:
        return C3.grad_input(delta, w, input_shape, padding)
    if _is_unit(stride) and finite_w:  # the wide rows need finite weights
        geo = CWP.Wide(input_shape, w.shape, padding)
        return CWP.grad_input(delta, w, input_shape, geo, taps_cache)
    _, O, Ho, Wo = delta.shape
    w2d_t = w.reshape(O, -1).T
    grad = np.zeros(input_shape, dtype=delta.dtype)

    def task(start: int, stop: int) -> None:
        dtaps = w2d_t @ _delta_planes(delta[start:stop])
        k1, k2 = w.shape[2:]
        _col2im(
            dtaps, k1, k2, stride[0], stride[1], padding[0], padding[1], Ho, Wo, grad[start:stop]
        )

    CWP.over_chunks(task, delta.shape, w.shape)
    return grad


def conv2d_backward(o, w, delta, stride, padding):
    """(∂E/∂o, ∂E/∂w, ∂E/∂b), the twin of `reference.conv2d_backward`."""
    grad_w, grad_b = conv2d_backward_params(o, delta, w.shape, stride, padding)
    grad_o = conv2d_backward_input(delta, w, o.shape, stride, padding)
    return grad_o, grad_w, grad_b
