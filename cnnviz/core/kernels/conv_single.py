"""One-image convolution (batch 1): an exact tap matrix and one BLAS product per pass.

At batch 1 the batched paths pay for layouts made for many images: the wide rows of
`conv_wide.py` / `conv3x3.py` carry `k2 − 1` garbage columns per output row (63 columns
for 49 outputs on a 7×7 map: 29 % more multiply-adds), a padded copy of the input and a
finiteness scan. Here the tap matrix has exactly one column per output
position and is built straight from the input, zeros where a tap reads padding:

    taps[(c, m, q), i·Wo + j] = o[0, c, i·sh + m − ph, j·sw + q − pw]   (or 0)
    x[0]   = w2d · taps + b        (the product is written into x itself)
    ∂E/∂w  = δ2d · tapsᵀ           (δ2d = δ[0] viewed as (O, Ho·Wo): no copy)
    ∂E/∂o  = col2im(w2dᵀ · δ2d)

Every product is the one the reference (and PyTorch's im2col) forms — padding zeros
included, garbage columns never — so NaN and inf come out where theirs do, with no
finiteness scan and no fall-back.

For stride 1 with "same" padding (Wo = W: every 3×3 pad-1 and 5×5 pad-2 layer) output
position i·Wo + j of tap (m, q) reads input cell i·W + j + (m − ph)·W + (q − pw): each tap
row is one shifted contiguous copy of the input plane, then a few zeros where the shift
wrapped round a row end. `col2im` is the same run backwards: the wrapped entries of the
tap gradient are zeroed first (they belong to padding), then one contiguous add. Other
shapes (stride 2, no padding) go through a table of the input cell each tap and output
position reads (a gather, 2–3× faster than row-by-row copies of 7–10 values). A 1×1
kernel at stride 1 without padding needs no tap matrix: it is the input itself.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.kernels._jit import helper, kernel

# Largest tap matrix (elements) taken at batch 1: 256 K (1 MB of float32). mini-resnet's
# largest is 28 K, tiny VGG's 56 K; larger inputs keep the batched kernels, whose tiles
# stay in the caches.
SINGLE_MAX_TAPS = 1 << 18
# Fewer output channels than this keep the batched kernels: a product with so few rows
# runs far below BLAS's peak, where the direct kernels feed several taps per load
# (LeNet's conv1, 1 → 6 channels 5×5: forward and ∂E/∂w 15 µs there, 19 µs here).
SINGLE_MIN_OUT = 8


@helper
def _valid(q, s, p, size, out):
    """The output indices j whose tap q reads a real (not padded) input cell j·s + q − p."""
    lo = max(0, (p - q + s - 1) // s)
    hi = min(out, (size - 1 + p - q) // s + 1)
    return lo, max(lo, hi)


@helper
def _fill(a, value):
    for k in range(a.shape[0]):
        a[k] = value


@helper
def _shifted_run(m, q, ph, pw, H, W, Ho, Wo):
    """For the "same" layout: (first, stop, offset) of the run of tap (m, q) — positions
    first ≤ k < stop read input cell k + offset — and its valid columns (lo, hi)."""
    ilo, ihi = _valid(m, 1, ph, H, Ho)
    lo, hi = _valid(q, 1, pw, W, Wo)
    off = (m - ph) * W + (q - pw)
    first = max(ilo * Wo, -off)
    stop = max(first, min(ihi * Wo, H * W - off))
    return first, stop, off, ilo, ihi, lo, hi


@helper
def _cells(k1, k2, sh, sw, ph, pw, H, W, Ho, Wo):
    """cells[m·k2 + q, i·Wo + j]: the flat input cell i·sh + m − ph, j·sw + q − pw that tap
    (m, q) of output (i, j) reads, or −1 where it reads padding."""
    cells = np.empty((k1 * k2, Ho * Wo), dtype=np.int64)
    for m in range(k1):
        for q in range(k2):
            row = cells[m * k2 + q]
            for i in range(Ho):
                r = i * sh + m - ph
                for j in range(Wo):
                    s = j * sw + q - pw
                    row[i * Wo + j] = r * W + s if 0 <= r < H and 0 <= s < W else -1
    return cells


@helper
def _wrapped(row, ilo, ihi, lo, hi, Wo, zero):
    """Zero row[i·Wo + j] for the rows ilo ≤ i < ihi and columns j outside [lo, hi)."""
    if lo == 0 and hi == Wo:
        return
    for i in range(ilo, ihi):
        for j in range(lo):
            row[i * Wo + j] = zero
        for j in range(hi, Wo):
            row[i * Wo + j] = zero


@kernel
def im2col_one(o2, H, W, k1, k2, sh, sw, ph, pw, Ho, Wo, taps):
    """taps[(c·k1 + m)·k2 + q, i·Wo + j] = o2[c, (i·sh + m − ph)·W + j·sw + q − pw], or 0
    where that cell is padding (o2: one image, (C, H·W))."""
    zero = np.zeros(1, dtype=taps.dtype)[0]
    if sh == 1 and sw == 1 and Wo == W:  # "same": one shifted run per tap
        for m, q in np.ndindex(k1, k2):  # (the run's bounds take four divisions)
            first, stop, off, ilo, ihi, lo, hi = _shifted_run(m, q, ph, pw, H, W, Ho, Wo)
            for c in range(o2.shape[0]):
                dst, src = taps[(c * k1 + m) * k2 + q], o2[c]
                _fill(dst[:first], zero)
                run, cells = dst[first:stop], src[first + off : stop + off]
                for k in range(stop - first):
                    run[k] = cells[k]
                _fill(dst[stop:], zero)
                _wrapped(dst, ilo, ihi, lo, hi, Wo, zero)
        return
    cells = _cells(k1, k2, sh, sw, ph, pw, H, W, Ho, Wo)
    for c in range(o2.shape[0]):
        src = o2[c]
        for t in range(k1 * k2):
            dst, at = taps[c * k1 * k2 + t], cells[t]
            for k in range(Ho * Wo):
                e = at[k]
                v = src[max(e, 0)]
                dst[k] = v if e >= 0 else zero


@kernel
def col2im_one(dtaps, H, W, k1, k2, sh, sw, ph, pw, Ho, Wo, g2):
    """The adjoint of im2col_one: g2[c, cell] = Σ of the tap gradients that read the cell
    (g2: (C, H·W), overwritten). In the "same" layout the entries of dtaps that belong to
    padding are set to 0 first."""
    zero = np.zeros(1, dtype=g2.dtype)[0]
    for c in range(g2.shape[0]):
        _fill(g2[c], zero)
    if sh == 1 and sw == 1 and Wo == W:
        for m, q in np.ndindex(k1, k2):
            first, stop, off, ilo, ihi, lo, hi = _shifted_run(m, q, ph, pw, H, W, Ho, Wo)
            for c in range(g2.shape[0]):
                src, dst = dtaps[(c * k1 + m) * k2 + q], g2[c]
                _wrapped(src, ilo, ihi, lo, hi, Wo, zero)
                run, cells = src[first:stop], dst[first + off : stop + off]
                for k in range(stop - first):
                    cells[k] += run[k]
        return
    cells = _cells(k1, k2, sh, sw, ph, pw, H, W, Ho, Wo)
    for c in range(g2.shape[0]):
        dst = g2[c]
        for t in range(k1 * k2):
            src, at = dtaps[c * k1 * k2 + t], cells[t]
            for k in range(Ho * Wo):
                e = at[k]
                if e >= 0:
                    dst[e] += src[k]


@kernel
def add_bias(x2, b):
    """x2[o, :] += b[o]."""
    for o in range(x2.shape[0]):
        bias, row = b[o], x2[o]
        for k in range(row.shape[0]):
            row[k] += bias


@kernel
def row_sums(d2, out):
    """out[o] = Σ_k d2[o, k] (∂E/∂b)."""
    zero = np.zeros(1, dtype=out.dtype)[0]
    for o in range(d2.shape[0]):
        total, row = zero, d2[o]
        for k in range(row.shape[0]):
            total += row[k]
        out[o] = total


# --- public functions (called by conv.py) ----------------------------------------------


def _output_size(input_shape, weight_shape, stride, padding) -> tuple[int, int]:
    """(Ho, Wo) = ⌊(H − k1 + 2·ph)/sh⌋ + 1, ⌊(W − k2 + 2·pw)/sw⌋ + 1."""
    return ((input_shape[2] - weight_shape[2] + 2 * padding[0]) // stride[0] + 1,
            (input_shape[3] - weight_shape[3] + 2 * padding[1]) // stride[1] + 1)


def applies(input_shape, weight_shape, stride, padding) -> bool:
    """Whether a pass takes this path: one image, at least SINGLE_MIN_OUT output channels
    and a tap matrix of at most SINGLE_MAX_TAPS elements."""
    O, C, k1, k2 = weight_shape
    if input_shape[0] != 1 or O < SINGLE_MIN_OUT:
        return False
    Ho, Wo = _output_size(input_shape, weight_shape, stride, padding)
    return C * k1 * k2 * Ho * Wo <= SINGLE_MAX_TAPS


class Single:
    """One convolution's passes on this path, its shapes worked out once: the views of
    o, x, δ, w and ∂E/∂o as matrices and the kernels' geometry arguments. Immutable (the
    data-parallel step's layer copies share it). `plan` keeps one per shape; a Conv2d
    layer holds the one of its last input, so a pass costs the kernels, the product and
    a few reshapes (~1 µs less glue a call than working the shapes out each time)."""

    __slots__ = ("input_shape", "weight_shape", "plain", "planes", "taps", "rows", "w2d")
    __slots__ += ("out_shape", "geometry")

    def __init__(self, input_shape, weight_shape, stride, padding) -> None:
        _, C, H, W = input_shape
        O, _, k1, k2 = weight_shape
        (sh, sw), (ph, pw) = stride, padding
        Ho, Wo = _output_size(input_shape, weight_shape, stride, padding)
        self.input_shape, self.weight_shape = tuple(input_shape), tuple(weight_shape)
        # a 1×1 kernel, stride 1, no padding: the tap matrix is the input itself
        self.plain = k1 == k2 == 1 and (sh, sw, ph, pw) == (1, 1, 0, 0)
        self.planes = (C, H * W)  # o and ∂E/∂o
        self.taps = (C * k1 * k2, Ho * Wo)
        self.rows = (O, Ho * Wo)  # x and δ
        self.w2d = (O, C * k1 * k2)
        self.out_shape = (1, O, Ho, Wo)
        self.geometry = (H, W, k1, k2, sh, sw, ph, pw, Ho, Wo)  # of im2col_one / col2im_one

    def tap_matrix(self, o) -> np.ndarray:
        if self.plain:
            return o.reshape(self.planes)
        taps = np.empty(self.taps, dtype=o.dtype)
        im2col_one(o.reshape(self.planes), *self.geometry, taps)
        return taps

    def forward(self, o, w, b, cache: dict | None) -> np.ndarray:
        """x = w ⋆ o + b; the tap matrix is left in `cache` for ∂E/∂w."""
        taps = self.tap_matrix(o)
        if cache is not None:
            cache["single"] = taps
        x = np.empty(self.out_shape, dtype=o.dtype)
        x2 = x.reshape(self.rows)
        np.matmul(w.reshape(self.w2d), taps, out=x2)
        add_bias(x2, b)
        return x

    def grad_params(self, o, delta, cache: dict | None):
        """(∂E/∂w, ∂E/∂b) = (δ2d · tapsᵀ, Σ δ), the taps from the forward pass when cached."""
        taps = None if cache is None else cache.get("single")
        if taps is None:
            taps = self.tap_matrix(o)
        d2 = delta.reshape(self.rows)
        grad_b = np.empty(self.rows[0], dtype=delta.dtype)
        row_sums(d2, grad_b)
        return np.matmul(d2, taps.T).reshape(self.weight_shape), grad_b

    def grad_input(self, delta, w, cache: dict | None = None) -> np.ndarray:
        """∂E/∂o = col2im(w2dᵀ · δ2d) (`cache` unused: the signature of `conv.Routed`)."""
        grad = np.empty(self.input_shape, dtype=delta.dtype)
        g2 = grad.reshape(self.planes)
        if self.plain:
            np.matmul(w.reshape(self.w2d).T, delta.reshape(self.rows), out=g2)
            return grad
        dtaps = np.matmul(w.reshape(self.w2d).T, delta.reshape(self.rows))
        col2im_one(dtaps, *self.geometry, g2)
        return grad


_PLANS: dict[tuple, Single] = {}


def plan(input_shape, weight_shape, stride, padding) -> Single:
    """The `Single` of these shapes, built once (its geometry depends on nothing else)."""
    key = (*input_shape, *weight_shape, *stride, *padding)
    held = _PLANS.get(key)
    if held is None:
        if len(_PLANS) > 256:  # networks come and go in the editor
            _PLANS.clear()
        held = _PLANS[key] = Single(input_shape, weight_shape, stride, padding)
    return held


def forward(o, w, b, stride, padding, cache: dict | None) -> np.ndarray:
    """x = w ⋆ o + b for one image; the tap matrix is left in `cache` for ∂E/∂w."""
    return plan(o.shape, w.shape, stride, padding).forward(o, w, b, cache)


def grad_params(o, delta, weight_shape, stride, padding, cache: dict | None):
    """(∂E/∂w, ∂E/∂b) = (δ2d · tapsᵀ, Σ δ), the taps from the forward pass when cached."""
    return plan(o.shape, weight_shape, stride, padding).grad_params(o, delta, cache)


def grad_input(delta, w, input_shape, stride, padding) -> np.ndarray:
    """∂E/∂o = col2im(w2dᵀ · δ2d)."""
    return plan(input_shape, w.shape, stride, padding).grad_input(delta, w)
