"""Stride-1 3×3 convolution with all nine taps fused: the ResNet-style layers' path.

The layout is `conv_wide.py`'s wide rows, channel-major: `Pc[c, n·S + k]` holds image
n's zero-padded plane of channel c (row length `Wp`, image stride `S`), so output
position `t = n·S + i·Wp + j` of tap (m, q) reads `Pc[c, m·Wp + q + t]`, a contiguous
run over the whole chunk of images. Each pass over the run loads the nine shifted
inputs once and feeds four output channels (thirty-six multiply-adds per nine loads), where
the tap-at-a-time kernels load an input and an output per one to five multiply-adds.
Runs go in tiles of `TILE` positions so that the rows in use stay in the caches.

The input gradient needs no kernel of its own: for stride 1 it is the forward
convolution of δ, zero-padded by 2 − p, with the kernels turned by 180° and their
channel axes swapped.

The weight gradient's runs include the garbage columns (where the wide δ is zero), so
it is taken only for a finite input (0·inf would be NaN); the caller falls back to the
general path otherwise. Forward and input gradient read only real windows.
"""

from __future__ import annotations

import math

import numpy as np

from cnnviz.core.kernels import conv_wide as CW
from cnnviz.core.kernels._jit import (
    add_in_order,
    batch_chunks,
    helper,
    kernel,
    one_chunk,
    over_batch,
)

TILE = 2048  # positions per tile: fastest of 256–4096 on 7×7, 14×14 and 28×28 maps


@kernel
def forward3x3(Pc, w, Wp, T, wide):
    """wide[o, t] = Σ_(c,m,q) w[o, c, m, q]·Pc[c, m·Wp + q + t] for t < T."""
    for t0 in range(0, T, TILE):
        t1 = min(T, t0 + TILE)
        for o in range(0, w.shape[0], 4):
            _quad(Pc, w, Wp, t0, t1, o, wide)


@helper
def _quad(Pc, w, Wp, t0, t1, o, wide):
    """Output channels o..o+3 over positions [t0, t1): thirty-six multiply-adds per nine
    loads (13–25 % faster than two channels a pass). Past the last channel, the sums go
    to spare rows."""
    O, n = w.shape[0], t1 - t0
    o1, o2, o3 = min(o + 1, O - 1), min(o + 2, O - 1), min(o + 3, O - 1)
    spare = np.empty((3 if o + 3 >= O else 0, n), dtype=wide.dtype)
    a0 = wide[o, t0:t1]
    a1 = wide[o1, t0:t1] if o + 1 < O else spare[0, 0:n]
    a2 = wide[o2, t0:t1] if o + 2 < O else spare[1, 0:n]
    a3 = wide[o3, t0:t1] if o + 3 < O else spare[2, 0:n]
    for k in range(n):
        a0[k] = 0
        a1[k] = 0
        a2[k] = 0
        a3[k] = 0
    for c in range(w.shape[1]):
        r0 = Pc[c, t0 : t1 + 2]
        r1 = Pc[c, t0 + Wp : t1 + Wp + 2]
        r2 = Pc[c, t0 + 2 * Wp : t1 + 2 * Wp + 2]
        u, v, s, z = w[o, c], w[o1, c], w[o2, c], w[o3, c]
        u00, u01, u02, u10, u11 = u[0, 0], u[0, 1], u[0, 2], u[1, 0], u[1, 1]
        u12, u20, u21, u22 = u[1, 2], u[2, 0], u[2, 1], u[2, 2]
        v00, v01, v02, v10, v11 = v[0, 0], v[0, 1], v[0, 2], v[1, 0], v[1, 1]
        v12, v20, v21, v22 = v[1, 2], v[2, 0], v[2, 1], v[2, 2]
        s00, s01, s02, s10, s11 = s[0, 0], s[0, 1], s[0, 2], s[1, 0], s[1, 1]
        s12, s20, s21, s22 = s[1, 2], s[2, 0], s[2, 1], s[2, 2]
        z00, z01, z02, z10, z11 = z[0, 0], z[0, 1], z[0, 2], z[1, 0], z[1, 1]
        z12, z20, z21, z22 = z[1, 2], z[2, 0], z[2, 1], z[2, 2]
        for k in range(n):
            x00, x01, x02 = r0[k], r0[k + 1], r0[k + 2]
            x10, x11, x12 = r1[k], r1[k + 1], r1[k + 2]
            x20, x21, x22 = r2[k], r2[k + 1], r2[k + 2]
            a0[k] += (
                u00 * x00 + u01 * x01 + u02 * x02 + u10 * x10 + u11 * x11
                + u12 * x12 + u20 * x20 + u21 * x21 + u22 * x22
            )  # fmt: skip
            a1[k] += (
                v00 * x00 + v01 * x01 + v02 * x02 + v10 * x10 + v11 * x11
                + v12 * x12 + v20 * x20 + v21 * x21 + v22 * x22
            )  # fmt: skip
            a2[k] += (
                s00 * x00 + s01 * x01 + s02 * x02 + s10 * x10 + s11 * x11
                + s12 * x12 + s20 * x20 + s21 * x21 + s22 * x22
            )  # fmt: skip
            a3[k] += (
                z00 * x00 + z01 * x01 + z02 * x02 + z10 * x10 + z11 * x11
                + z12 * x12 + z20 * x20 + z21 * x21 + z22 * x22
            )  # fmt: skip


@kernel
def grad_weight3x3(Pc, dwide, Wp, T, grad_w):
    """grad_w[o, c, m, q] += Σ_(t<T) δ_wide[o, t]·Pc[c, m·Wp + q + t].

    δ_wide has the planes' image stride and is zero on the garbage columns and between
    images, so each of the eighteen sums (two output channels × nine taps) is one run
    over the whole chunk.
    """
    O, C = grad_w.shape[0], grad_w.shape[1]
    sums = np.empty((2, 9), dtype=grad_w.dtype)
    for o in range(0, O, 2):
        o1 = min(o + 1, O - 1)
        for c in range(C):
            _tap_sums(Pc[c], dwide[o, 0:T], dwide[o1, 0:T], Wp, T, sums)
            for m in range(3):
                for q in range(3):
                    grad_w[o, c, m, q] += sums[0, m * 3 + q]
                    if o1 != o:
                        grad_w[o1, c, m, q] += sums[1, m * 3 + q]


@helper
def _tap_sums(p, d0, d1, Wp, T, sums):
    """The nine tap sums of one input channel against two δ rows, into sums (2, 9)."""
    zero = np.zeros(1, dtype=p.dtype)[0]
    r0, r1, r2 = p[0 : T + 2], p[Wp : Wp + T + 2], p[2 * Wp : 2 * Wp + T + 2]
    a00 = a01 = a02 = a10 = a11 = a12 = a20 = a21 = a22 = zero
    b00 = b01 = b02 = b10 = b11 = b12 = b20 = b21 = b22 = zero
    for k in range(T):
        x, y = d0[k], d1[k]
        v = r0[k]
        a00 += x * v
        b00 += y * v
        v = r0[k + 1]
        a01 += x * v
        b01 += y * v
        v = r0[k + 2]
        a02 += x * v
        b02 += y * v
        v = r1[k]
        a10 += x * v
        b10 += y * v
        v = r1[k + 1]
        a11 += x * v
        b11 += y * v
        v = r1[k + 2]
        a12 += x * v
        b12 += y * v
        v = r2[k]
        a20 += x * v
        b20 += y * v
        v = r2[k + 1]
        a21 += x * v
        b21 += y * v
        v = r2[k + 2]
        a22 += x * v
        b22 += y * v
    sums[0, 0], sums[0, 1], sums[0, 2], sums[0, 3], sums[0, 4] = a00, a01, a02, a10, a11
    sums[0, 5], sums[0, 6], sums[0, 7], sums[0, 8] = a12, a20, a21, a22
    sums[1, 0], sums[1, 1], sums[1, 2], sums[1, 3], sums[1, 4] = b00, b01, b02, b10, b11
    sums[1, 5], sums[1, 6], sums[1, 7], sums[1, 8] = b12, b20, b21, b22


@kernel
def run_taps(Pc, Wp, T, taps):
    """taps[c·9 + m·3 + q, t] = Pc[c, m·Wp + q + t] for t < T: the run's tap matrix."""
    for c in range(Pc.shape[0]):
        for m in range(3):
            for q in range(3):
                off = m * Wp + q
                dst, src = taps[c * 9 + m * 3 + q], Pc[c, off : off + T]
                for k in range(T):
                    dst[k] = src[k]


@kernel
def pad_channel_major(o, ph, pw, Wp, S, Pc):
    """Pc[c, n·S + (r+ph)·Wp + s+pw] = o[n, c, r, s] (Pc zeroed beforehand)."""
    N, C, H, W = o.shape
    for c in range(C):
        for n in range(N):
            for r in range(H):
                start = n * S + (r + ph) * Wp + pw
                row, src = Pc[c, start : start + W], o[n, c, r]
                for s in range(W):
                    row[s] = src[s]


@kernel
def all_finite(flat):
    """Whether no value is inf or NaN: the running total of v·0 would be NaN (a sum that
    vectorises; a per-value test in the copy loop above cost more than the copy)."""
    zero = np.zeros(1, dtype=flat.dtype)[0]
    check = zero
    for k in range(flat.size):
        check += flat[k] * zero
    return check == zero


class Geometry:
    """Wide-row sizes of a 3×3 stride-1 convolution of an (N, C, H, W) input."""

    def __init__(self, input_shape, padding) -> None:
        _, _, H, W = input_shape
        self.ph, self.pw = padding
        self.Wp = W + 2 * self.pw
        self.Ho = H + 2 * self.ph - 2
        self.plane = (H + 2 * self.ph) * self.Wp + 2  # the image stride S of a run

    def run_length(self, images: int) -> int:
        """Positions of a chunk's run that hold outputs: all planes but the last, then Ho rows."""
        return (images - 1) * self.plane + self.Ho * self.Wp


def _work(shape, weight_shape) -> int:
    """Multiply-adds of a pass whose output (or δ) has `shape`: what decides the chunks."""
    N, O, Ho, Wo = shape
    return N * O * Ho * Wo * math.prod(weight_shape[1:])


def _planes(o, geo: Geometry, start: int, stop: int, cache: dict | None, scan: bool = True):
    """(Pc, finite) of images start..stop of o, from the cache when the forward pass left it;
    `scan` False skips the finiteness scan (the result then says True)."""
    key = ("channel-major", start, stop)
    if cache is not None and key in cache:
        return cache[key]
    part = o if start == 0 and stop == o.shape[0] else o[start:stop]
    Pc = np.zeros((o.shape[1], (stop - start) * geo.plane), dtype=o.dtype)
    pad_channel_major(part, geo.ph, geo.pw, geo.Wp, geo.plane, Pc)
    finite = not scan or bool(all_finite(np.ascontiguousarray(part).reshape(-1)))
    if cache is not None:
        cache[key] = (Pc, finite)
    return Pc, finite


# Below this many positions in a run (one or two images of 7×7 or 14×14 maps) the
# nine-tap loops are too short to pay their set-up and final sums: the run's tap matrix
# goes to BLAS (weight gradient of 32 → 32 channels on 7×7 at batch 1: 14 against 68 µs).
# Batch 1 itself normally takes conv_single.py instead (exact columns, no padded plane).
BLAS_BELOW = 512


def _taps(Pc, geo: Geometry, T: int) -> np.ndarray:
    taps = np.empty((Pc.shape[0] * 9, T), dtype=Pc.dtype)
    run_taps(Pc, geo.Wp, T, taps)
    return taps


def _convolve(Pc, w, geo: Geometry, images: int, keep: tuple | None = None) -> np.ndarray:
    """The wide output rows (O, images·S) of a chunk's channel-major run; a tap matrix
    it builds goes to `keep` = (cache, key) when given (the weight gradient reuses it)."""
    T = geo.run_length(images)
    wide = np.empty((w.shape[0], images * geo.plane), dtype=Pc.dtype)
    if T < BLAS_BELOW:
        taps = _taps(Pc, geo, T)
        np.matmul(w.reshape(w.shape[0], -1), taps, out=wide[:, :T])
        if keep is not None:
            keep[0][keep[1]] = taps
    else:
        forward3x3(Pc, w, geo.Wp, T, wide)
    return wide


def forward(o, w, b, padding, cache: dict | None) -> np.ndarray:
    """x = w ⋆ o + b for a 3×3 kernel, stride 1; the padded planes (and tap matrices)
    are left in `cache`."""
    geo = Geometry(o.shape, padding)
    x = np.empty((o.shape[0], w.shape[0], geo.Ho, geo.Wp - 2), dtype=o.dtype)

    def task(start: int, stop: int) -> None:
        Pc, _ = _planes(o, geo, start, stop, cache)
        keep = None if cache is None else (cache, ("taps", start, stop))
        wide = _convolve(Pc, w, geo, stop - start, keep)
        CW.crop_bias(wide, b, geo.Wp, geo.plane, x[start:stop])

    over_batch(task, o.shape[0], _work(x.shape, w.shape))
    return x


def _grad_chunk(delta, start, stop, geo: Geometry, Pc, weight_shape, taps):
    """(∂E/∂w, ∂E/∂b) of images start..stop (taps: the forward pass's tap matrix or None)."""
    n, O = stop - start, delta.shape[1]
    part = delta if n == delta.shape[0] else delta[start:stop]
    dwide = np.zeros((O, n * geo.plane), dtype=delta.dtype)
    grad_b = np.empty(O, dtype=delta.dtype)
    CW.widen_delta(part, part.reshape(n * O, -1), geo.Wp, 0, geo.plane, dwide, grad_b)
    T = geo.run_length(n)
    if T < BLAS_BELOW:
        taps = _taps(Pc, geo, T) if taps is None else taps
        return (dwide[:, :T] @ taps.T).reshape(weight_shape), grad_b
    grad_w = np.zeros(weight_shape, dtype=delta.dtype)
    grad_weight3x3(Pc, dwide, geo.Wp, T, grad_w)
    return grad_w, grad_b


def grad_params(o, delta, weight_shape, padding, cache: dict | None):
    """(∂E/∂w, ∂E/∂b), or None when o is not finite (the caller takes the general path)."""
    geo = Geometry(o.shape, padding)
    N, work = delta.shape[0], _work(delta.shape, weight_shape)
    chunks = [(0, N)] if one_chunk(N, work) else batch_chunks(N, work)
    planes = {chunk: _planes(o, geo, *chunk, cache) for chunk in chunks}
    if not all(finite for _, finite in planes.values()):
        return None
    taps = {} if cache is None else cache

    def task(start: int, stop: int):
        Pc = planes[(start, stop)][0]
        held = taps.get(("taps", start, stop))
        return _grad_chunk(delta, start, stop, geo, Pc, weight_shape, held)

    return add_in_order(over_batch(task, N, work))


def grad_input(delta, w, input_shape, padding) -> np.ndarray:
    """∂E/∂o: δ padded by 2 − p, convolved with wf[c, o] = rot180(w[o, c]) (p ≤ 2)."""
    wf = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    geo = Geometry(delta.shape, (2 - padding[0], 2 - padding[1]))
    grad = np.empty(input_shape, dtype=delta.dtype)
    no_bias = np.zeros(input_shape[1], dtype=delta.dtype)

    def task(start: int, stop: int) -> None:
        Dc, _ = _planes(delta, geo, start, stop, None, scan=False)
        wide = _convolve(Dc, wf, geo, stop - start)
        CW.crop_bias(wide, no_bias, geo.Wp, geo.plane, grad[start:stop])

    over_batch(task, delta.shape[0], _work(delta.shape, w.shape))
    return grad
