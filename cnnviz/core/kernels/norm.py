"""Batch normalisation per channel: x̂ = (x − μ)/√(σ² + ε), y = γ·x̂ + β, and its backward.

Arrays are viewed as (N, C, L) with L = H·W for batchnorm2d and 1 for batchnorm1d; the
statistics of channel c run over its m = N·L values, accumulated in float64. Training mode
uses the batch mean and the biased batch variance; eval mode the running ones (passed in).
"""

from __future__ import annotations

import math

import numpy as np

from cnnviz.core.kernels._jit import kernel


@kernel
def _stats(x, mean, var):
    N, C, L = x.shape
    m = N * L
    for c in range(C):
        s = 0.0
        for n in range(N):
            for k in range(L):
                s += x[n, c, k]
        mu = s / m
        q = 0.0
        for n in range(N):
            for k in range(L):
                d = x[n, c, k] - mu
                q += d * d
        mean[c] = mu
        var[c] = q / m


@kernel
def _normalise(x, mean, var, eps, gamma, beta, x_hat, out):
    N, C, L = x.shape
    for n in range(N):
        for c in range(C):
            inv_std = 1.0 / math.sqrt(np.float64(var[c]) + eps)
            for k in range(L):
                h = (x[n, c, k] - np.float64(mean[c])) * inv_std
                x_hat[n, c, k] = h
                out[n, c, k] = gamma[c] * h + beta[c]


@kernel
def _backward(delta, x_hat, gamma, var, eps, training, grad_x, grad_gamma, grad_beta):
    N, C, L = delta.shape
    m = N * L
    for c in range(C):
        sum_d = 0.0  # ∂E/∂β = Σ δ
        sum_dh = 0.0  # ∂E/∂γ = Σ δ·x̂
        for n in range(N):
            for k in range(L):
                sum_d += delta[n, c, k]
                sum_dh += delta[n, c, k] * x_hat[n, c, k]
        grad_beta[c] = sum_d
        grad_gamma[c] = sum_dh
        scale = gamma[c] / math.sqrt(np.float64(var[c]) + eps)
        for n in range(N):
            for k in range(L):
                if training:  # ∂E/∂x = γ/(m·σ)·(m·δ − Σδ − x̂·Σδx̂): μ and σ² depend on x
                    g = scale / m * (m * delta[n, c, k] - sum_d - x_hat[n, c, k] * sum_dh)
                else:  # running statistics are constants: ∂E/∂x = γ·δ/σ
                    g = scale * delta[n, c, k]
                grad_x[n, c, k] = g


def _as_ncl(a):
    """(N, C, H, W) or (N, C) as a contiguous (N, C, L) view."""
    a = np.ascontiguousarray(a)
    return a.reshape(a.shape[0], a.shape[1], -1)


def batchnorm_forward(x, gamma, beta, eps):
    """Training mode: (y, x̂, batch mean μ, biased batch variance σ²)."""
    C = x.shape[1]
    mean, var = np.empty(C, x.dtype), np.empty(C, x.dtype)
    _stats(_as_ncl(x), mean, var)
    out, x_hat = batchnorm_forward_eval(x, gamma, beta, mean, var, eps)
    return out, x_hat, mean, var


def batchnorm_forward_eval(x, gamma, beta, mean, var, eps):
    """Normalise with the given (running) statistics: (y, x̂)."""
    out, x_hat = np.empty(x.shape, x.dtype), np.empty(x.shape, x.dtype)
    _normalise(_as_ncl(x), mean, var, float(eps), gamma, beta, _as_ncl(x_hat), _as_ncl(out))
    return out, x_hat


def batchnorm_backward(delta, x_hat, gamma, var, eps, training):
    """(∂E/∂x, ∂E/∂γ, ∂E/∂β); var is the variance the forward pass normalised with."""
    grad_x = np.empty(delta.shape, delta.dtype)
    grad_gamma, grad_beta = np.empty_like(gamma), np.empty_like(gamma)
    d, h = _as_ncl(delta), _as_ncl(x_hat)
    _backward(d, h, gamma, var, float(eps), bool(training), _as_ncl(grad_x), grad_gamma, grad_beta)
    return grad_x, grad_gamma, grad_beta
