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

from cnnviz.core.kernels._jit import helper, kernel


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
def crop_bias(wide, b, Wp, S, x):
    """x[n, o, i, j] = wide[o, n·S + i·Wp + j] + b[o]: drop the garbage columns (S is
    the image stride of the wide rows: L = Ho·Wp, or the plane size of a chunk's run)."""
    N, O, Ho, Wo = x.shape
    for n in range(N):
        for o in range(O):
            bias = b[o]
            for i in range(Ho):
                src = wide[o, n * S + i * Wp : n * S + i * Wp + Wo]
                dst = x[n, o, i]
                for j in range(Wo):
                    dst[j] = src[j] + bias


@kernel
def widen_delta(delta, flat, Wp, lead, S, wide, bias_grad):
    """wide[o, lead + n·S + i·Wp + j] = δ[n, o, i, j] (wide zeroed: its garbage columns,
    `lead` leading entries and [L, S) after each image stay 0); bias_grad = Σ δ.

    `flat` is δ viewed as (N·O, Ho·Wo): the bias sum runs over its rows, which
    vectorises (summed in the copy loop, its one running total cost 4 cycles a value).
    """
    N, O, Ho, Wo = delta.shape
    zero = np.zeros(1, dtype=wide.dtype)[0]
    for o in range(O):
        total = zero
        for n in range(N):
            row = flat[n * O + o]
            for k in range(Ho * Wo):
                total += row[k]
            for i in range(Ho):
                start = lead + n * S + i * Wp
                dst = wide[o, start : start + Wo]
                src = delta[n, o, i]
                for j in range(Wo):
                    dst[j] = src[j]
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
    """wide[o, n·L + k] = Σ_(c,m,q) w[o, c, m, q]·P[n, c, m·Wp + q + k], no tap matrix.

    The taps of a kernel row go five (or three, two, one) at a time: one store of the
    output row per five multiply-adds instead of one per multiply-add; for 5-wide
    kernels two output channels share each load of the input (conv2 of LeNet: −30 %).
    Per (image, channel) helpers; a helper per tap block ran 1.5–4× slower.
    """
    N = P.shape[0]
    O, k2 = w.shape[0], w.shape[3]
    pairs = O // 2 if k2 == 5 else 0  # 5-wide kernels (LeNet's): two channels per pass
    for n in range(N):
        for o in range(0, 2 * pairs, 2):
            _forward_pair5(P, w, Wp, L, wide, n, o)
        for o in range(2 * pairs, O):
            _forward_one(P, w, Wp, L, wide, n, o)


@helper
def _forward_pair5(P, w, Wp, L, wide, n, o):
    """Output channels o and o+1 of image n for a 5-wide kernel: ten multiply-adds per load."""
    C, k1 = w.shape[1], w.shape[2]
    a0 = wide[o, n * L : (n + 1) * L]
    a1 = wide[o + 1, n * L : (n + 1) * L]
    for k in range(L):
        a0[k] = 0
        a1[k] = 0
    for c in range(C):
        for m in range(k1):
            s = m * Wp
            u0, u1, u2 = w[o, c, m, 0], w[o, c, m, 1], w[o, c, m, 2]
            u3, u4 = w[o, c, m, 3], w[o, c, m, 4]
            v0, v1, v2 = w[o + 1, c, m, 0], w[o + 1, c, m, 1], w[o + 1, c, m, 2]
            v3, v4 = w[o + 1, c, m, 3], w[o + 1, c, m, 4]
            s0, s1, s2 = P[n, c, s : s + L], P[n, c, s + 1 : s + 1 + L], P[n, c, s + 2 : s + 2 + L]
            s3, s4 = P[n, c, s + 3 : s + 3 + L], P[n, c, s + 4 : s + 4 + L]
            for k in range(L):
                x0, x1, x2, x3, x4 = s0[k], s1[k], s2[k], s3[k], s4[k]
                a0[k] += u0 * x0 + u1 * x1 + u2 * x2 + u3 * x3 + u4 * x4
                a1[k] += v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3 + v4 * x4


@helper
def _forward_one(P, w, Wp, L, wide, n, o):
    """Output channel o of image n, the taps of a kernel row five, three, two or one at a time."""
    C, k1, k2 = w.shape[1], w.shape[2], w.shape[3]
    acc = wide[o, n * L : (n + 1) * L]
    for k in range(L):
        acc[k] = 0
    for c in range(C):
        for m in range(k1):
            q = 0
            while q < k2:
                s = m * Wp + q
                if q + 5 <= k2:
                    w0, w1, w2 = w[o, c, m, q], w[o, c, m, q + 1], w[o, c, m, q + 2]
                    w3, w4 = w[o, c, m, q + 3], w[o, c, m, q + 4]
                    s0, s1, s2 = (
                        P[n, c, s : s + L],
                        P[n, c, s + 1 : s + 1 + L],
                        P[n, c, s + 2 : s + 2 + L],
                    )
                    s3, s4 = P[n, c, s + 3 : s + 3 + L], P[n, c, s + 4 : s + 4 + L]
                    for k in range(L):
                        acc[k] += w0 * s0[k] + w1 * s1[k] + w2 * s2[k] + w3 * s3[k] + w4 * s4[k]
                    q += 5
                elif q + 3 <= k2:
                    w0, w1, w2 = w[o, c, m, q], w[o, c, m, q + 1], w[o, c, m, q + 2]
                    s0, s1, s2 = (
                        P[n, c, s : s + L],
                        P[n, c, s + 1 : s + 1 + L],
                        P[n, c, s + 2 : s + 2 + L],
                    )
                    for k in range(L):
                        acc[k] += w0 * s0[k] + w1 * s1[k] + w2 * s2[k]
                    q += 3
                elif q + 2 <= k2:
                    w0, w1 = w[o, c, m, q], w[o, c, m, q + 1]
                    s0, s1 = P[n, c, s : s + L], P[n, c, s + 1 : s + 1 + L]
                    for k in range(L):
                        acc[k] += w0 * s0[k] + w1 * s1[k]
                    q += 2
                else:
                    w0 = w[o, c, m, q]
                    s0 = P[n, c, s : s + L]
                    for k in range(L):
                        acc[k] += w0 * s0[k]
                    q += 1


@kernel
def direct_grad_weight(Pc, dwide, lead, Wp, T, grad_w):
    """grad_w[o, c, m, q] += Σ_(t<T) δ_wide[o, lead + t]·Pc[c, m·Wp + q + t].

    Pc holds a chunk's padded planes channel by channel (`Pc[c, n·S + ·]`) and δ_wide
    its deltas at the same image stride S, zero between images, so each sum is one run
    over the whole chunk: a run per image (140 long for LeNet's conv2) spent most of its
    time finishing its ten vector sums. Output channels go in pairs and the taps of a
    kernel row five at a time, so that each load feeds several of the ten running sums
    (written out: a helper returning the sums allocated per call ran 2× slower).
    """
    O, C, k1, k2 = grad_w.shape
    zero = np.zeros(1, dtype=grad_w.dtype)[0]
    for o in range(0, O, 2):
        o1 = min(o + 1, O - 1)  # an odd last channel pairs with itself
        d0 = dwide[o, lead : lead + T]
        d1 = dwide[o1, lead : lead + T]
        for c in range(C):
            for m in range(k1):
                q = 0
                while q < k2:
                    s = m * Wp + q
                    g0, g1 = grad_w[o, c, m], grad_w[o1, c, m]
                    if q + 5 <= k2:
                        s0, s1, s2 = (
                            Pc[c, s : s + T],
                            Pc[c, s + 1 : s + 1 + T],
                            Pc[c, s + 2 : s + 2 + T],
                        )
                        s3, s4 = Pc[c, s + 3 : s + 3 + T], Pc[c, s + 4 : s + 4 + T]
                        a0 = a1 = a2 = a3 = a4 = zero
                        b0 = b1 = b2 = b3 = b4 = zero
                        for k in range(T):
                            x0, x1 = d0[k], d1[k]
                            v = s0[k]
                            a0 += x0 * v
                            b0 += x1 * v
                            v = s1[k]
                            a1 += x0 * v
                            b1 += x1 * v
                            v = s2[k]
                            a2 += x0 * v
                            b2 += x1 * v
                            v = s3[k]
                            a3 += x0 * v
                            b3 += x1 * v
                            v = s4[k]
                            a4 += x0 * v
                            b4 += x1 * v
                        g0[q], g0[q + 1], g0[q + 2], g0[q + 3], g0[q + 4] = (
                            g0[q] + a0,
                            g0[q + 1] + a1,
                            g0[q + 2] + a2,
                            g0[q + 3] + a3,
                            g0[q + 4] + a4,
                        )
                        if o1 != o:
                            g1[q], g1[q + 1], g1[q + 2], g1[q + 3], g1[q + 4] = (
                                g1[q] + b0,
                                g1[q + 1] + b1,
                                g1[q + 2] + b2,
                                g1[q + 3] + b3,
                                g1[q + 4] + b4,
                            )
                        q += 5
                    else:
                        s0 = Pc[c, s : s + T]
                        a0 = b0 = zero
                        for k in range(T):
                            v = s0[k]
                            a0 += d0[k] * v
                            b0 += d1[k] * v
                        g0[q] += a0
                        if o1 != o:
                            g1[q] += b0
                        q += 1


@kernel
def direct_grad_input(dz, wt, Wp, L, S, G):
    """G[n, c, m·Wp + t] += Σ_(o,q) wt[c, m, o, q]·dz[o, n·S + q + t] for t < L (G zeroed).

    The gather form of the full convolution of δ with rot180(w): `dz` is δ_wide with
    k2 − 1 leading zeros and `wt[c, m, o, q] = w[o, c, m, k2 − 1 − q]`, so every tap
    reads a contiguous run of δ and each kernel row of each input channel is one
    accumulation into one segment of G — no tap matrix, no col2im, and (unlike BLAS,
    whose concurrent calls serialise) it runs in parallel on the kernel pool. Input
    channels go in pairs (an even count: the caller pads with a zero channel), so two
    output rows share each load of δ; the taps of a kernel row go five (ten
    multiply-adds per store), three or one at a time.
    """
    N, C2, k1, O, k2 = G.shape[0], G.shape[1], wt.shape[1], wt.shape[2], wt.shape[3]
    for n, c, m in np.ndindex(N, C2 // 2, k1):
        a0 = G[n, 2 * c, m * Wp : m * Wp + L]
        a1 = G[n, 2 * c + 1, m * Wp : m * Wp + L]
        for o in range(O):
            u, v, q = wt[2 * c, m, o], wt[2 * c + 1, m, o], 0
            while q < k2:
                s = n * S + q
                if q + 5 <= k2:
                    u0, u1, u2, u3, u4 = u[q], u[q + 1], u[q + 2], u[q + 3], u[q + 4]
                    v0, v1, v2, v3, v4 = v[q], v[q + 1], v[q + 2], v[q + 3], v[q + 4]
                    s0, s1 = dz[o, s : s + L], dz[o, s + 1 : s + 1 + L]
                    s2, s3 = dz[o, s + 2 : s + 2 + L], dz[o, s + 3 : s + 3 + L]
                    s4 = dz[o, s + 4 : s + 4 + L]
                    for k in range(L):
                        x0, x1, x2, x3, x4 = s0[k], s1[k], s2[k], s3[k], s4[k]
                        a0[k] += u0 * x0 + u1 * x1 + u2 * x2 + u3 * x3 + u4 * x4
                        a1[k] += v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3 + v4 * x4
                    q += 5
                elif q + 3 <= k2:
                    u0, u1, u2, v0, v1, v2 = u[q], u[q + 1], u[q + 2], v[q], v[q + 1], v[q + 2]
                    s0, s1 = dz[o, s : s + L], dz[o, s + 1 : s + 1 + L]
                    s2 = dz[o, s + 2 : s + 2 + L]
                    for k in range(L):
                        x0, x1, x2 = s0[k], s1[k], s2[k]
                        a0[k] += u0 * x0 + u1 * x1 + u2 * x2
                        a1[k] += v0 * x0 + v1 * x1 + v2 * x2
                    q += 3
                else:
                    u0, v0, s0 = u[q], v[q], dz[o, s : s + L]
                    for k in range(L):
                        a0[k] += u0 * s0[k]
                        a1[k] += v0 * s0[k]
                    q += 1
