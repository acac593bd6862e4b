"""Network: a spec turned into layers, with passes, training steps and state dicts.

Parameters are named like a PyTorch `nn.Sequential` state_dict: "<layer index>.weight"
and "<layer index>.bias", "3.body.0.weight" inside a residual block; batch norm's buffers
"<i>.running_mean" / "<i>.running_var" are in the state dict too, but not in `params()`,
the gradients or the optimizers. `run_pass` records every tensor a panel may show; the
stepper in `cnnviz.engine` runs the very same layer calls one at a time. A new network is
in training mode (`train()` / `eval()` switch, as in PyTorch).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnviz.core.layers import Dropout, Layer, build_layer, initialise, iter_layers
from cnnviz.core.losses import LOSSES
from cnnviz.core.spec import NetworkSpec, parse_spec

DTYPES = {"float32": np.float32, "float64": np.float64}
DROPOUT_STREAM = 2**31 - 1  # the masks' generator: default_rng([seed, DROPOUT_STREAM])


@dataclass
class PassResult:
    """Everything one forward + loss + backward pass computed (no update)."""

    loss: float
    input: np.ndarray
    outputs: list[np.ndarray]
    output_grads: list[np.ndarray]
    input_grad: np.ndarray
    grads: dict[str, np.ndarray]
    pool_argmax: dict[int, np.ndarray] = field(default_factory=dict)


def _resolve_dtype(dtype: Any) -> np.dtype:
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not supported; use float32 or float64")
    return np.dtype(DTYPES[name])


class Network:
    """A feed-forward CNN built from a NetworkSpec (see DESIGN.md, public core interface)."""

    def __init__(self, spec: NetworkSpec, seed: int = 0, dtype: Any = "float32") -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a whole number ≥ 0, got {seed!r}")
        self.spec = spec
        self.seed = int(seed)
        self.dtype = _resolve_dtype(dtype)
        self.layers: list[Layer] = [build_layer(s, self.dtype) for s in spec.layers]
        for k, layer in enumerate(self.layers):
            following = spec.layers[k + 1] if k + 1 < len(spec.layers) else None
            initialise(layer, following, self.seed)
        self._loss = LOSSES[spec.loss]
        self.rng = np.random.default_rng([self.seed, DROPOUT_STREAM])
        for layer in iter_layers(self.layers):
            if isinstance(layer, Dropout):
                layer.rng = self.rng
        self.training = True

    # --- modes --------------------------------------------------------------------

    def train(self, mode: bool = True) -> Network:
        """Training mode (batch statistics, dropout on), or eval mode with mode=False."""
        self.training = bool(mode)
        for layer in self.layers:
            layer.set_training(self.training)
        return self

    def eval(self) -> Network:
        """Eval mode: batch norm uses its running statistics, dropout is the identity."""
        return self.train(False)

    @classmethod
    def from_spec(
        cls, spec: NetworkSpec | dict | str | os.PathLike, seed: int = 0, dtype: Any = "float32"
    ) -> Network:
        """Build from a NetworkSpec, a dict, a JSON string or a path; raises SpecError."""
        if not isinstance(spec, NetworkSpec):
            spec = parse_spec(spec)
        return cls(spec, seed=seed, dtype=dtype)

    # --- parameters ---------------------------------------------------------------

    def params(self) -> dict[str, np.ndarray]:
        """The live trainable arrays, keyed "<index>.weight" / "<index>.bias"."""
        return self._named("params")

    def buffers(self) -> dict[str, np.ndarray]:
        """The live running statistics, keyed "<index>.running_mean" / "….running_var"."""
        return self._named("buffers")

    def _named(self, attribute: str) -> dict[str, np.ndarray]:
        """Every layer's arrays of one kind, keyed "<index>.<name>" with keys formatted once
        (`_layer_keys`): formatting and hashing fresh keys, and visiting the layers without
        arrays, took ~4.5 of the ~8 µs that `params()` and `grads()` cost a batch-1 step."""
        named: dict[str, np.ndarray] = {}
        try:
            for layer, keys in self._layer_keys():
                for name, array in getattr(layer, attribute).items():
                    named[keys[name]] = array
        except KeyError:  # a name the table has not seen: make the table again
            self._keys = None
            return self._named(attribute)
        return named

    def _layer_keys(self) -> list[tuple[Layer, dict[str, str]]]:
        """(layer, {name: "<index>.<name>"}) for the layers with parameters or buffers (the
        others have no gradients either), made again when `layers` or one of its layers
        is another object."""
        held, layers = self.__dict__.get("_keys"), self.layers
        if held is None or held[0] is not layers or held[1] != tuple(layers):
            table = [(layer, {name: f"{layer.index}.{name}"
                              for name in (*layer.params, *layer.buffers, *layer.grads)})
                     for layer in layers if layer.params or layer.buffers or layer.grads]
            held = self._keys = (layers, tuple(layers), table)
        return held[2]

    def grads(self) -> dict[str, np.ndarray]:
        """The gradients of the latest backward pass, keyed like params()."""
        return self._named("grads")

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer array."""
        return {name: array.copy() for name, array in {**self.params(), **self.buffers()}.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters and buffers; names and shapes must match exactly."""
        params = {**self.params(), **self.buffers()}
        missing = sorted(set(params) - set(state))
        unexpected = sorted(set(state) - set(params))
        if missing or unexpected:
            raise ValueError(
                f"state dict does not fit this network: missing {missing}, unexpected {unexpected}"
            )
        for name, array in params.items():
            value = np.asarray(state[name])
            if value.shape != array.shape:
                raise ValueError(
                    f"state dict entry {name!r} has shape {value.shape}; "
                    f"this network needs {array.shape}"
                )
        for name, array in params.items():
            array[...] = np.asarray(state[name], dtype=self.dtype)

    @property
    def num_params(self) -> int:
        return int(sum(a.size for a in self.params().values()))

    # --- inputs -------------------------------------------------------------------

    def prepare_input(self, x: Any) -> np.ndarray:
        """(C, H, W) or (N, C, H, W) → a contiguous (N, C, H, W) array of the net's dtype."""
        x = np.asarray(x)
        expected = tuple(self.spec.input_shape)
        if x.shape == expected:
            x = x[None]
        if x.ndim != 4 or x.shape[1:] != expected or x.shape[0] < 1:
            raise ValueError(
                f"input has shape {x.shape}; this network takes {expected} or (N, *{expected})"
            )
        if not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"input has dtype {x.dtype}; expected numbers")
        return np.ascontiguousarray(x, dtype=self.dtype)

    def prepare_labels(self, y: Any, n: int) -> np.ndarray:
        """Integer labels (n,) in [0, num_classes), as int64."""
        y = np.atleast_1d(np.asarray(y))
        if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"labels must be {n} integers; got shape {y.shape}, dtype {y.dtype}")
        classes = self.spec.num_classes
        if y.size and not self._labels_fit(y, classes):
            raise ValueError(f"labels must lie in 0..{classes - 1}; got {y.min()}..{y.max()}")
        return y.astype(np.int64)

    @staticmethod
    def _labels_fit(y: np.ndarray, classes: int) -> bool:
        """Whether the (non-empty) labels lie in 0..classes − 1; a small batch is checked
        in Python (two NumPy reductions cost ~2 µs of a 0.5 ms step at batch 1)."""
        values = y.tolist() if y.size <= 64 else (y.min(), y.max())
        return min(values) >= 0 and max(values) < classes

    # --- passes -------------------------------------------------------------------

    def compute_loss(self, logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """(mean loss, ∂E/∂logits) with the spec's loss."""
        return self._loss(logits, y)

    def forward(self, x: Any) -> np.ndarray:
        """The last layer's output (logits) for x."""
        out = self.prepare_input(x)
        for layer in self.layers:
            out = layer.forward(out)
        return out

    def run_pass(self, x: Any, y: Any) -> PassResult:
        """Forward + loss + backward, recording every tensor; no update."""
        x = self.prepare_input(x)
        y = self.prepare_labels(y, x.shape[0])
        outputs = []
        out = x
        for layer in self.layers:
            out = layer.forward(out)
            outputs.append(out)
        loss, grad = self.compute_loss(out, y)
        output_grads: list[np.ndarray] = [None] * len(self.layers)  # type: ignore[list-item]
        for layer in reversed(self.layers):
            output_grads[layer.index] = grad
            grad = layer.backward(grad)
        argmax = {l.index: l.saved["argmax"] for l in self.layers if "argmax" in l.saved}
        return PassResult(loss, x, outputs, output_grads, grad, self.grads(), argmax)

    def train_step(self, x: Any, y: Any, opt: Any) -> float:
        """One pass and one optimizer update of this network's own arrays; returns the loss.

        Exactly `run_pass` plus the update (the stepper's U gives the same bits); the
        trainer's faster step in shares is `cnnviz.core.parallel_step.train_step`.
        """
        x = self.prepare_input(x)
        return self.train_step_prepared(x, self.prepare_labels(y, x.shape[0]), opt)

    def train_step_prepared(self, x: np.ndarray, y: np.ndarray, opt: Any) -> float:
        """`train_step` of an input and labels `prepare_input` / `prepare_labels` made
        (the trainer's step has them already: checking again cost ~2 µs at batch 1)."""
        layers = self.layers
        out = x
        for layer in layers:
            out = layer.forward(out)
        loss, grad = self.compute_loss(out, y)
        first = layers[0]
        for layer in reversed(layers):
            grad = layer.backward(grad, layer is not first)
        opt.step(self.params(), self.grads())
        return loss

    def __repr__(self) -> str:
        kinds = ", ".join(layer.type for layer in self.layers)
        return f"Network([{kinds}], dtype={self.dtype.name}, params={self.num_params})"


def transfer_matching_weights(source: Network, target: Network) -> list[int]:
    """Copy weights from source into target layers of the same type and shapes.

    Layers are matched by index first, then by their order among layers with
    parameters (so inserting an activation keeps the weights after it). Returns the
    indices of target layers that kept weights.
    """
    kept = []
    src_by_index = {layer.index: layer for layer in source.layers if layer.params}
    src_ordered = [layer for layer in source.layers if layer.params]
    tgt_ordered = [layer for layer in target.layers if layer.params]
    for rank, layer in enumerate(tgt_ordered):
        candidates = [src_by_index.get(layer.index)]
        candidates.append(src_ordered[rank] if rank < len(src_ordered) else None)
        for src in candidates:
            if src is not None and _same_shapes(src, layer):
                for name, array in {**layer.params, **layer.buffers}.items():
                    array[...] = {**src.params, **src.buffers}[name].astype(target.dtype)
                kept.append(layer.index)
                break
    return kept


def _same_shapes(a: Layer, b: Layer) -> bool:
    return a.type == b.type and all(
        name in a.params and a.params[name].shape == array.shape for name, array in b.params.items()
    )
