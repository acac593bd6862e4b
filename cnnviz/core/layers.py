"""Layer classes: forward(x) saves what backward needs; backward(delta) returns ∂E/∂input.

Each layer wraps the kernels of its op family. `params` holds the live weight and bias
arrays, `buffers` the running statistics of batch norm (state, not trained), `grads` the
gradients of the latest backward pass, `saved` the tensors of the latest forward pass
("input", "output", "argmax" for max pooling, "mean"/"var"/"x_hat" for batch norm,
"mask" for dropout) — the stepper and the panels read them, so they are exactly what the
kernels computed. `training` selects PyTorch's train or eval behaviour.

The base class, the registry `LAYER_CLASSES` (filled here) and `build_layer` are in
`cnnviz.core.layers_base`; batch norm, dropout and residual blocks are in
`cnnviz.core.layers_blocks`; all are re-exported here. Importing any `cnnviz.core` module
imports this one (through the package's `network`), so the registry is always complete.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnviz.core import kernels as K
from cnnviz.core.layers_base import LAYER_CLASSES, Layer, build_layer
from cnnviz.core.layers_blocks import (
    BatchNorm,
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    Residual,
)

__all__ = ["LAYER_CLASSES", "AvgPool2d", "BatchNorm", "BatchNorm1d", "BatchNorm2d", "Conv2d",
           "Dense", "Dropout", "Flatten", "Layer", "LeakyReLU", "MaxPool2d", "ReLU", "Residual",
           "Sigmoid", "Tanh", "build_layer", "initialise", "iter_layers"]


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


LAYER_CLASSES.update({  # the registry lives in layers_base, where Residual builds from it
    cls.type: cls
    for cls in (Conv2d, Dense, MaxPool2d, AvgPool2d, ReLU, LeakyReLU, Sigmoid, Tanh, Flatten)
    + (BatchNorm2d, BatchNorm1d, Dropout, Residual)
})


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
