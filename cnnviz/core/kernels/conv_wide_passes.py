"""The passes of the stride-1 wide-row path (path 4 of `conv.py`), over the kernels of
`conv_wide.py`: the layout's geometry (`Wide`), the padded input and the tap matrices or
wide δ shared between the passes of one step (in the caller's `taps_cache`), and the
split of a batch into chunks for the kernel pool (also used by `conv.py`'s general path).

Up to `DIRECT_MAX_OUT` (`DIRECT_INPUT_MAX_OUT` for ∂E/∂o) output channels the direct
kernels do the work without a tap matrix; above it a wide tap matrix goes to BLAS. The
weight and input gradients compute garbage columns multiplied by zero, so `conv.py`
calls them only with finite operands (see `padded`).
"""

from __future__ import annotations

import math

import numpy as np

from cnnviz.core.kernels import conv_wide as CW
from cnnviz.core.kernels._jit import add_in_order, over_batch

# Up to this many output channels the direct kernels beat a tap matrix handed to BLAS
# (LeNet-5's conv2 has 16: direct 4–8 % less CPU per step), for the forward pass and
# the weight gradient; for the input gradient (gather kernel) by 10–20 % at 16 channels
# on one thread (3×3 and 5×5), and more on two, where BLAS calls serialise.
DIRECT_MAX_OUT = 16
DIRECT_INPUT_MAX_OUT = 16


def over_chunks(task, shape, weight_shape) -> list:
    """task(start, stop) over the batch chunks of a pass whose output (or δ) has `shape`."""
    N, O, Ho, Wo = shape
    return over_batch(task, N, N * O * Ho * Wo * math.prod(weight_shape[1:]))  # np.prod: 5 µs


def sum_parts(parts: list) -> tuple[np.ndarray, np.ndarray]:
    """Add per-chunk (∂E/∂w, ∂E/∂b) partials in chunk order (deterministic)."""
    grad_w, grad_b = add_in_order(parts)
    return np.ascontiguousarray(grad_w), grad_b


class Wide:
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


def padded(o, geo: Wide, cache: dict | None) -> tuple[np.ndarray, bool]:
    """The padded input planes and whether o is finite, from the cache when it has them."""
    if cache is not None and "padded" in cache:
        return cache["padded"]
    P = geo.zeros_planes(o.shape[0], o.shape[1], o.dtype)
    finite = bool(CW.pad_planes(o, geo.ph, geo.pw, geo.Wp, P))
    if cache is not None:
        cache["padded"] = (P, finite)
    return P, finite


def _wide_taps(P, geo: Wide) -> np.ndarray:
    taps = np.empty((P.shape[1] * geo.k1 * geo.k2, P.shape[0] * geo.L), dtype=P.dtype)
    CW.wide_taps(P, geo.k1, geo.k2, geo.Wp, geo.L, taps)
    return taps


def forward(o, w, b, geo: Wide, cache: dict | None) -> np.ndarray:
    P, _ = padded(o, geo, cache)
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

    over_chunks(task, x.shape, w.shape)
    return x


def grad_params(o, delta, weight_shape, geo: Wide, cache: dict | None):
    P, _ = padded(o, geo, cache)
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

    parts = over_chunks(task, delta.shape, weight_shape)
    if cache is not None:
        cache["delta"] = (delta, layout)  # which δ the chunks above hold, and how
    return sum_parts(parts)


def _widened(delta, start, stop, geo: Wide, cache: dict | None) -> np.ndarray:
    """δ[start:stop] as the input gradient wants it: from the weight-gradient pass when
    that had this δ in this layout."""
    layout = geo.delta_layout(for_input=True)
    held, held_layout = (cache or {}).get("delta", (None, None))
    if held is delta and held_layout == layout:
        return cache[("delta", start, stop)]
    return geo.widen(delta[start:stop], layout)[0]


def grad_input(delta, w, input_shape, geo: Wide, cache: dict | None) -> np.ndarray:
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

    over_chunks(task, delta.shape, w.shape)
    return grad
