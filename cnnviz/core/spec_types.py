"""The checked forms of a spec (LayerSpec, NetworkSpec), SpecError, and message helpers."""

from __future__ import annotations

import difflib
import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

MAX_LAYERS = 64
MAX_ELEMENTS = 50_000_000  # per tensor: one example's layer output, or one parameter tensor
_Shape = tuple[int, ...]
_Inferred = tuple[_Shape, dict, str]  # output shape, parameter shapes, formula


class SpecError(ValueError):
    """A mistake in a network spec; the only exception `parse_spec` raises."""


@dataclass(frozen=True, eq=True)
class LayerSpec:
    """One checked layer: its normalised config and the shapes it reads and writes."""

    index: int
    type: str
    config: dict
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    param_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    formula: str = ""
    buffer_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    body: tuple[LayerSpec, ...] = ()  # a residual block's layers
    shortcut: tuple[LayerSpec, ...] = ()  # empty: the identity
    path: str = ""  # "3.body.0" inside a block, "" at the top level

    @property
    def key(self) -> str:
        """The name prefix of this layer's parameters: "3" or "3.body.0"."""
        return self.path or str(self.index)

    @property
    def param_count(self) -> int:
        """Number of trainable numbers in this layer."""
        return sum(math.prod(shape) for shape in self.param_shapes.values())

    def to_dict(self) -> dict:
        """The canonical JSON form: every field written, a pair as an int when h == w."""
        if self.type == "residual":
            shortcut = [s.to_dict() for s in self.shortcut] if self.shortcut else "identity"
            return {"type": self.type, "body": [b.to_dict() for b in self.body],
                    "shortcut": shortcut}
        fields = {k: _pair_json(v) if isinstance(v, tuple) else v for k, v in self.config.items()}
        return {"type": self.type, **fields}


@dataclass(frozen=True, eq=True)
class NetworkSpec:
    """A checked network: input shape, layers with inferred shapes, and the loss."""

    input_shape: tuple[int, int, int]
    layers: tuple[LayerSpec, ...]
    loss: str

    @property
    def num_classes(self) -> int:
        """Size of the last layer's output: one score per class."""
        return self.layers[-1].out_shape[0]

    @property
    def param_count(self) -> int:
        """Number of trainable numbers in the whole network."""
        return sum(layer.param_count for layer in self.layers)

    def to_dict(self) -> dict:
        """A canonical JSON-able spec; `parse_spec(s.to_dict()) == s`."""
        layers = [layer.to_dict() for layer in self.layers]
        return {"input": list(self.input_shape), "layers": layers, "loss": self.loss}

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of every state_dict entry: parameters and buffers, "3.body.0.weight"."""
        return {
            f"{layer.index}.{name}": shape
            for layer in self.layers
            for name, shape in {**layer.param_shapes, **layer.buffer_shapes}.items()
        }


def _show(value: Any) -> str:
    """The value as the user wrote it (JSON when possible), cut short for a message."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):  # odd keys, too deep, an int too long
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown(where: str, what: str, given: Any, allowed: Any) -> SpecError:
    """An 'unknown <what>' error with the close match (difflib) and the allowed names."""
    close = difflib.get_close_matches(given, list(allowed), n=1) if isinstance(given, str) else []
    hint = f"; did you mean '{close[0]}'?" if close else ""
    names = ", ".join(allowed) or "none besides 'type'"
    shown = f"'{given}'" if isinstance(given, str) and len(given) < 40 else _show(given)
    return SpecError(f"{where}unknown {what} {shown}{hint} (allowed: {names})")


def _dims(shape: tuple[int, ...]) -> str:
    """A shape as people write it: 6×28×28."""
    return "×".join(str(n) for n in shape)


def _pair_json(pair: tuple[int, int]) -> int | list[int]:
    """(3, 3) -> 3 and (3, 5) -> [3, 5]: the canonical form of kernel_size, stride, padding."""
    return pair[0] if pair[0] == pair[1] else list(pair)


def _pair_text(pair: tuple[int, int]) -> str:
    """(3, 3) -> '3' and (3, 7) -> '3×7' (rows × columns): a pair in a message, written as
    the app writes sizes, not as a Python or JSON list."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def _int(where: str, name: str, value: Any, minimum: int) -> int:
    """A whole number from minimum to MAX_ELEMENTS (not a bool, not a float), else SpecError."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        what = "a positive integer" if minimum > 0 else "a non-negative integer"
        raise SpecError(f"{where}: {name} must be {what}, got {_show(value)}")
    if value > MAX_ELEMENTS:
        raise SpecError(f"{where}: {name} {_show(value)} is too large (at most {MAX_ELEMENTS:,})")
    return int(value)


def _pair(where: str, name: str, value: Any, minimum: int) -> tuple[int, int]:
    """An int or an [h, w] pair of ints, as (h, w)."""
    if not isinstance(value, (list, tuple)):
        value = [value, value]
    elif len(value) != 2:
        raise SpecError(f"{where}: {name} must be an integer or [h, w], got {_show(value)}")
    return _int(where, name, value[0], minimum), _int(where, name, value[1], minimum)


def _check_size(where: str, what: str, shape: tuple[int, ...]) -> None:
    """Refuse a tensor over MAX_ELEMENTS elements, which would exhaust memory."""
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        limit = f"over the limit of {MAX_ELEMENTS:,} per tensor"
        raise SpecError(f"{where}: {what} {_dims(shape)} has {count:,} elements, {limit}")


def _number(where: str, name: str, value: Any, ok: Any, allowed: str) -> float:
    """A real number (not a bool) for which ok(value) holds, as a float; else SpecError."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and ok(value):
        return float(value)
    raise SpecError(f"{where}: {name} must be a number {allowed}, got {_show(value)}")
