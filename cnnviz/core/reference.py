"""Plain-NumPy twins of every kernel: slow, obvious, written to be read.

Each function has the same name, arguments and results as its kernel in
`cnnviz.core.kernels`; the tests compare the two on random shapes. Notation follows the
seeds: `x` the pre-activation, `o` the output of the previous layer, `w`, `b`, `delta`,
kernel size `k1 × k2`, arrays in NCHW layout.
"""

from __future__ import annotations

import numpy as np

Pair = tuple[int, int]


def _pad(o: np.ndarray, padding: Pair, value: float = 0.0) -> np.ndarray:
    ph, pw = padding
    return np.pad(o, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """floor((W − F + 2P) / S) + 1."""
    return (size - kernel + 2 * padding) // stride + 1


# --- convolution (cross-correlation, as PyTorch) -------------------------------------


def conv2d_forward(o, w, b, stride: Pair, padding: Pair):
    """x[n, c_out, i, j] = Σ_c Σ_m Σ_n w[c_out, c, m, n]·o[n, c, i·s+m, j·s+n] + b[c_out]."""
    N, C, H, W = o.shape
    O, _, k1, k2 = w.shape
    op = _pad(o, padding)
    Ho = output_size(H, k1, stride[0], padding[0])
    Wo = output_size(W, k2, stride[1], padding[1])
    x = np.zeros((N, O, Ho, Wo), dtype=o.dtype)
    for i in range(Ho):
        for j in range(Wo):
            r, s = i * stride[0], j * stride[1]
            window = op[:, :, r : r + k1, s : s + k2]  # (N, C, k1, k2)
            x[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    return x + b.reshape(1, O, 1, 1)


def conv2d_backward(o, w, delta, stride: Pair, padding: Pair):
    """Returns (∂E/∂o, ∂E/∂w, ∂E/∂b) given delta = ∂E/∂x of the layer's output."""
    N, C, H, W = o.shape
    O, _, k1, k2 = w.shape
    op = _pad(o, padding)
    grad_op = np.zeros_like(op)
    grad_w = np.zeros_like(w)
    _, _, Ho, Wo = delta.shape
    for i in range(Ho):
        for j in range(Wo):
            r, s = i * stride[0], j * stride[1]
            d = delta[:, :, i, j]  # (N, O)
            # ∂E/∂w: the delta correlated with the input
            grad_w += np.tensordot(d, op[:, :, r : r + k1, s : s + k2], axes=([0], [0]))
            # ∂E/∂o: every output position sends delta·w back to the cells it read
            grad_op[:, :, r : r + k1, s : s + k2] += np.tensordot(d, w, axes=([1], [0]))
    ph, pw = padding
    grad_o = grad_op[:, :, ph : ph + H, pw : pw + W]
    grad_b = delta.sum(axis=(0, 2, 3))
    return np.ascontiguousarray(grad_o), grad_w, grad_b.astype(w.dtype)


# --- pooling --------------------------------------------------------------------------


def _pool_windows(o, kernel: Pair, stride: Pair, padding: Pair, pad_value: float):
    """Yield (i, j, r, s, window) with window = padded o[:, :, r:r+k1, s:s+k2]."""
    N, C, H, W = o.shape
    op = _pad(o, padding, pad_value)
    Ho = output_size(H, kernel[0], stride[0], padding[0])
    Wo = output_size(W, kernel[1], stride[1], padding[1])
    for i in range(Ho):
        for j in range(Wo):
            r, s = i * stride[0], j * stride[1]
            yield i, j, r, s, op[:, :, r : r + kernel[0], s : s + kernel[1]]


def maxpool2d_forward(o, kernel: Pair, stride: Pair, padding: Pair):
    """Max over each window; argmax = winner's flat index h·W + w in the unpadded plane.

    Padded cells never win; ties go to the first maximum in row-major order; a NaN wins
    (the last NaN in row-major order, as PyTorch), so NaN propagates.
    """
    N, C, H, W = o.shape
    Ho = output_size(H, kernel[0], stride[0], padding[0])
    Wo = output_size(W, kernel[1], stride[1], padding[1])
    out = np.empty((N, C, Ho, Wo), dtype=o.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.int64)
    for i, j, r, s, window in _pool_windows(o, kernel, stride, padding, -np.inf):
        flat = window.reshape(N, C, -1)
        best = np.argmax(flat, axis=2)  # first maximum in row-major order
        nan = np.isnan(flat)
        last_nan = flat.shape[2] - 1 - np.argmax(nan[:, :, ::-1], axis=2)
        best = np.where(nan.any(axis=2), last_nan, best)
        out[:, :, i, j] = np.take_along_axis(flat, best[:, :, None], axis=2)[:, :, 0]
        m, n = np.divmod(best, kernel[1])
        argmax[:, :, i, j] = (r + m - padding[0]) * W + (s + n - padding[1])
    return out, argmax


def maxpool2d_backward(delta, argmax, input_shape):
    """Route each delta to its window's winner only (summed where a cell won twice)."""
    N, C, H, W = input_shape
    grad = np.zeros((N, C, H * W), dtype=delta.dtype)
    for n in range(N):
        for c in range(C):
            np.add.at(grad[n, c], argmax[n, c].ravel(), delta[n, c].ravel())
    return grad.reshape(N, C, H, W)


def avgpool2d_forward(o, kernel: Pair, stride: Pair, padding: Pair):
    """Mean over each window; padded cells count as zeros (count_include_pad=True)."""
    N, C, H, W = o.shape
    Ho = output_size(H, kernel[0], stride[0], padding[0])
    Wo = output_size(W, kernel[1], stride[1], padding[1])
    out = np.empty((N, C, Ho, Wo), dtype=o.dtype)
    for i, j, _, _, window in _pool_windows(o, kernel, stride, padding, 0.0):
        out[:, :, i, j] = window.sum(axis=(2, 3)) / (kernel[0] * kernel[1])
    return out


def avgpool2d_backward(delta, input_shape, kernel: Pair, stride: Pair, padding: Pair):
    """Spread each delta as 1/(k1·k2) over its window (the padding's share is dropped)."""
    N, C, H, W = input_shape
    ph, pw = padding
    grad_p = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=delta.dtype)
    share = 1.0 / (kernel[0] * kernel[1])
    _, _, Ho, Wo = delta.shape
    for i in range(Ho):
        for j in range(Wo):
            r, s = i * stride[0], j * stride[1]
            grad_p[:, :, r : r + kernel[0], s : s + kernel[1]] += (
                share * delta[:, :, i, j][:, :, None, None]
            )
    return np.ascontiguousarray(grad_p[:, :, ph : ph + H, pw : pw + W])


# --- dense ----------------------------------------------------------------------------


def dense_forward(o, w, b):
    """x[n, k] = Σ_j w[k, j]·o[n, j] + b[k]."""
    return o @ w.T + b


def dense_backward(o, w, delta):
    """Returns (∂E/∂o = δ·w, ∂E/∂w = δᵀ·o, ∂E/∂b = Σ_n δ)."""
    return delta @ w, delta.T @ o, delta.sum(axis=0)


# --- activations ----------------------------------------------------------------------


def relu_forward(x):
    """max(x, 0); np.maximum passes NaN through, as torch.relu."""
    return np.maximum(x, 0).astype(x.dtype)


def relu_backward(x, delta):
    """f'(x) = 1 where x > 0, else 0 (0 at x = 0; δ passes where x is NaN, as PyTorch)."""
    return np.where(x <= 0, 0, delta).astype(delta.dtype)


def leaky_relu_forward(x, slope: float):
    return np.where(x > 0, x, x * x.dtype.type(slope)).astype(x.dtype)


def leaky_relu_backward(x, delta, slope: float):
    return np.where(x > 0, delta, delta * delta.dtype.type(slope)).astype(delta.dtype)


def sigmoid_forward(x):
    return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(x.dtype)


def sigmoid_backward(out, delta):
    """f'(x) = f(x)·(1 − f(x)), from the saved output."""
    return delta * out * (1 - out)


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(out, delta):
    """f'(x) = 1 − f(x)², from the saved output."""
    return delta * (1 - out * out)


# --- batch norm -----------------------------------------------------------------------


def _channel_axes(x) -> tuple[int, ...]:
    """The axes a channel's statistics run over: N, and H, W for batchnorm2d."""
    return (0, *range(2, x.ndim))


def _per_channel(v, ndim: int):
    """A (C,) vector shaped to broadcast over (N, C) or (N, C, H, W)."""
    return v.reshape(1, -1, *([1] * (ndim - 2)))


def batchnorm_forward(x, gamma, beta, eps: float):
    """Training mode: μ = mean of x, σ² = biased variance, per channel; y = γ·x̂ + β."""
    axes = _channel_axes(x)
    mean = x.astype(np.float64).mean(axis=axes)
    var = ((x - _per_channel(mean, x.ndim)) ** 2).mean(axis=axes)
    out, x_hat = batchnorm_forward_eval(x, gamma, beta, mean, var, eps)
    return out, x_hat, mean.astype(x.dtype), var.astype(x.dtype)


def batchnorm_forward_eval(x, gamma, beta, mean, var, eps: float):
    """x̂ = (x − μ)/√(σ² + ε) with the given statistics; y = γ·x̂ + β."""
    mu, sigma = _per_channel(mean, x.ndim), np.sqrt(_per_channel(var, x.ndim) + eps)
    x_hat = (x.astype(np.float64) - mu) / sigma
    out = _per_channel(gamma, x.ndim) * x_hat + _per_channel(beta, x.ndim)
    return out.astype(x.dtype), x_hat.astype(x.dtype)


def batchnorm_backward(delta, x_hat, gamma, var, eps: float, training: bool):
    """∂E/∂β = Σδ, ∂E/∂γ = Σδ·x̂, and ∂E/∂x.

    Training: x̂ depends on x also through μ and σ², which gives the three terms
    ∂E/∂x = γ/(m·σ)·(m·δ − Σδ − x̂·Σ(δ·x̂)), m values per channel. Eval: γ·δ/σ.
    """
    axes = _channel_axes(delta)
    m = delta.size // delta.shape[1]
    d = delta.astype(np.float64)
    sum_d, sum_dh = d.sum(axis=axes), (d * x_hat).sum(axis=axes)
    scale = _per_channel(gamma / np.sqrt(var.astype(np.float64) + eps), delta.ndim)
    if training:
        dims = delta.ndim
        grad = scale / m * (m * d - _per_channel(sum_d, dims) - x_hat * _per_channel(sum_dh, dims))
    else:
        grad = scale * d
    return grad.astype(delta.dtype), sum_dh.astype(gamma.dtype), sum_d.astype(gamma.dtype)


def batchnorm_update_running(running_mean, running_var, mean, var, momentum: float,
                             m: int) -> None:
    """In place: running ← (1 − momentum)·running + momentum·batch, the variance times
    m/(m − 1) (unbiased), as torch.nn.BatchNorm does. The kernel gives these bits."""
    running_mean[...] = (1 - momentum) * running_mean + momentum * mean
    running_var[...] = (1 - momentum) * running_var + momentum * var * (m / (m - 1))


def batchnorm_shifted_sums(x, shift, square: bool):
    """A share's part of the batch statistics: Σ (x − shift) per channel, squared if
    `square`, in float64."""
    d = x.astype(np.float64) - _per_channel(np.asarray(shift, np.float64), x.ndim)
    return (d * d if square else d).sum(axis=_channel_axes(x))


def batchnorm_delta_sums(delta, x_hat):
    """A share's part of ∂E/∂β and ∂E/∂γ: (Σδ, Σδ·x̂) per channel, shape (2, C), float64."""
    d, axes = delta.astype(np.float64), _channel_axes(delta)
    return np.stack([d.sum(axis=axes), (d * x_hat).sum(axis=axes)])


def batchnorm_backward_with_sums(delta, x_hat, gamma, var, eps: float, sums, m: int):
    """Training-mode ∂E/∂x = γ/(m·σ)·(m·δ − Σδ − x̂·Σ(δ·x̂)) with the whole batch's sums
    (over its m values per channel) given."""
    dims = delta.ndim
    scale = _per_channel(gamma / np.sqrt(var.astype(np.float64) + eps), dims)
    sum_d, sum_dh = (_per_channel(s, dims) for s in sums)
    grad = scale / m * (m * delta.astype(np.float64) - sum_d - x_hat * sum_dh)
    return grad.astype(delta.dtype)


# --- dropout --------------------------------------------------------------------------


def dropout_forward(x, mask, p: float):
    """Inverted dropout: y = x·mask/(1 − p) (mask: 1 kept, 0 dropped)."""
    return (x * mask / (1.0 - p)).astype(x.dtype)


def dropout_backward(delta, mask, p: float):
    """∂E/∂x = δ·mask/(1 − p)."""
    return (delta * mask / (1.0 - p)).astype(delta.dtype)


# --- the optimizer's update --------------------------------------------------------------


def sgd_update(w, g, lr: float) -> None:
    """w ← w − η·∂E/∂w in place."""
    w += -lr * g


# --- losses ---------------------------------------------------------------------------


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(z, y):
    """E = mean_n −log softmax(z_n)[y_n]; ∂E/∂z = (softmax(z) − onehot(y)) / N."""
    N, K = z.shape
    p = softmax(z.astype(np.float64))
    loss = -np.mean(np.log(p[np.arange(N), y]))
    grad = (p - np.eye(K)[y]) / N
    return float(loss), grad.astype(z.dtype)


def mse_loss(z, y):
    """E = mean_n ½·Σ_k (ŷ_k − t_k)² with t = onehot(y); ∂E/∂ŷ = (ŷ − t) / N."""
    N, K = z.shape
    diff = z.astype(np.float64) - np.eye(K)[y]
    loss = 0.5 * np.sum(diff * diff) / N
    return float(loss), (diff / N).astype(z.dtype)
