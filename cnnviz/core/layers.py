"""Layer classes: forward(x) saves what backward needs; backward(delta) returns ∂E/∂input.

Each layer wraps the kernels of its op family. `params` holds the live weight and bias
arrays, `buffers` the running statistics of batch norm (state, not trained), `grads` the
gradients of the latest backward pass, `saved` the tensors of the latest forward pass
("input", "output", "argmax" for max pooling, "mean"/"var"/"x_hat" for batch norm,
"mask" for dropout) — the stepper and the panels read them, so they are exactly what the
kernels computed. `training` selects PyTorch's train or eval behaviour.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from cnnviz.core import kernels as K
from cnnviz.core.batch_sync import Share, batch_delta_sums, batch_moments, current_share


class Layer:
    """Base class: a spec, live params, the latest grads and saved tensors."""

    type: ClassVar[str] = ""

    def __init__(self, spec: Any, dtype: np.dtype) -> None:
        self.spec = spec
        self.index: int = spec.index
        self.config: dict = dict(spec.config)
        self.in_shape: tuple[int, ...] = tuple(spec.in_shape)
        self.out_shape: tuple[int, ...] = tuple(spec.out_shape)
        self.dtype = np.dtype(dtype)
        self.key: str = spec.key  # the name prefix of its parameters: "3" or "3.body.0"
        self.params: dict[str, np.ndarray] = self._zeros(spec.param_shapes)
        self.buffers: dict[str, np.ndarray] = self._zeros(spec.buffer_shapes)
        self.grads: dict[str, np.ndarray] = {}
        self.saved: dict[str, np.ndarray] = {}
        self.training = True

    def _zeros(self, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
        """A zero array of the layer's dtype per named shape."""
        return {name: np.zeros(shape, dtype=self.dtype) for name, shape in shapes.items()}

    @property
    def stream(self) -> tuple[int, ...]:
        """Where this layer's init draws from: (3,), or (3, branch, j) inside block 3."""
        if not self.spec.path:
            return (self.index,)
        block, branch, j = self.spec.path.split(".")
        return (int(block), 0 if branch == "body" else 1, int(j))

    def set_training(self, mode: bool) -> None:
        """Train (True) or eval (False) behaviour from the next forward pass on."""
        self.training = bool(mode)
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output for input x (N, *in_shape) and save what backward needs."""
        out = self._forward(x)
        self.saved["input"] = x
        self.saved["output"] = out
        return out

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Fill `grads` and return ∂E/∂input (None when not needed and not free)."""
        if "input" not in self.saved:
            raise RuntimeError(f"layer {self.key} ({self.type}): backward before forward")
        return self._backward(grad_out, need_input_grad)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, grad_out: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index}, out_shape={self.out_shape})"


class Conv2d(Layer):
    type = "conv2d"
    _plan: Any = None  # the passes for the last input shape (kernels/conv.py `plan`)

    def _forward(self, x):
        w, b = self.params["weight"], self.params["bias"]
        plan = self._plan
        if plan is None or plan.input_shape != x.shape or plan.weight_shape != w.shape:
            c = self.config
            plan = self._plan = K.conv.plan(x.shape, w.shape, c["stride"], c["padding"])
        self._taps: dict = {}  # im2col matrices of this input, reused by backward
        return plan.forward(x, w, b, self._taps)

    def _backward(self, grad_out, need_input_grad):
        x, w = self.saved["input"], self.params["weight"]
        gw, gb = self._plan.grad_params(x, grad_out, self._taps)
        self.grads = {"weight": gw, "bias": gb}
        if not need_input_grad:
            return None
        return self._plan.grad_input(grad_out, w, self._taps)


class Dense(Layer):
    type = "dense"

    def _forward(self, x):
        return K.dense_forward(x, self.params["weight"], self.params["bias"])

    def _backward(self, grad_out, need_input_grad):
        gw, gb = K.dense_backward_params(self.saved["input"], grad_out)
        self.grads = {"weight": gw, "bias": gb}
        if not need_input_grad:
            return None
        return K.dense_backward_input(grad_out, self.params["weight"])


class MaxPool2d(Layer):
    type = "maxpool2d"

    def _forward(self, x):
        c = self.config
        out, argmax = K.maxpool2d_forward(x, c["kernel_size"], c["stride"], c["padding"])
        self.saved["argmax"] = argmax
        return out

    def _backward(self, grad_out, need_input_grad):
        return K.maxpool2d_backward(grad_out, self.saved["argmax"], self.saved["input"].shape)


class AvgPool2d(Layer):
    type = "avgpool2d"

    def _forward(self, x):
        c = self.config
        return K.avgpool2d_forward(x, c["kernel_size"], c["stride"], c["padding"])

    def _backward(self, grad_out, need_input_grad):
        c = self.config
        shape = self.saved["input"].shape
        return K.avgpool2d_backward(grad_out, shape, c["kernel_size"], c["stride"], c["padding"])


class ReLU(Layer):
    type = "relu"

    def _forward(self, x):
        return K.relu_forward(x)

    def _backward(self, grad_out, need_input_grad):
        return K.relu_backward(self.saved["input"], grad_out)


class LeakyReLU(Layer):
    type = "leaky_relu"

    def _forward(self, x):
        return K.leaky_relu_forward(x, self.config["negative_slope"])

    def _backward(self, grad_out, need_input_grad):
        return K.leaky_relu_backward(self.saved["input"], grad_out, self.config["negative_slope"])


class Sigmoid(Layer):
    type = "sigmoid"

    def _forward(self, x):
        return K.sigmoid_forward(x)

    def _backward(self, grad_out, need_input_grad):
        return K.sigmoid_backward(self.saved["output"], grad_out)


class Tanh(Layer):
    type = "tanh"

    def _forward(self, x):
        return K.tanh_forward(x)

    def _backward(self, grad_out, need_input_grad):
        return K.tanh_backward(self.saved["output"], grad_out)


class Flatten(Layer):
    """(N, C, H, W) → (N, C·H·W) in C order."""

    type = "flatten"

    def _forward(self, x):
        return np.ascontiguousarray(x).reshape(x.shape[0], -1)

    def _backward(self, grad_out, need_input_grad):
        return grad_out.reshape(self.saved["input"].shape)


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
        gamma, beta, eps = self.params["weight"], self.params["bias"], self.config["eps"]
        self._normalised_with_batch = self.training
        share = current_share() if self.training else None
        if share is not None:
            out, x_hat, mean, var = self._forward_in_share(x, share)
        elif self.training:
            out, x_hat, mean, var = K.batchnorm_forward(x, gamma, beta, eps)
            self._update_running(mean, var, x.size // x.shape[1])
        else:
            mean, var = self.buffers["running_mean"].copy(), self.buffers["running_var"].copy()
            out, x_hat = K.batchnorm_forward_eval(x, gamma, beta, mean, var, eps)
        self.saved.update(mean=mean, var=var, x_hat=x_hat)
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
        gamma, eps = self.params["weight"], self.config["eps"]
        s = self.saved
        share = current_share() if self._normalised_with_batch else None
        if share is not None:
            return self._backward_in_share(grad_out, share)
        grad_x, grad_gamma, grad_beta = K.batchnorm_backward(
            grad_out, s["x_hat"], gamma, s["var"], eps, self._normalised_with_batch
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
        self.saved.update(body_output=body, shortcut_output=shortcut)
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


LAYER_CLASSES: dict[str, type[Layer]] = {
    cls.type: cls
    for cls in (Conv2d, Dense, MaxPool2d, AvgPool2d, ReLU, LeakyReLU, Sigmoid, Tanh, Flatten)
    + (BatchNorm2d, BatchNorm1d, Dropout, Residual)
}


def build_layer(spec: Any, dtype: np.dtype) -> Layer:
    """The Layer object for one LayerSpec."""
    return LAYER_CLASSES[spec.type](spec, dtype)


def iter_layers(layers: list[Layer]) -> list[Layer]:
    """Every layer, those inside residual blocks included, in spec order."""
    found: list[Layer] = []
    for layer in layers:
        found.append(layer)
        if isinstance(layer, Residual):
            found.extend(inner for _, inner in layer.inner())
    return found


def initialise(layer: Layer, next_spec: Any | None, seed: int) -> None:
    """Seeded init: He-normal before relu / leaky_relu, Glorot-uniform otherwise; zero bias.

    Each layer draws from its own stream, `default_rng([seed, *layer.stream])` (PCG64),
    so the same seed gives the same weights on every machine, and editing one layer
    leaves the initial weights of the others unchanged. Inside a block, the layer after
    a branch's last layer is the one after the block. Batch norm starts at γ = 1, β = 0.
    """
    if isinstance(layer, Residual):
        for branch in (layer.body, layer.shortcut):
            for j, inner in enumerate(branch):
                initialise(inner, branch[j + 1].spec if j + 1 < len(branch) else next_spec, seed)
        return
    if not isinstance(layer, (Conv2d, Dense)):
        return
    w = layer.params["weight"]
    receptive = int(np.prod(w.shape[2:])) if w.ndim > 2 else 1
    fan_in, fan_out = w.shape[1] * receptive, w.shape[0] * receptive
    rng = np.random.default_rng([seed, *layer.stream])
    next_type = next_spec.type if next_spec is not None else None
    if next_type in ("relu", "leaky_relu"):
        slope = float(next_spec.config.get("negative_slope", 0.0))
        std = np.sqrt(2.0 / ((1.0 + slope**2) * fan_in))
        values = rng.standard_normal(w.shape) * std
    else:
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        values = rng.uniform(-limit, limit, size=w.shape)
    w[...] = values.astype(layer.dtype)
    layer.params["bias"][...] = 0
