"""The layer editor's model: pure edits of a spec dict and their validation (no widgets).

Every edit is a function that takes the draft spec dict and returns a new one, so the
editor's undo stack can keep plain snapshots and these rules are testable without Qt.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from cnnviz.core.spec import LayerSpec, NetworkSpec, SpecError, parse_spec

LAYER_TYPES = [
    "conv2d", "maxpool2d", "avgpool2d", "relu", "leaky_relu",
    "sigmoid", "tanh", "flatten", "dense", "batchnorm2d", "batchnorm1d", "dropout",
]
LOSSES = ["cross_entropy", "mse"]

# The editable fields of each layer type: (name, kind); kind is "int", "pair" or "float".
FIELDS: dict[str, list[tuple[str, str]]] = {
    "conv2d": [("out_channels", "int"), ("kernel_size", "pair"), ("stride", "pair"),
               ("padding", "pair")],
    "maxpool2d": [("kernel_size", "pair"), ("stride", "pair"), ("padding", "pair")],
    "avgpool2d": [("kernel_size", "pair"), ("stride", "pair"), ("padding", "pair")],
    "leaky_relu": [("negative_slope", "float")],
    "dense": [("units", "int")],
    "batchnorm2d": [("eps", "float"), ("momentum", "float")],
    "batchnorm1d": [("eps", "float"), ("momentum", "float")],
    "dropout": [("p", "float")],
}

# Smallest value a field's widget offers (padding may be 0, sizes must be positive).
FIELD_MINIMUM = {"padding": 0}

FIELD_LABELS = {
    "out_channels": "Out channels", "kernel_size": "Kernel size", "stride": "Stride",
    "padding": "Padding", "negative_slope": "Negative slope", "units": "Units",
    "eps": "ε (eps)", "momentum": "Momentum", "p": "Drop probability p",
}

DEFAULT_CONFIG: dict[str, dict] = {
    "conv2d": {"out_channels": 8, "kernel_size": 3, "stride": 1, "padding": 1},
    "maxpool2d": {"kernel_size": 2, "stride": 2, "padding": 0},
    "avgpool2d": {"kernel_size": 2, "stride": 2, "padding": 0},
    "leaky_relu": {"negative_slope": 0.01},
    "dense": {"units": 10},
    "dropout": {"p": 0.5},
    "batchnorm2d": {"eps": 1e-5, "momentum": 0.1},
    "batchnorm1d": {"eps": 1e-5, "momentum": 0.1},
}

# Decimal fields: (minimum, maximum, decimals, step) and their tooltips.
FLOAT_RANGE = {"negative_slope": (-10.0, 10.0, 3, 0.01), "eps": (1e-8, 1.0, 8, 1e-5),
               "momentum": (0.0, 1.0, 3, 0.05), "p": (0.0, 0.99, 2, 0.05)}
FLOAT_TIPS = {"negative_slope": "slope for negative inputs",
              "eps": "added to the variance before the square root",
              "momentum": "how far the running statistics move towards each batch's",
              "p": "probability of dropping a unit in train mode (0 ≤ p < 1)"}

_LAYER_IN_MESSAGE = re.compile(r"\blayer (\d+)\b")


@dataclass
class Validation:
    """The outcome of checking a draft: the parsed spec, or the error and where it is."""

    spec: NetworkSpec | None
    error: str = ""
    error_layer: int | None = None        # index of the layer the SpecError names
    error_part: str | None = None         # "layer", "input", "loss" or "spec"
    rows: list[dict | None] = field(default_factory=list)   # shape-table row per layer

    @property
    def ok(self) -> bool:
        """True when the draft is a valid network."""
        return self.spec is not None


def new_layer(layer_type: str) -> dict:
    """A layer dict of that type with sensible default fields."""
    if layer_type not in LAYER_TYPES:
        raise ValueError(f"unknown layer type {layer_type!r}")
    return {"type": layer_type, **copy.deepcopy(DEFAULT_CONFIG.get(layer_type, {}))}


def pair(value: object) -> tuple[int, int]:
    """An int-or-[h, w] field as (h, w); anything else as (0, 0) for display."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    if isinstance(value, int):
        return value, value
    return 0, 0


def compact_pair(h: int, w: int) -> int | list[int]:
    """The spec form of a pair: an int when square, else [h, w]."""
    return int(h) if h == w else [int(h), int(w)]


def _layers(draft: dict) -> list[dict]:
    """The draft's layer list (an empty list if missing or malformed)."""
    layers = draft.get("layers")
    return layers if isinstance(layers, list) else []


def add_layer(draft: dict, index: int, layer_type: str) -> dict:
    """Insert a new layer of the given type at index (clamped to the list)."""
    out = copy.deepcopy(draft)
    layers = _layers(out)
    layers.insert(max(0, min(index, len(layers))), new_layer(layer_type))
    out["layers"] = layers
    return out


def remove_layer(draft: dict, index: int) -> dict:
    """Remove the layer at index."""
    out = copy.deepcopy(draft)
    del out["layers"][index]
    return out


def duplicate_layer(draft: dict, index: int) -> dict:
    """Insert a copy of the layer at index right after it."""
    out = copy.deepcopy(draft)
    out["layers"].insert(index + 1, copy.deepcopy(out["layers"][index]))
    return out


def move_layer(draft: dict, src: int, dst: int) -> dict:
    """Move the layer at src so that it ends up at index dst."""
    out = copy.deepcopy(draft)
    layers = out["layers"]
    dst = max(0, min(dst, len(layers) - 1))
    layers.insert(dst, layers.pop(src))
    return out


def set_layer_type(draft: dict, index: int, layer_type: str) -> dict:
    """Change a layer's type, keeping the fields the new type shares with the old."""
    out = copy.deepcopy(draft)
    old = out["layers"][index]
    layer = new_layer(layer_type)
    for name, _kind in FIELDS.get(layer_type, []):
        if name in old:
            layer[name] = old[name]
    out["layers"][index] = layer
    return out


def set_field(draft: dict, index: int, name: str, value: object) -> dict:
    """Set one field of a layer; a pool's stride follows its kernel size when they matched."""
    out = copy.deepcopy(draft)
    layer = out["layers"][index]
    is_pool = layer.get("type") in ("maxpool2d", "avgpool2d")
    follows = pair(layer.get("stride", layer.get(name))) == pair(layer.get(name))
    if is_pool and name == "kernel_size" and follows:
        layer["stride"] = copy.deepcopy(value)
    layer[name] = value
    return out


def set_input_shape(draft: dict, shape: tuple[int, int, int]) -> dict:
    """Set the network's input shape [C, H, W]."""
    out = copy.deepcopy(draft)
    out["input"] = [int(s) for s in shape]
    return out


def set_loss(draft: dict, loss: str) -> dict:
    """Set the network's loss."""
    out = copy.deepcopy(draft)
    out["loss"] = loss
    return out


def layer_summary(layer: dict) -> str:
    """A short readable description of a layer dict, e.g. 'conv2d 6 @ 5×5, pad 2'."""
    kind = str(layer.get("type", "?"))
    if kind == "conv2d":
        text = f"conv2d {layer.get('out_channels', '?')} @ {_pair_text(layer.get('kernel_size'))}"
        return text + _stride_pad_text(layer, 1)
    if kind in ("maxpool2d", "avgpool2d"):
        kernel = layer.get("kernel_size")
        return f"{kind} {_pair_text(kernel)}" + _stride_pad_text(layer, kernel)
    if kind == "dense":
        return f"dense {layer.get('units', '?')}"
    if kind == "leaky_relu":
        return f"leaky_relu {layer.get('negative_slope', 0.01)}"
    if kind == "dropout":
        return f"dropout p = {layer.get('p', 0.5)}"
    if kind == "residual":
        short = layer.get("shortcut", "identity")
        how = "identity" if not isinstance(short, list) or not short else "projection"
        return f"residual block ⊕ ({how} shortcut)"
    return kind


def _pair_text(value: object) -> str:
    """'5×5' for 5 or [5, 5]; the raw value if it is not a pair."""
    if isinstance(value, (int, list, tuple)) and not isinstance(value, bool):
        h, w = pair(value)
        return f"{h}×{w}"
    return str(value)


def _stride_pad_text(layer: dict, default_stride: object) -> str:
    """', stride 2, pad 1' for the fields that differ from their defaults."""
    text = ""
    stride = layer.get("stride", default_stride)
    if pair(stride) != pair(default_stride):
        text += f", stride {_pair_text(stride)}"
    if pair(layer.get("padding", 0)) != (0, 0):
        text += f", pad {_pair_text(layer.get('padding'))}"
    return text


def shape_text(shape: tuple[int, ...]) -> str:
    """'6×28×28' for a shape tuple."""
    return "×".join(str(s) for s in shape)


def _table_rows(spec: NetworkSpec) -> list[dict]:
    """One shape-table row per layer of a valid spec."""
    return [
        {"output_shape": shape_text(layer.out_shape), "params": layer.param_count,
         "formula": layer.formula or _dense_formula(layer)}
        for layer in spec.layers
    ]


def _dense_formula(layer: LayerSpec) -> str:
    """'x = w·o + b: 400 → 120' for a dense layer (the spec gives no size formula there)."""
    if layer.type != "dense":
        return ""
    return f"x = w·o + b: {layer.in_shape[0]} → {layer.out_shape[0]}"


def _error_location(message: str) -> tuple[str, int | None]:
    """Which part of the spec a SpecError message names: ('layer', i), ('input', None), …"""
    match = _LAYER_IN_MESSAGE.search(message)
    if match:
        return "layer", int(match.group(1))
    lowered = message.lower()
    for part in ("input", "loss"):
        if lowered.startswith(part) or f"'{part}'" in lowered or f"{part} " in lowered[:40]:
            return part, None
    return "spec", None


_TAILS = ([], [{"type": "dense", "units": 2}], [{"type": "flatten"}, {"type": "dense", "units": 2}])


def _prefix_rows(draft: dict, upto: int) -> list[dict | None]:
    """Shape-table rows of the layers before the bad one (closed by a stand-in classifier)."""
    prefix = _layers(draft)[:upto]
    for tail in _TAILS:
        try:
            spec = parse_spec(dict(draft, layers=prefix + tail))
        except SpecError:
            continue
        return list(_table_rows(spec))[:upto]
    return [None] * upto


def validate(draft: dict) -> Validation:
    """Parse the draft; on a SpecError say which layer (or input/loss) is wrong."""
    try:
        spec = parse_spec(draft)
    except SpecError as error:
        message = str(error)
        part, index = _error_location(message)
        count = len(_layers(draft))
        if index is not None and not 0 <= index < count:
            index = count - 1 if count else None
        rows = _prefix_rows(draft, index) if index is not None else []
        rows += [None] * (count - len(rows))
        return Validation(None, message, index, part, rows)
    return Validation(spec, rows=list(_table_rows(spec)))


def discarded_params(old: NetworkSpec, new: NetworkSpec) -> list[str]:
    """Parameter tensors of old that the rebuilt network cannot keep (they are re-initialised).

    Mirrors `cnnviz.core.network.transfer_matching_weights`: a layer with parameters
    takes the weights of the old layer at the same index, else of the old layer at the
    same rank among layers with parameters, if type and shapes match. So inserting an
    activation keeps every weight; changing a layer's size loses that layer's tensors
    (and the next layer's, whose input size changed).
    """
    def same(a: LayerSpec, b: LayerSpec) -> bool:
        return a.type == b.type and dict(a.param_shapes) == dict(b.param_shapes)

    by_index = {layer.index: layer for layer in old.layers if layer.param_shapes}
    ranked = [layer for layer in old.layers if layer.param_shapes]
    used: set[int] = set()
    for rank, layer in enumerate(item for item in new.layers if item.param_shapes):
        candidates = [by_index.get(layer.index), ranked[rank] if rank < len(ranked) else None]
        for source in candidates:
            if source is not None and same(source, layer):
                used.add(source.index)
                break
    return [f"{layer.index}.{name}" for layer in ranked if layer.index not in used
            for name in layer.param_shapes]


def status_text(validation: Validation, applied: bool) -> str:
    """The line under the editor's table: the error, or the size and whether it is applied."""
    v = validation
    if not v.ok:
        where = "" if v.error.startswith("layer") else f"{v.error_part or 'spec'}: "
        return (f"⚠ {where}{v.error}\nThe network keeps running the last valid spec until "
                "this is fixed.")
    pending = "" if applied else "   — not applied yet (Apply, Ctrl+Return)"
    return f"{len(v.spec.layers)} layers, {v.spec.param_count:,} parameters{pending}"
