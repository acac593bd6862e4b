"""Batch normalisation per channel: x̂ = (x − μ)/√(σ² + ε), y = γ·x̂ + β, and its backward.

Arrays are viewed as (N, C, L) with L = H·W for batchnorm2d and 1 for batchnorm1d; the
statistics of channel c run over its m = N·L values, accumulated in float64. Training mode
uses the batch mean and the biased batch variance; eval mode the running ones (passed in).
"""

from __future__ import annotations

import math

import numpy as np

from cnnviz.core.kernels._jit import (
    batch_chunks,
    exact_kernel,
    helper,
    kernel,
    one_chunk,
    run_chunks,
)

# Rows shorter than this are summed into a row of partial sums (see _row_total)
ROW_PARTIALS_BELOW = 256
# Kernels on at most this many values run each pass over all their channels in turn: two
# inlined helpers in one loop body keep Numba from pruning the reference counts of the
# arrays they take, and the atomic increments and decrements cost 50–80 ns a channel, most
# of a batch-1 call (mini-resnet's 32×7×7: 4.0 → 2.7 µs forward, 2.4 → 1.6 backward).
# Larger inputs keep a channel in the cache through all its passes instead.
SPLIT_PASSES_UP_TO = 16384


@helper
def _row_total(x, c, shift, square, part):
    """Σ over images n and positions k of (x[n, c, k] − shift), squared if `square`, in
    float64. Short rows are added into `part` element-wise and totalled at the end:
    a total per (image, channel) row of 49 values spent most of its time finishing each
    row's vector sum (3× slower on mini-resnet's 7×7 maps); long rows sum directly."""
    N, _, L = x.shape
    if L >= ROW_PARTIALS_BELOW:
        total = 0.0
        for n in range(N):
            row = x[n, c]
            for k in range(L):
                d = row[k] - shift
                total += d * d if square else d
        return total
    for k in range(L):
        part[k] = 0.0
    for n in range(N):
        row = x[n, c]
        for k in range(L):
            d = row[k] - shift
            part[k] += d * d if square else d
    total = 0.0
    for k in range(L):
        total += part[k]
    return total


@helper
def _normalise_channel(x, c, mean, var, eps, gamma, beta, x_hat, out, factors):
    """x̂ = (x − μ)/√(σ² + ε) and y = γ·x̂ + β for channel c, in the arrays' dtype: the
    factors are computed in float64 and cast once (through the typed `factors`)."""
    factors[0] = mean
    factors[1] = 1.0 / math.sqrt(var + eps)
    mu, inv, g, b = factors[0], factors[1], gamma[c], beta[c]
    for n in range(x.shape[0]):
        src, hat, dst = x[n, c], x_hat[n, c], out[n, c]
        for k in range(x.shape[2]):
            h = (src[k] - mu) * inv
            hat[k] = h
            dst[k] = g * h + b


@kernel
def _forward_train(x, c0, c1, eps, gamma, beta, mean, var, x_hat, out):
    """Training mode for channels c0..c1: each channel's statistics, then its x̂ and y.

    Up to SPLIT_PASSES_UP_TO values, each pass runs over every channel in turn (one helper
    call per loop, see SPLIT_PASSES_UP_TO); larger inputs run all passes on one channel
    while it is still in the cache. The same helpers either way: the same bits."""
    part = np.empty(x.shape[2], dtype=np.float64)
    factors = np.empty(2, dtype=out.dtype)
    count = x.shape[0] * x.shape[2]
    if count * (c1 - c0) <= SPLIT_PASSES_UP_TO:
        mus = np.empty(x.shape[1], dtype=np.float64)
        for c in range(c0, c1):  # two passes with float64 sums: the mean, then the variance
            mus[c] = _row_total(x, c, 0.0, False, part) / count
        for c in range(c0, c1):
            mean[c], var[c] = mus[c], _row_total(x, c, mus[c], True, part) / count
        for c in range(c0, c1):
            m, v = np.float64(mean[c]), np.float64(var[c])  # as stored: backward reads var
            _normalise_channel(x, c, m, v, eps, gamma, beta, x_hat, out, factors)
        return
    for c in range(c0, c1):
        mu = _row_total(x, c, 0.0, False, part) / count
        mean[c], var[c] = mu, _row_total(x, c, mu, True, part) / count
        m, v = np.float64(mean[c]), np.float64(var[c])
        _normalise_channel(x, c, m, v, eps, gamma, beta, x_hat, out, factors)


@kernel
def _forward_eval(x, c0, c1, eps, gamma, beta, mean, var, x_hat, out):
    """Eval mode for channels c0..c1: normalised with the given (running) statistics."""
    factors = np.empty(2, dtype=out.dtype)
    for c in range(c0, c1):
        m, v = np.float64(mean[c]), np.float64(var[c])
        _normalise_channel(x, c, m, v, eps, gamma, beta, x_hat, out, factors)


@exact_kernel
def _move_running(running_mean, running_var, mean, var, momentum, unbiased):
    """running ← (1 − momentum)·running + momentum·batch, the batch variance times
    `unbiased` = m/(m − 1): NumPy's `(1 - momentum) * running + momentum * mean` and
    `(1 - momentum) * running + momentum * var * unbiased` bit for bit. The Python floats
    take the arrays' dtypes, as NumPy's weak scalars do, and each product and sum rounds
    on its own (an exact kernel: no fused multiply-add, no reordering)."""
    keep = np.empty(1, dtype=running_mean.dtype)
    take = np.empty(2, dtype=mean.dtype)
    keep[0], take[0], take[1] = 1.0 - momentum, momentum, unbiased
    k, t, u = keep[0], take[0], take[1]
    for c in range(mean.shape[0]):
        running_mean[c] = k * running_mean[c] + t * mean[c]
        running_var[c] = k * running_var[c] + t * var[c] * u


@helper
def _delta_sums(delta, x_hat, c, part_d, part_dh):
    """(Σ δ, Σ δ·x̂) over channel c in float64, short rows through partials (_row_total)."""
    N, _, L = delta.shape
    if L >= ROW_PARTIALS_BELOW:
        sum_d = sum_dh = 0.0
        for n in range(N):
            d, h = delta[n, c], x_hat[n, c]
            for k in range(L):
                sum_d += d[k]
                sum_dh += d[k] * h[k]
        return sum_d, sum_dh
    for k in range(L):
        part_d[k] = 0.0
        part_dh[k] = 0.0
    for n in range(N):
        d, h = delta[n, c], x_hat[n, c]
        for k in range(L):
            part_d[k] += d[k]
            part_dh[k] += d[k] * h[k]
    sum_d = sum_dh = 0.0
    for k in range(L):
        sum_d += part_d[k]
        sum_dh += part_dh[k]
    return sum_d, sum_dh


@kernel
def _backward(delta, c0, c1, x_hat, gamma, var, eps, training, grad_x, grad_gamma, grad_beta):
    """Channels c0..c1: Σδ and Σδ·x̂ in float64, then ∂E/∂x in the arrays' dtype. Up to
    SPLIT_PASSES_UP_TO values, the sums of every channel first (see `_forward_train`)."""
    N, _, L = delta.shape
    m = N * L
    coeff = np.empty(3, dtype=grad_x.dtype)  # ∂E/∂x = a·δ + b + c·x̂, cast once
    part_d, part_dh = np.empty(L, dtype=np.float64), np.empty(L, dtype=np.float64)
    sums = np.empty((2, delta.shape[1]), dtype=np.float64)
    split = m * (c1 - c0) <= SPLIT_PASSES_UP_TO
    for c in range(c0, c1):
        if split:
            sums[0, c], sums[1, c] = _delta_sums(delta, x_hat, c, part_d, part_dh)
    for c in range(c0, c1):
        if split:
            sum_d, sum_dh = sums[0, c], sums[1, c]
        else:
            sum_d, sum_dh = _delta_sums(delta, x_hat, c, part_d, part_dh)
        grad_beta[c] = sum_d  # ∂E/∂β
        grad_gamma[c] = sum_dh  # ∂E/∂γ
        scale = np.float64(gamma[c]) / math.sqrt(np.float64(var[c]) + eps)
        # training: ∂E/∂x = γ/(m·σ)·(m·δ − Σδ − x̂·Σδx̂), as μ and σ² depend on x;
        # eval: the running statistics are constants, ∂E/∂x = γ·δ/σ
        coeff[0] = scale
        coeff[1] = -scale * sum_d / m if training else 0.0
        coeff[2] = -scale * sum_dh / m if training else 0.0
        a, b, q = coeff[0], coeff[1], coeff[2]
        for n in range(N):
            d, h, g = delta[n, c], x_hat[n, c], grad_x[n, c]
            for k in range(L):
                g[k] = a * d[k] + b + q * h[k]


# --- in a share of a data-parallel step (core/batch_sync.py): the share's partial sums,
# and ∂E/∂x from the whole batch's sums


@kernel
def _shifted_sums(x, c0, c1, shift, square, sums):
    """sums[c] = Σ (x[n, c, k] − shift[c]), squared if `square`, for channels c0..c1."""
    part = np.empty(x.shape[2], dtype=np.float64)
    for c in range(c0, c1):  # literal flags: _forward_train's compiled _row_total, reused
        if square:
            sums[c] = _row_total(x, c, shift[c], True, part)
        else:
            sums[c] = _row_total(x, c, shift[c], False, part)


@kernel
def _delta_sums_by_channel(delta, c0, c1, x_hat, sums):
    """sums[0, c] = Σδ and sums[1, c] = Σδ·x̂ for channels c0..c1."""
    L = delta.shape[2]
    part_d, part_dh = np.empty(L, dtype=np.float64), np.empty(L, dtype=np.float64)
    for c in range(c0, c1):
        sums[0, c], sums[1, c] = _delta_sums(delta, x_hat, c, part_d, part_dh)


@kernel
def _backward_with_sums(delta, c0, c1, x_hat, gamma, var, eps, sums, m, grad_x):
    """Training-mode ∂E/∂x for channels c0..c1 from given Σδ = sums[0], Σδ·x̂ = sums[1]
    over m values per channel (the formula of `_backward`)."""
    coeff = np.empty(3, dtype=grad_x.dtype)
    for c in range(c0, c1):
        scale = np.float64(gamma[c]) / math.sqrt(np.float64(var[c]) + eps)
        coeff[0] = scale
        coeff[1] = -scale * sums[0, c] / m
        coeff[2] = -scale * sums[1, c] / m
        a, b, q = coeff[0], coeff[1], coeff[2]
        for n in range(delta.shape[0]):
            d, h, g = delta[n, c], x_hat[n, c], grad_x[n, c]
            for k in range(delta.shape[2]):
                g[k] = a * d[k] + b + q * h[k]


def _as_ncl(a):
    """(N, C, H, W) or (N, C) as a contiguous (N, C, L) view."""
    a = np.ascontiguousarray(a)
    return a.reshape(a.shape[0], a.shape[1], -1)


def _by_channel(kernel_fn, x, *args) -> None:
    """Run kernel_fn(x, c0, c1, *args) over channel ranges: one direct call for all
    channels when the array is small, else ranges on the kernel pool (channels are
    independent here)."""
    C, work = x.shape[1], x.size * 4
    if one_chunk(C, work):
        kernel_fn(x, 0, C, *args)
        return
    run_chunks(lambda c0, c1: kernel_fn(x, c0, c1, *args), batch_chunks(C, work))


def batchnorm_forward(x, gamma, beta, eps):
    """Training mode: (y, x̂, batch mean μ, biased batch variance σ²). A small input calls
    the kernel directly (the calls through `_by_channel` cost ~1 µs of a 4 µs layer)."""
    x3 = _as_ncl(x)
    shape, C, dtype = x3.shape, x3.shape[1], x.dtype
    mean, var = np.empty(C, dtype), np.empty(C, dtype)
    out, x_hat = np.empty(shape, dtype), np.empty(shape, dtype)
    if one_chunk(C, x3.size * 4):
        _forward_train(x3, 0, C, float(eps), gamma, beta, mean, var, x_hat, out)
    else:
        _by_channel(_forward_train, x3, float(eps), gamma, beta, mean, var, x_hat, out)
    return out.reshape(x.shape), x_hat.reshape(x.shape), mean, var


def batchnorm_forward_eval(x, gamma, beta, mean, var, eps):
    """Normalise with the given (running) statistics: (y, x̂)."""
    x3 = _as_ncl(x)
    out, x_hat = np.empty(x3.shape, x.dtype), np.empty(x3.shape, x.dtype)
    _by_channel(_forward_eval, x3, float(eps), gamma, beta, mean, var, x_hat, out)
    return out.reshape(x.shape), x_hat.reshape(x.shape)


def batchnorm_update_running(running_mean, running_var, mean, var, momentum, m) -> None:
    """running ← (1 − momentum)·running + momentum·batch in place, the variance made
    unbiased (m/(m − 1), m values per channel): the NumPy expressions' bits in one call
    (they took ~3.4 µs a layer at batch 1, the kernel ~0.5)."""
    _move_running(running_mean, running_var, mean, var, float(momentum), m / (m - 1))


def batchnorm_backward(delta, x_hat, gamma, var, eps, training):
    """(∂E/∂x, ∂E/∂γ, ∂E/∂β); var is the variance the forward pass normalised with. A
    small input calls the kernel directly, as `batchnorm_forward`."""
    d3 = _as_ncl(delta)
    C, dtype = d3.shape[1], delta.dtype
    grad_x = np.empty(d3.shape, dtype)
    grad_gamma, grad_beta = np.empty(C, gamma.dtype), np.empty(C, gamma.dtype)
    args = (gamma, var, float(eps), bool(training), grad_x, grad_gamma, grad_beta)
    if one_chunk(C, d3.size * 4):
        _backward(d3, 0, C, _as_ncl(x_hat), *args)
    else:
        _by_channel(_backward, d3, _as_ncl(x_hat), *args)
    return grad_x.reshape(delta.shape), grad_gamma, grad_beta


def batchnorm_shifted_sums(x, shift, square):
    """Per channel, Σ (x − shift[c]) over the batch and positions, squared if `square`, in
    float64 (C,): a share's part of the batch mean (shift 0) or variance (shift μ)."""
    sums = np.empty(x.shape[1], np.float64)
    _by_channel(_shifted_sums, _as_ncl(x), np.asarray(shift, np.float64), bool(square), sums)
    return sums


def batchnorm_delta_sums(delta, x_hat):
    """Per channel (Σδ, Σδ·x̂) in float64, shape (2, C): a share's part of ∂E/∂β, ∂E/∂γ."""
    sums = np.empty((2, delta.shape[1]), np.float64)
    _by_channel(_delta_sums_by_channel, _as_ncl(delta), _as_ncl(x_hat), sums)
    return sums


def batchnorm_backward_with_sums(delta, x_hat, gamma, var, eps, sums, m):
    """Training-mode ∂E/∂x of a share, from the whole batch's `sums` = (Σδ, Σδ·x̂) per
    channel over its m values per channel (as `batchnorm_backward` computes them)."""
    grad_x = np.empty(delta.shape, delta.dtype)
    args = (gamma, var, float(eps), np.asarray(sums, np.float64), int(m), _as_ncl(grad_x))
    _by_channel(_backward_with_sums, _as_ncl(delta), _as_ncl(x_hat), *args)
    return grad_x
