"""The network spec: parse and check a JSON/dict description of a CNN and infer its shapes.

A `residual` block holds its own layers: a `body` list and a `shortcut` ("identity" or a
list); output = body(x) + shortcut(x). Layers inside a block are named by their path,
"3.body.0", "3.shortcut.0", which is also the prefix of their parameters.

A bad spec raises `SpecError` and nothing else, with a message that names the layer, the
field, the value given and what is allowed, so that the layer editor and the command line
can show it as is. Output size per axis, as DESIGN.md fixes it: ⌊(W − F + 2P)/S⌋ + 1.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from typing import Any

from cnnviz.core.spec_blocks import norm_shapes, refused_in_block, residual
from cnnviz.core.spec_table import format_shape_table, shape_table
from cnnviz.core.spec_types import (
    MAX_ELEMENTS,
    MAX_LAYERS,
    LayerSpec,
    NetworkSpec,
    SpecError,
    _check_size,
    _dims,
    _Inferred,
    _int,
    _number,
    _pair,
    _pair_text,
    _Shape,
    _show,
    _unknown,
)
from cnnviz.data.fileio import NotAFileError, read_regular_file

__all__ = [
    "LAYER_FIELDS",
    "LAYER_TYPES",
    "MAX_ELEMENTS",
    "MAX_LAYERS",
    "LayerSpec",
    "NetworkSpec",
    "SpecError",
    "format_shape_table",
    "parse_spec",
    "shape_table",
]

MAX_FILE_CHARS = 1_000_000
LOSSES = ("cross_entropy", "mse")
TOP_LEVEL_KEYS = ("input", "layers", "loss")
_REQUIRED = object()  # a field without a default
_MISSING = object()
_WINDOW = {"kernel_size": _REQUIRED, "stride": None, "padding": 0}  # pool stride = kernel
_NORM = {"eps": 1e-5, "momentum": 0.1}

# Fields and defaults of each layer type, in the order to_dict writes them.
LAYER_FIELDS: dict[str, dict[str, Any]] = {
    "conv2d": {"out_channels": _REQUIRED, **_WINDOW, "stride": 1},
    "maxpool2d": _WINDOW,
    "avgpool2d": _WINDOW,
    **{name: {} for name in ("relu", "sigmoid", "tanh")},
    "leaky_relu": {"negative_slope": 0.01},
    "flatten": {},
    "dense": {"units": _REQUIRED},
    "batchnorm2d": _NORM,
    "batchnorm1d": _NORM,
    "dropout": {"p": 0.5},
    "residual": {"body": _REQUIRED, "shortcut": "identity"},
}
LAYER_TYPES = tuple(LAYER_FIELDS)
SPATIAL_TYPES = ("conv2d", "maxpool2d", "avgpool2d")
NORM_TYPES = ("batchnorm2d", "batchnorm1d")
NOT_IN_BLOCK = ("residual", "flatten", "dense")


def _decode(text: str, origin: str) -> Any:
    """JSON text to Python values; a syntax error says where (line and column)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(
            f"{origin}not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}"
        ) from None
    except (ValueError, RecursionError) as error:  # a 5000-digit number, deep nesting
        raise SpecError(f"{origin}not valid JSON: {error}") from None


def _read_file(path: str) -> Any:
    """The decoded contents of a spec file (a regular file only: a FIFO would block)."""
    try:
        raw = read_regular_file(path, 4 * MAX_FILE_CHARS)  # a character has up to 4 bytes
    except NotAFileError as error:
        if error.missing:
            raise SpecError(f"spec file '{path}' not found (no such file)") from None
        raise SpecError(f"cannot read spec file '{path}': {error.reason}") from None
    except OSError as error:  # no permission, an I/O error ...
        raise SpecError(f"cannot read spec file '{path}': {error.strerror or error}") from None
    too_large = SpecError(f"spec file '{path}' is too large (over {MAX_FILE_CHARS:,} characters)")
    if len(raw) > 4 * MAX_FILE_CHARS:
        raise too_large
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SpecError(f"cannot read spec file '{path}': not UTF-8 text ({error})") from None
    if len(text) > MAX_FILE_CHARS:
        raise too_large
    return _decode(text, f"spec file '{path}': ")


def _load(spec: Any) -> dict:
    """The spec as a dict with only known keys; a path (PathLike, file, *.json) is read."""
    if isinstance(spec, os.PathLike):
        try:
            spec = _read_file(os.fsdecode(os.fspath(spec)))
        except TypeError:
            raise SpecError(f"cannot use {_show(spec)} as a path") from None
    elif isinstance(spec, str):
        is_path = spec.endswith(".json") or os.path.lexists(spec) or (
            os.sep in spec and spec.lstrip()[:1] not in ("{", "[", '"'))
        spec = _read_file(spec) if is_path else _decode(spec, "")
    if not isinstance(spec, dict):
        raise SpecError(f"a spec must be an object with 'input' and 'layers', got {_show(spec)}")
    for key in spec:
        if key not in TOP_LEVEL_KEYS:
            raise _unknown("", "top-level key", key, TOP_LEVEL_KEYS)
    return spec


def _input_shape(value: Any) -> tuple[int, int, int]:
    """The [C, H, W] shape of one example."""
    if value is _MISSING:
        raise SpecError("missing 'input': the [C, H, W] shape of one example, e.g. [1, 28, 28]")
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise SpecError(f"input must be [C, H, W], 3 positive integers, got {_show(value)}")
    shape = tuple(_int("input", "each of C, H, W", v, 1) for v in value)
    _check_size("input", "one example", shape)
    return shape  # type: ignore[return-value]


def _layer_list(value: Any) -> list:
    """The raw 'layers' entries: a non-empty list of at most MAX_LAYERS."""
    if value is _MISSING:
        raise SpecError('missing \'layers\': a list of layers, e.g. [{"type": "flatten"}, ...]')
    if not isinstance(value, (list, tuple)):
        raise SpecError(f"layers must be a list of layer objects, got {_show(value)}")
    if not value:
        raise SpecError("layers is empty: a network needs at least one layer")
    if len(value) > MAX_LAYERS:
        raise SpecError(f"layers has {len(value)} entries; at most {MAX_LAYERS} are allowed")
    return list(value)


def parse_spec(spec: dict | str | os.PathLike) -> NetworkSpec:
    """Check a spec (dict, JSON text or path) and infer every layer's shapes."""
    data = _load(spec)
    input_shape = _input_shape(data.get("input", _MISSING))
    loss = data.get("loss", "cross_entropy")
    if not isinstance(loss, str) or loss not in LOSSES:
        raise _unknown("", "loss", loss, LOSSES)
    layers: list[LayerSpec] = []
    shape, source = input_shape, "the input"
    for index, raw in enumerate(_layer_list(data.get("layers", _MISSING))):
        layers.append(_build_layer(index, raw, shape, source))
        shape, source = layers[-1].out_shape, f"layer {index} ({layers[-1].type})"
    _check_output(layers[-1])
    return NetworkSpec(input_shape, tuple(layers), loss)


def _layer_type(label: str, raw: Any) -> str:
    """The checked type of one layer entry ("3" or "3.body.0"), with its field names checked."""
    if not isinstance(raw, dict):
        raise SpecError(
            f'layer {label}: must be an object like {{"type": "relu"}}, got {_show(raw)}'
        )
    if "type" not in raw:
        raise SpecError(f"layer {label}: missing field 'type' (one of {', '.join(LAYER_TYPES)})")
    kind = raw["type"]
    if not isinstance(kind, str) or kind not in LAYER_FIELDS:
        raise _unknown(f"layer {label}: ", "type", kind, LAYER_TYPES)
    fields, where = LAYER_FIELDS[kind], f"layer {label} ({kind})"
    for key in raw:
        if key != "type" and key not in fields:
            raise _unknown(f"{where}: ", "field", key, fields)
    for key, default in fields.items():
        if default is _REQUIRED and key not in raw:
            needs = " and ".join(k for k, v in fields.items() if v is _REQUIRED)
            raise SpecError(f"{where}: missing field '{key}'; {kind} needs {needs}")
    return kind


def _config(where: str, kind: str, raw: dict) -> dict:
    """The layer's fields checked one by one, every default filled in."""
    if kind == "conv2d":
        filters = _int(where, "out_channels", raw["out_channels"], 1)
        return {"out_channels": filters, **_window_config(where, raw, (1, 1))}
    if kind in ("maxpool2d", "avgpool2d"):
        return _window_config(where, raw, None)
    if kind == "leaky_relu":
        slope = raw.get("negative_slope", 0.01)  # finite: NaN fails the comparison too
        if isinstance(slope, numbers.Real) and not isinstance(slope, bool) and abs(slope) < 1e300:
            return {"negative_slope": float(slope)}
        raise SpecError(f"{where}: negative_slope must be a finite number, got {_show(slope)}")
    if kind == "dense":
        return {"units": _int(where, "units", raw["units"], 1)}
    if kind in NORM_TYPES:
        eps = _number(where, "eps", raw.get("eps", 1e-5), lambda v: 0 < v < 1, "with 0 < eps < 1")
        momentum = _number(where, "momentum", raw.get("momentum", 0.1), lambda v: 0 <= v <= 1,
                           "from 0 to 1")
        return {"eps": eps, "momentum": momentum}
    if kind == "dropout":
        return {"p": _number(where, "p", raw.get("p", 0.5), lambda v: 0 <= v < 1, "with 0 ≤ p < 1")}
    return {}

def _window_config(where: str, raw: dict, default_stride: tuple[int, int] | None) -> dict:
    """kernel_size, stride and padding of a conv or pool layer as (h, w) pairs."""
    kernel = _pair(where, "kernel_size", raw["kernel_size"], 1)
    stride = _pair(where, "stride", raw["stride"], 1) if "stride" in raw else default_stride
    padding = _pair(where, "padding", raw["padding"], 0) if "padding" in raw else (0, 0)
    most = (kernel[0] // 2, kernel[1] // 2)
    if default_stride is None and (padding[0] > most[0] or padding[1] > most[1]):
        # pool padding at most half the kernel (as PyTorch): no window sees only padding
        raise SpecError(
            f"{where}: padding {_pair_text(padding)} is more than half of kernel_size "
            f"{_pair_text(kernel)} (at most {_pair_text(most)})"
        )
    return {"kernel_size": kernel, "stride": stride or kernel, "padding": padding}


def _build_layer(
    index: int, raw: Any, in_shape: tuple[int, ...], source: str, path: str = ""
) -> LayerSpec:
    """One layer checked against the shape it receives from `source` (path: inside a block)."""
    kind = _layer_type(path or str(index), raw)
    where = f"layer {path or index} ({kind})"
    if path and kind in NOT_IN_BLOCK:
        raise refused_in_block(where, kind)
    if kind == "residual":
        return residual(index, where, raw, in_shape, source, _build_layer)
    config = _config(where, kind, raw)
    buffers: dict[str, _Shape] = {}
    if kind in SPATIAL_TYPES:
        out_shape, params, formula = _spatial(where, kind, config, in_shape, source)
    elif kind == "dense":
        out_shape, params, formula = _dense(where, config, in_shape, source)
    elif kind in NORM_TYPES:
        out_shape, params, formula = norm_shapes(where, kind, in_shape, source)
        buffers = {"running_mean": params["weight"], "running_var": params["weight"]}
    elif kind == "flatten":
        out_shape, params = (math.prod(in_shape),), {}
        formula = f"{'·'.join(map(str, in_shape))} = {out_shape[0]}" if len(in_shape) > 1 else ""
    else:
        out_shape, params, formula = in_shape, {}, ""
    _check_size(where, "output", out_shape)
    for name, shape in params.items():
        _check_size(where, name, shape)
    return LayerSpec(index, kind, config, in_shape, out_shape, params, formula, buffers, path=path)

def _spatial(where: str, kind: str, config: dict, in_shape: _Shape, source: str) -> _Inferred:
    """Output shape, parameter shapes and formula of a conv or pool layer."""
    if len(in_shape) != 3:
        raise SpecError(
            f"{where}: needs a (C, H, W) input but gets a flat vector of {in_shape[0]} from "
            f"{source}; conv and pool layers must come before flatten and dense"
        )
    channels, *size = in_shape
    kernel, stride, padding = config["kernel_size"], config["stride"], config["padding"]
    if any(k > n + 2 * p for n, k, p in zip(size, kernel, padding, strict=True)):
        raise SpecError(
            f"{where}: kernel_size {_pair_text(kernel)} does not fit its "
            f"{_dims(tuple(size))} input (with padding {_pair_text(padding)})"
        )
    axes = list(zip(size, kernel, padding, stride, strict=True))
    out = [(n - k + 2 * p) // s + 1 for n, k, p, s in axes]
    texts = [f"⌊({n} − {k} + 2·{p})/{s}⌋ + 1 = {(n - k + 2 * p) // s + 1}" for n, k, p, s in axes]
    formula = texts[0] if texts[0] == texts[1] else f"H: {texts[0]}; W: {texts[1]}"
    if kind != "conv2d":
        return (channels, *out), {}, formula
    filters = config["out_channels"]
    params = {"weight": (filters, channels, *kernel), "bias": (filters,)}
    return (filters, *out), params, formula


def _dense(where: str, config: dict, in_shape: _Shape, source: str) -> _Inferred:
    """Output and parameter shapes of a dense layer, which needs a flat input."""
    if len(in_shape) != 1:
        raise SpecError(
            f"{where}: gets a {_dims(in_shape)} input from {source} but dense needs a flat "
            f'vector; add {{"type": "flatten"}} before it'
        )
    units = config["units"]
    return (units,), {"weight": (units, in_shape[0]), "bias": (units,)}, ""


def _check_output(last: LayerSpec) -> None:
    """The network ends in a flat vector of at least 2 class scores."""
    where = f"layer {last.index} ({last.type})"
    if len(last.out_shape) != 1:
        raise SpecError(
            f"{where}: the last layer outputs {_dims(last.out_shape)}, not a flat vector of "
            f'class scores; end with {{"type": "flatten"}} and '
            f'{{"type": "dense", "units": <number of classes>}}'
        )
    if last.out_shape[0] < 2:
        given = "units 1" if last.type == "dense" else "its output of size 1"
        raise SpecError(f"{where}: {given} gives 1 class score; the last layer needs 2 or more")
