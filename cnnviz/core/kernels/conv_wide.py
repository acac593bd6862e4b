"""Stride-1 convolution on "wide" rows: the fast path behind `conv.py`'s public functions.

The input is zero-padded once into `P[n, c, :]`, each plane flattened with row length
`Wp = W + 2·pw` (plus `k2 − 1` trailing zeros of slack). For stride 1 the window of
output (i, j) and tap (m, q) reads `P[n, c, (i + m)·Wp + j + q]`, so with the *wide*
output index `k = i·Wp + j` every tap reads the contiguous run `P[n, c, off + k]`,
`off = m·Wp + q`, for all `k < L = Ho·Wp` at once. Columns `j ≥ Wo` of a wide row are
garbage: the forward pass drops them, and the backward pass sets the delta there to
zero (`widen_delta`), so they add exact zeros — which is why the caller takes this path
only when the operands are finite (0·inf would be NaN).

Every loop below is a long contiguous run that LLVM vectorises; there is no im2col
bookkeeping per output row. Two shapes of work:

- *direct* kernels for few output channels (conv1 of LeNet: 1 → 6): per image, every
  tap adds `w·P[off : off + L]` to an output row; nothing is materialised;
- *tap matrix* kernels for many channels: the wide tap matrix is a stack of
  contiguous copies (`wide_taps`), and the products in between go to BLAS.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.kernels._jit import kernel


@kernel
def pad_planes(o, ph, pw, Wp, P):
    """P[n, c, (r+ph)·Wp + s+pw] = o[n, c, r, s] (P zero elsewhere); True if o is finite."""
    N, C, H, W = o.shape
    finite = True
    for n in range(N):
        for c in range(C):
            dst = P[n, c]
            for r in range(H):
                row = dst[(r + ph) * Wp + pw : (r + ph) * Wp + pw + W]
                src = o[n, c, r]
                for s in range(W):
                    v = src[s]
                    row[s] = v
                    finite &= v - v == 0
    return finite


@kernel
def wide_taps(P, k1, k2, Wp, L, taps):
    """taps[(c·k1 + m)·k2 + q, n·L + k] = P[n, c, m·Wp + q + k] for k < L."""
    N, C = P.shape[0], P.shape[1]
    for c in range(C):
        for m in range(k1):
            for q in range(k2):
                t = (c * k1 + m) * k2 + q
                off = m * Wp + q
                for n in range(N):
                    dst = taps[t, n * L : (n + 1) * L]
                    src = P[n, c, off : off + L]
                    for k in range(L):
                        dst[k] = src[k]


@kernel
def crop_bias(wide, b, Wp, x):
    """x[n, o, i, j] = wide[o, n·L + i·Wp + j] + b[o]: drop the garbage columns."""
    N, O, Ho, Wo = x.shape
    L = Ho * Wp
    for n in range(N):
        for o in range(O):
            bias = b[o]
            for i in range(Ho):
                src = wide[o, n * L + i * Wp : n * L + i * Wp + Wo]
                dst = x[n, o, i]
                for j in range(Wo):
                    dst[j] = src[j] + bias


@kernel
def widen_delta(delta, Wp, wide, bias_grad):
    """wide[o, n·L + i·Wp + j] = δ[n, o, i, j], 0 in the garbage columns; bias_grad = Σ δ."""
    N, O, Ho, Wo = delta.shape
    L = Ho * Wp
    zero = np.zeros(1, dtype=wide.dtype)[0]
    for o in range(O):
        total = zero
        for n in range(N):
            for i in range(Ho):
                dst = wide[o, n * L + i * Wp : n * L + (i + 1) * Wp]
                src = delta[n, o, i]
                for j in range(Wo):
                    dst[j] = src[j]
                    total += src[j]
                for j in range(Wo, Wp):
                    dst[j] = zero
        bias_grad[o] = total


@kernel
def fold_taps(dtaps, k1, k2, Wp, L, G):
    """The adjoint of wide_taps: G[n, c, m·Wp + q + k] += dtaps[(c, m, q), n·L + k]."""
    N, C = G.shape[0], G.shape[1]
    for n in range(N):
        for c in range(C):
            for m in range(k1):
                for q in range(k2):
                    t = (c * k1 + m) * k2 + q
                    off = m * Wp + q
                    dst = G[n, c, off : off + L]
                    src = dtaps[t, n * L : (n + 1) * L]
                    for k in range(L):
                        dst[k] += src[k]


@kernel
def crop_planes(G, ph, pw, Wp, grad):
    """grad[n, c, r, s] = G[n, c, (r+ph)·Wp + s+pw]: the unpadded part of a padded gradient."""
    N, C, H, W = grad.shape
    for n in range(N):
        for c in range(C):
            for r in range(H):
                src = G[n, c, (r + ph) * Wp + pw : (r + ph) * Wp + pw + W]
                dst = grad[n, c, r]
                for s in range(W):
                    dst[s] = src[s]


@kernel
def direct_forward(P, w, Wp, L, wide):
    """wide[o, n·L + k] = Σ_(c,m,q) w[o, c, m, q]·P[n, c, m·Wp + q + k], no tap matrix."""
    N = P.shape[0]
    O, C, k1, k2 = w.shape
    for n in range(N):
        for o in range(O):
            acc = wide[o, n * L : (n + 1) * L]
            for k in range(L):
                acc[k] = 0
            for c in range(C):
                for m in range(k1):
                    for q in range(k2):
                        wv = w[o, c, m, q]
                        src = P[n, c, m * Wp + q : m * Wp + q + L]
                        for k in range(L):
                            acc[k] += wv * src[k]


@kernel
def direct_grad_weight(P, dwide, Wp, L, grad_w):
    """grad_w[o, c, m, q] += Σ_n Σ_k δ_wide[o, n·L + k]·P[n, c, m·Wp + q + k].

    Output channels go in pairs so that each load of the input serves two sums.
    """
    N = P.shape[0]
    O = grad_w.shape[0]
    scratch = np.zeros_like(grad_w[0])  # the unused twin of an odd last channel
    for n in range(N):
        planes = P[n]
        for o in range(0, O, 2):
            d0 = dwide[o, n * L : (n + 1) * L]
            if o + 1 < O:
                d1 = dwide[o + 1, n * L : (n + 1) * L]
                _grad_weight_pair(planes, d0, d1, Wp, L, grad_w[o], grad_w[o + 1])
            else:
                _grad_weight_pair(planes, d0, d0, Wp, L, grad_w[o], scratch)


@kernel
def _grad_weight_pair(planes, d0, d1, Wp, L, g0, g1):
    """g0[c, m, q] += Σ_k d0[k]·planes[c, m·Wp + q + k], and likewise g1 with d1."""
    C, k1, k2 = g0.shape
    zero = np.zeros(1, dtype=g0.dtype)[0]
    for c in range(C):
        for m in range(k1):
            for q in range(k2):
                src = planes[c, m * Wp + q : m * Wp + q + L]
                s0 = zero
                s1 = zero
                for k in range(L):
                    v = src[k]
                    s0 += d0[k] * v
                    s1 += d1[k] * v
                g0[c, m, q] += s0
                g1[c, m, q] += s1


@kernel
def direct_grad_input(dwide, w, Wp, L, G):
    """G[n, c, m·Wp + q + k] += Σ_o w[o, c, m, q]·δ_wide[o, n·L + k] (G zeroed)."""
    N = G.shape[0]
    O, C, k1, k2 = w.shape
    for n in range(N):
        for c in range(C):
            for o in range(O):
                d = dwide[o, n * L : (n + 1) * L]
                for m in range(k1):
                    for q in range(k2):
                        wv = w[o, c, m, q]
                        dst = G[n, c, m * Wp + q : m * Wp + q + L]
                        for k in range(L):
                            dst[k] += wv * d[k]
