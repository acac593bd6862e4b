"""The Layer base class: a spec, live params, the latest grads and saved tensors.

Its own module, with the registry of layer types, so that `cnnviz.core.layers` (the plain
layers; it fills the registry) and `cnnviz.core.layers_blocks` (batch norm, dropout,
residual blocks, which build their inner layers) both build on it without importing each
other.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


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
        saved = self.saved
        saved["input"] = x
        saved["output"] = out
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


# layer type → class: filled by cnnviz.core.layers, which imports every layer module
LAYER_CLASSES: dict[str, type[Layer]] = {}


def build_layer(spec: Any, dtype: np.dtype) -> Layer:
    """The Layer object for one LayerSpec."""
    return LAYER_CLASSES[spec.type](spec, dtype)
