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
4. other stride-1 kernels: the wide rows of `conv_wide.py` — the input padded once into
   flat "wide" rows, so each kernel tap reads one contiguous run; up to `DIRECT_MAX_OUT`
   (`DIRECT_INPUT_MAX_OUT` for ∂E/∂o) output channels direct loops do the work without a
   tap matrix, above it a wide tap matrix goes to BLAS;
5. everything else: the general im2col path below.

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

import math

import numpy as np

from cnnviz.core.kernels import conv1x1 as C1
from cnnviz.core.kernels import conv3x3 as C3
from cnnviz.core.kernels import conv_single as CS
from cnnviz.core.kernels import conv_wide as CW
from cnnviz.core.kernels._jit import add_in_order, helper, kernel, over_batch


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


def _over_chunks(task, shape, weight_shape) -> list:
    """task(start, stop) over the batch chunks of a pass whose output (or δ) has `shape`."""
    N, O, Ho, Wo = shape
    return over_batch(task, N, N * O * Ho * Wo * math.prod(weight_shape[1:]))  # np.prod: 5 µs


# --- the stride-1 fast path (see conv_wide.py) -----------------------------------------

# Up to this many output channels the direct kernels beat a tap matrix handed to BLAS
# (LeNet-5's conv2 has 16: direct 4–8 % less CPU per step), for the forward pass and
# the weight gradient; for the input gradient (gather kernel) by 10–20 % at 16 channels
# on one thread (3×3 and 5×5), and more on two, where BLAS calls serialise.
DIRECT_MAX_OUT = 16
DIRECT_INPUT_MAX_OUT = 16
# 3×3 stride-1 kernels with up to this many input and output channels take the fused
# nine-tap kernels of conv3x3.py: 1.5–3× less time than the direct or BLAS paths on
# mini-resnet's 16- and 32-channel layers, at batch 1 and 64.
FUSED3_MAX_CHANNELS = 64


def _fused3(weight_shape, stride) -> bool:
    O, C, k1, k2 = weight_shape
    return _is_unit(stride) and (k1, k2) == (3, 3) and max(O, C) <= FUSED3_MAX_CHANNELS


class _Wide:
    """Geometry of the wide-row layout for one stride-1 convolution."""

    def __init__(self, input_shape, weight_shape, padding) -> None:
        _, _, H, W = input_shape
        O, _, self.k1, self.k2 = weight_shape
        self.ph, self.pw = padding
        self.Hp, self.Wp = H + 2 * self.ph, W + 2 * self.pw
        self.Ho, self.Wo = self.Hp - self.k1 + 1, self.Wp - self.k2 + 1
        self.L = self.Ho * self.Wp
        self.plane = self.Hp * self.Wp + self.k2 - 1
        self.direct = O <= DIRECT_MAX_OUT
        self.direct_input = O <= DIRECT_INPUT_MAX_OUT

    def zeros_planes(self, n: int, channels: int, dtype) -> np.ndarray:
        return np.zeros((n, channels, self.plane), dtype=dtype)

    def delta_layout(self, for_input: bool) -> tuple[int, int]:
        """(leading zeros, image stride) of the wide δ the kernels of a pass want.

        The direct weight gradient runs over whole chunks, so its δ has the planes'
        image stride; the direct input gradient wants k2 − 1 leading zeros (and then
        takes the weight gradient's layout too); BLAS wants plain (O, n·L) rows.
        """
        lead = self.k2 - 1 if self.direct_input else 0
        if for_input:
            return (lead, self.plane) if self.direct_input else (0, self.L)
        return lead, self.plane if self.direct else self.L

    def widen(self, delta, layout: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(δ as (O, lead + n·stride) wide rows, zero where no δ goes; Σ δ per channel)."""
        (lead, stride), O, n = layout, delta.shape[1], delta.shape[0]
        wide = np.zeros((O, lead + n * stride), dtype=delta.dtype)
        bias_grad = np.empty(O, dtype=delta.dtype)
        flat = delta.reshape(n * O, -1)
        CW.widen_delta(delta, flat, self.Wp, lead, stride, wide, bias_grad)
        return wide, bias_grad


def _padded(o, geo: _Wide, cache: dict | None) -> tuple[np.ndarray, bool]:
    """The padded input planes and whether o is finite, from the cache when it has them."""
    if cache is not None and "padded" in cache:
        return cache["padded"]
    P = geo.zeros_planes(o.shape[0], o.shape[1], o.dtype)
    finite = bool(CW.pad_planes(o, geo.ph, geo.pw, geo.Wp, P))
    if cache is not None:
        cache["padded"] = (P, finite)
    return P, finite


def _wide_taps(P, geo: _Wide) -> np.ndarray:
    taps = np.empty((P.shape[1] * geo.k1 * geo.k2, P.shape[0] * geo.L), dtype=P.dtype)
    CW.wide_taps(P, geo.k1, geo.k2, geo.Wp, geo.L, taps)
    return taps


def _forward_wide(o, w, b, geo: _Wide, cache: dict | None) -> np.ndarray:
    P, _ = _padded(o, geo, cache)
    x = np.empty((o.shape[0], w.shape[0], geo.Ho, geo.Wo), dtype=o.dtype)
    w2d = w.reshape(w.shape[0], -1)

    def task(start: int, stop: int) -> None:
        if geo.direct:
            wide = np.empty((w.shape[0], (stop - start) * geo.L), dtype=o.dtype)
            CW.direct_forward(P[start:stop], w, geo.Wp, geo.L, wide)
        else:
            taps = _wide_taps(P[start:stop], geo)
            if cache is not None:
                cache[("wide", start, stop)] = taps
            wide = w2d @ taps
        CW.crop_bias(wide, b, geo.Wp, geo.L, x[start:stop])

    _over_chunks(task, x.shape, w.shape)
    return x


def _params_wide(o, delta, weight_shape, geo: _Wide, cache: dict | None):
    P, _ = _padded(o, geo, cache)
    layout = geo.delta_layout(for_input=False)

    def task(start: int, stop: int):
        dwide, grad_b = geo.widen(delta[start:stop], layout)
        if cache is not None:  # the input gradient may reuse it (see _widened)
            cache[("delta", start, stop)] = dwide
        if geo.direct:  # the chunk's planes channel by channel: Pc[c, n·S + ·]
            Pc = np.ascontiguousarray(P[start:stop].transpose(1, 0, 2)).reshape(P.shape[1], -1)
            grad_w = np.zeros(weight_shape, dtype=delta.dtype)
            T = (stop - start - 1) * geo.plane + geo.L
            CW.direct_grad_weight(Pc, dwide, layout[0], geo.Wp, T, grad_w)
            return grad_w, grad_b
        taps = (cache or {}).get(("wide", start, stop))
        if taps is None:
            taps = _wide_taps(P[start:stop], geo)
        return (dwide @ taps.T).reshape(weight_shape), grad_b

    parts = _over_chunks(task, delta.shape, weight_shape)
    if cache is not None:
        cache["delta"] = (delta, layout)  # which δ the chunks above hold, and how
    return _sum_parts(parts)


def _widened(delta, start, stop, geo: _Wide, cache: dict | None) -> np.ndarray:
    """δ[start:stop] as the input gradient wants it: from the weight-gradient pass when
    that had this δ in this layout."""
    layout = geo.delta_layout(for_input=True)
    held, held_layout = (cache or {}).get("delta", (None, None))
    if held is delta and held_layout == layout:
        return cache[("delta", start, stop)]
    return geo.widen(delta[start:stop], layout)[0]


def _input_wide(delta, w, input_shape, geo: _Wide, cache: dict | None) -> np.ndarray:
    grad = np.empty(input_shape, dtype=delta.dtype)
    C = input_shape[1]
    if geo.direct_input:  # wt[c, m, o, q] = w[o, c, m, k2 − 1 − q]; an even channel count
        wt = np.zeros((C + C % 2, geo.k1, w.shape[0], geo.k2), dtype=w.dtype)
        wt[:C] = w[:, :, :, ::-1].transpose(1, 2, 0, 3)
    else:
        w2d_t = w.reshape(w.shape[0], -1).T

    def task(start: int, stop: int) -> None:
        G = geo.zeros_planes(stop - start, C + C % 2 if geo.direct_input else C, delta.dtype)
        dwide = _widened(delta, start, stop, geo, cache)
        if geo.direct_input:
            CW.direct_grad_input(dwide, wt, geo.Wp, geo.L, geo.plane, G)
        else:
            CW.fold_taps(w2d_t @ dwide, geo.k1, geo.k2, geo.Wp, geo.L, G)
        CW.crop_planes(G, geo.ph, geo.pw, geo.Wp, grad[start:stop])

    _over_chunks(task, delta.shape, w.shape)
    return grad


def _sum_parts(parts: list) -> tuple[np.ndarray, np.ndarray]:
    """Add per-chunk (∂E/∂w, ∂E/∂b) partials in chunk order (deterministic)."""
    grad_w, grad_b = add_in_order(parts)
    return np.ascontiguousarray(grad_w), grad_b


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
    direct = _is_unit(stride) and weight_shape[0] <= DIRECT_MAX_OUT
    return not direct or _fused3(weight_shape, stride) or C1.applies(weight_shape, padding)


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
        return _forward_wide(o, w, b, _Wide(o.shape, w.shape, padding), taps_cache)
    shape = output_shape(o.shape, w.shape, stride, padding)
    w2d = w.reshape(w.shape[0], -1)
    x = np.empty(shape, dtype=o.dtype)

    def task(start: int, stop: int) -> None:
        taps = im2col(o[start:stop], w.shape[2:], stride, padding)
        _planes_to_nchw(w2d @ taps, b, x[start:stop])
        if taps_cache is not None:
            taps_cache[(start, stop)] = taps

    _over_chunks(task, shape, w.shape)
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
        geo = _Wide(o.shape, weight_shape, padding)
        if _padded(o, geo, taps_cache)[1]:  # the wide rows need a finite input
            return _params_wide(o, delta, weight_shape, geo, taps_cache)
        taps_cache = None

    def task(start: int, stop: int):
        planes = _delta_planes(delta[start:stop])
        taps = (taps_cache or {}).get((start, stop))
        if taps is None:
            taps = im2col(o[start:stop], weight_shape[2:], stride, padding)
        return planes @ taps.T, planes.sum(axis=1, dtype=delta.dtype)

    grad_w, grad_b = _sum_parts(_over_chunks(task, delta.shape, weight_shape))
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
        geo = _Wide(input_shape, w.shape, padding)
        return _input_wide(delta, w, input_shape, geo, taps_cache)
    _, O, Ho, Wo = delta.shape
    w2d_t = w.reshape(O, -1).T
    grad = np.zeros(input_shape, dtype=delta.dtype)

    def task(start: int, stop: int) -> None:
        dtaps = w2d_t @ _delta_planes(delta[start:stop])
        k1, k2 = w.shape[2:]
        _col2im(
            dtaps, k1, k2, stride[0], stride[1], padding[0], padding[1], Ho, Wo, grad[start:stop]
        )

    _over_chunks(task, delta.shape, w.shape)
    return grad


def conv2d_backward(o, w, delta, stride, padding):
    """(∂E/∂o, ∂E/∂w, ∂E/∂b), the twin of `reference.conv2d_backward`."""
    grad_w, grad_b = conv2d_backward_params(o, delta, w.shape, stride, padding)
    grad_o = conv2d_backward_input(delta, w, o.shape, stride, padding)
    return grad_o, grad_w, grad_b
