"""Batch norm, dropout and residual blocks: the layers with more state than their params.

Batch norm keeps running statistics and, in a share of a data-parallel step, exchanges
batch sums (core/batch_sync.py); dropout draws masks from the network's generator; a
residual block holds two branches of inner layers. Re-exported by `cnnviz.core.layers`,
whose registry `LAYER_CLASSES` lists them with the others.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnviz.core import kernels as K
from cnnviz.core.batch_sync import Share, batch_delta_sums, batch_moments, current_share
from cnnviz.core.layers_base import Layer, build_layer


class BatchNorm(Layer):
    """Batch norm per channel (2d) or feature (1d), as torch.nn.BatchNorm2d / BatchNorm1d.

    Training mode normalises with the batch mean and biased variance and moves the
    running statistics towards them (the running variance takes the unbiased batch
    variance); eval mode normalises with the running statistics. γ = weight, β = bias.
    """

    def __init__(self, spec: Any, dtype: np.dtype) -> None:
        super().__init__(spec, dtype)
        self.params["weight"][...] = 1
        self.buffers["running_var"][...] = 1

    def _forward(self, x):
        params, training = self.params, self.training
        self._normalised_with_batch = training
        share = current_share() if training else None
        if share is not None:
            out, x_hat, mean, var = self._forward_in_share(x, share)
        elif training:
            out, x_hat, mean, var = K.batchnorm_forward(x, params["weight"], params["bias"],
                                                        self.config["eps"])
            self._update_running(mean, var, x.size // x.shape[1])
        else:
            buffers = self.buffers
            mean, var = buffers["running_mean"].copy(), buffers["running_var"].copy()
            out, x_hat = K.batchnorm_forward_eval(x, params["weight"], params["bias"], mean, var,
                                                  self.config["eps"])
        saved = self.saved  # stored one by one: `update` with keywords builds a dict first
        saved["mean"], saved["var"], saved["x_hat"] = mean, var, x_hat
        return out

    def _forward_in_share(self, x: np.ndarray, share: Share) -> tuple[np.ndarray, ...]:
        """Training mode in a share of a step (core/batch_sync.py): normalised with the
        whole batch's statistics; share 0 alone moves the running ones (shared arrays)."""
        mean, var, self._batch_count = batch_moments(x, share.sync)
        self._check_count(self._batch_count)
        if share.index == 0:
            self._update_running(mean, var, self._batch_count)
        gamma, beta, eps = self.params["weight"], self.params["bias"], self.config["eps"]
        return (*K.batchnorm_forward_eval(x, gamma, beta, mean, var, eps), mean, var)

    def _check_count(self, m: int) -> None:
        """A variance needs more than one value per channel."""
        if m < 2:
            raise ValueError(
                f"layer {self.key} ({self.type}): training mode needs more than 1 value per "
                f"channel to estimate a variance, got {m} (batch 1); use a larger batch or "
                "eval mode"
            )

    def _update_running(self, mean: np.ndarray, var: np.ndarray, m: int) -> None:
        """running ← (1 − momentum)·running + momentum·batch; the variance unbiased, m/(m − 1)."""
        self._check_count(m)
        buffers = self.buffers  # in place: replicas of a data-parallel step share them
        K.batchnorm_update_running(buffers["running_mean"], buffers["running_var"], mean, var,
                                   self.config["momentum"], m)

    def _backward(self, grad_out, need_input_grad):
        with_batch = self._normalised_with_batch
        share = current_share() if with_batch else None
        if share is not None:
            return self._backward_in_share(grad_out, share)
        s = self.saved
        grad_x, grad_gamma, grad_beta = K.batchnorm_backward(
            grad_out, s["x_hat"], self.params["weight"], s["var"], self.config["eps"], with_batch
        )
        self.grads = {"weight": grad_gamma, "bias": grad_beta}
        return grad_x

    def _backward_in_share(self, grad_out: np.ndarray, share: Share) -> np.ndarray:
        """∂E/∂x of the share from the whole batch's Σδ and Σδ·x̂. ∂E/∂γ and ∂E/∂β are
        those whole sums in share 0 and zero in the others: the step adds the shares'."""
        s, gamma, eps = self.saved, self.params["weight"], self.config["eps"]
        sums = batch_delta_sums(grad_out, s["x_hat"], share.sync)
        grad_x = K.batchnorm_backward_with_sums(
            grad_out, s["x_hat"], gamma, s["var"], eps, sums, self._batch_count)
        own = sums if share.index == 0 else np.zeros_like(sums)
        self.grads = {"weight": own[1].astype(gamma.dtype), "bias": own[0].astype(gamma.dtype)}
        return grad_x


class BatchNorm2d(BatchNorm):
    type = "batchnorm2d"


class BatchNorm1d(BatchNorm):
    type = "batchnorm1d"


class Dropout(Layer):
    """Inverted dropout: training mode keeps each unit with probability 1 − p and scales
    kept ones by 1/(1 − p); eval mode is the identity.

    Masks come from `rng`, the network's own seeded generator. `fixed_mask`, when set,
    is used instead of a fresh draw (gradient checks nudge inputs under one mask).
    """

    type = "dropout"

    def __init__(self, spec: Any, dtype: np.dtype) -> None:
        super().__init__(spec, dtype)
        self.rng: np.random.Generator = np.random.default_rng(0)
        self.fixed_mask: np.ndarray | None = None

    def _forward(self, x):
        p = self.config["p"]
        self.saved.pop("mask", None)
        if not self.training:
            return x.copy()
        mask = self.fixed_mask
        if mask is None:
            mask = (self.rng.random(x.shape) >= p).astype(x.dtype)
        self.saved["mask"] = mask
        return K.dropout_forward(x, mask, p)

    def _backward(self, grad_out, need_input_grad):
        if "mask" not in self.saved:  # the forward pass ran in eval mode
            return grad_out.copy()
        return K.dropout_backward(grad_out, self.saved["mask"], self.config["p"])


class Residual(Layer):
    """A residual block: output = body(x) + shortcut(x), the shortcut being the identity
    when it has no layers. Its params, buffers and grads are those of its inner layers,
    named "body.<j>.<name>" / "shortcut.<j>.<name>".
    """

    type = "residual"

    def __init__(self, spec: Any, dtype: np.dtype) -> None:
        super().__init__(spec, dtype)
        self.body = [build_layer(s, dtype) for s in spec.body]
        self.shortcut = [build_layer(s, dtype) for s in spec.shortcut]
        self.params = self._gather("params")
        self.buffers = self._gather("buffers")

    def inner(self) -> list[tuple[str, Layer]]:
        """("body.0", layer), …, ("shortcut.0", layer), … in spec order."""
        named = [(f"body.{j}", layer) for j, layer in enumerate(self.body)]
        return named + [(f"shortcut.{j}", layer) for j, layer in enumerate(self.shortcut)]

    def _gather(self, attribute: str) -> dict[str, np.ndarray]:
        """One dict of the inner layers' arrays, keyed "<branch>.<j>.<name>"."""
        return {
            prefix + name: array
            for prefix, layer in self._prefixed()
            for name, array in getattr(layer, attribute).items()
        }

    def _prefixed(self) -> list[tuple[str, Layer]]:
        """("body.0.", layer), … as `inner()`, kept while the branch lists stay the same
        (a replica of the block gets its own lists): the gradients are gathered after
        every backward pass, and formatting the names took half of it."""
        held = self.__dict__.get("_prefixes")
        if held is None or held[0] is not self.body or held[1] is not self.shortcut:
            held = (self.body, self.shortcut, [(f"{p}.", layer) for p, layer in self.inner()])
            self._prefixes = held
        return held[2]

    def inner_grads(self) -> dict[str, np.ndarray]:
        """The inner layers' latest gradients, keyed "body.0.weight" (the stepper sets them).
        Only layers with parameters have gradients; their keys are formatted once (as
        `_gather` does it: 1.5 µs of a block's backward pass at batch 1, now 1.0)."""
        named: dict[str, np.ndarray] = {}
        for layer, keys in self._grad_keys():
            for name, array in layer.grads.items():
                named[keys[name]] = array
        return named

    def _grad_keys(self) -> list[tuple[Layer, dict[str, str]]]:
        """(layer, {param name: key}) of the inner layers with parameters (a gradient is
        named after its parameter), kept while `_prefixed()` stays the same."""
        prefixed = self._prefixed()
        held = self.__dict__.get("_grad_key_table")
        if held is None or held[0] is not prefixed:
            table = [(layer, {name: prefix + name for name in layer.params})
                     for prefix, layer in prefixed if layer.params]
            held = self._grad_key_table = (prefixed, table)
        return held[1]

    def set_training(self, mode: bool) -> None:
        super().set_training(mode)
        for _, layer in self.inner():
            layer.set_training(mode)

    def _forward(self, x):
        body = _forward_all(self.body, x)
        shortcut = _forward_all(self.shortcut, x)
        saved = self.saved  # stored one by one: `update` with keywords builds a dict first
        saved["body_output"], saved["shortcut_output"] = body, shortcut
        return body + shortcut

    def _backward(self, grad_out, need_input_grad):
        # the addition copies δ to both branches; the input gradient sums theirs
        grad_body = _backward_all(self.body, grad_out, need_input_grad)
        grad_shortcut = _backward_all(self.shortcut, grad_out, need_input_grad)
        self.grads = self.inner_grads()
        return grad_body + grad_shortcut if need_input_grad else None


def _forward_all(layers: list[Layer], x: np.ndarray) -> np.ndarray:
    """x through the layers in order (no layers: x itself, the identity)."""
    for layer in layers:
        x = layer.forward(x)
    return x


def _backward_all(layers: list[Layer], grad: np.ndarray, need_input_grad: bool) -> Any:
    """δ back through the layers in reverse; the first one's input gradient only if needed."""
    for layer in reversed(layers):
        grad = layer.backward(grad, need_input_grad or layer is not layers[0])
    return grad
