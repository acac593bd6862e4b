"""Layer classes: forward(x) saves what backward needs; backward(delta) returns ∂E/∂input.

Each layer wraps the kernels of its op family. `params` holds the live weight and bias
arrays, `grads` the gradients of the latest backward pass, `saved` the tensors of the
latest forward pass ("input", "output", and "argmax" for max pooling) — the stepper and
the panels read them, so they are exactly what the kernels computed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from cnnviz.core import kernels as K


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
        self.params: dict[str, np.ndarray] = {
            name: np.zeros(shape, dtype=self.dtype) for name, shape in spec.param_shapes.items()
        }
        self.grads: dict[str, np.ndarray] = {}
        self.saved: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output for input x (N, *in_shape) and save what backward needs."""
        out = self._forward(x)
        self.saved["input"] = x
        self.saved["output"] = out
        return out

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Fill `grads` and return ∂E/∂input (None when not needed and not free)."""
        if "input" not in self.saved:
            raise RuntimeError(f"layer {self.index} ({self.type}): backward before forward")
        return self._backward(grad_out, need_input_grad)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, grad_out: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index}, out_shape={self.out_shape})"


class Conv2d(Layer):
    type = "conv2d"

    def _forward(self, x):
        w, b = self.params["weight"], self.params["bias"]
        self._taps: dict = {}  # im2col matrices of this input, reused by backward
        return K.conv2d_forward(x, w, b, self.config["stride"], self.config["padding"], self._taps)

    def _backward(self, grad_out, need_input_grad):
        x, w = self.saved["input"], self.params["weight"]
        stride, padding = self.config["stride"], self.config["padding"]
        gw, gb = K.conv2d_backward_params(x, grad_out, w.shape, stride, padding, self._taps)
        self.grads = {"weight": gw, "bias": gb}
        if not need_input_grad:
            return None
        return K.conv2d_backward_input(grad_out, w, x.shape, stride, padding)


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


LAYER_CLASSES: dict[str, type[Layer]] = {
    cls.type: cls
    for cls in (Conv2d, Dense, MaxPool2d, AvgPool2d, ReLU, LeakyReLU, Sigmoid, Tanh, Flatten)
}


def build_layer(spec: Any, dtype: np.dtype) -> Layer:
    """The Layer object for one LayerSpec."""
    return LAYER_CLASSES[spec.type](spec, dtype)


def initialise(layer: Layer, next_spec: Any | None, seed: int) -> None:
    """Seeded init: He-normal before relu / leaky_relu, Glorot-uniform otherwise; zero bias.

    Each layer draws from its own stream, `default_rng([seed, index])` (PCG64), so the
    same seed gives the same weights on every machine, and editing one layer leaves the
    initial weights of the others unchanged.
    """
    if "weight" not in layer.params:
        return
    w = layer.params["weight"]
    receptive = int(np.prod(w.shape[2:])) if w.ndim > 2 else 1
    fan_in, fan_out = w.shape[1] * receptive, w.shape[0] * receptive
    rng = np.random.default_rng([seed, layer.index])
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
