"""Residual blocks and batch norm in a spec: branches, their shapes, and what is refused.

A block's layers are built by the same function as top-level layers (`build`, passed in
by `cnnviz.core.spec`), with a path "3.body.0" that names them in messages and state dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cnnviz.core.spec_types import (
    MAX_LAYERS,
    LayerSpec,
    SpecError,
    _dims,
    _Inferred,
    _Shape,
    _show,
)

Build = Callable[..., LayerSpec]


def refused_in_block(where: str, kind: str) -> SpecError:
    """The error for a nested block, or a flatten / dense layer inside a block."""
    if kind == "residual":
        return SpecError(f"{where}: residual blocks do not nest; put blocks one after another")
    return SpecError(
        f"{where}: {kind} is not allowed inside a residual block (its branches work on "
        f"the block's input shape); put {kind} after the block"
    )


def norm_shapes(where: str, kind: str, in_shape: _Shape, source: str) -> _Inferred:
    """Shapes of a batch norm layer: one weight (γ) and bias (β) per channel or feature."""
    if kind == "batchnorm2d" and len(in_shape) != 3:
        raise SpecError(
            f"{where}: needs a (C, H, W) input but gets a flat vector of {in_shape[0]} from "
            f"{source}; use batchnorm1d on flat vectors"
        )
    if kind == "batchnorm1d" and len(in_shape) != 1:
        raise SpecError(
            f"{where}: gets a {_dims(in_shape)} input from {source} but batchnorm1d needs a "
            f"flat vector; use batchnorm2d on (C, H, W) maps"
        )
    return in_shape, {"weight": in_shape[:1], "bias": in_shape[:1]}, ""


def residual(
    index: int, where: str, raw: dict, in_shape: _Shape, source: str, build: Build
) -> LayerSpec:
    """A residual block: both branches built on the block's input, shapes checked equal."""
    label = str(index)
    body = _branch(where, label, "body", raw["body"], (in_shape, source), build)
    shortcut_raw = raw.get("shortcut", "identity")
    is_identity = shortcut_raw == "identity" or shortcut_raw == []
    shortcut = () if is_identity else _branch(
        where, label, "shortcut", shortcut_raw, (in_shape, source), build
    )
    out_shape = body[-1].out_shape
    short_shape = shortcut[-1].out_shape if shortcut else in_shape
    if out_shape != short_shape:
        which = "the shortcut" if shortcut else "the identity shortcut"
        raise SpecError(
            f"{where}: the body gives {_dims(out_shape)} but {which} gives "
            f"{_dims(short_shape)}; both branches must give the same shape. "
            + _projection_hint(in_shape, out_shape)
        )
    inner = [(f"body.{j}", s) for j, s in enumerate(body)]
    inner += [(f"shortcut.{j}", s) for j, s in enumerate(shortcut)]
    params = {f"{p}.{n}": shape for p, s in inner for n, shape in s.param_shapes.items()}
    buffers = {f"{p}.{n}": shape for p, s in inner for n, shape in s.buffer_shapes.items()}
    return LayerSpec(index, "residual", {}, in_shape, out_shape, params, "", buffers,
                     body, shortcut)


def _branch(
    where: str, label: str, name: str, value: Any, start: tuple[_Shape, str], build: Build
) -> tuple[LayerSpec, ...]:
    """The layers of one branch of block `label`, each checked against the one before."""
    if name == "body" and (not isinstance(value, (list, tuple)) or not value):
        raise SpecError(f"{where}: body must be a non-empty list of layers, got {_show(value)}")
    if not isinstance(value, (list, tuple)):
        raise SpecError(f'{where}: shortcut must be "identity" or a list of layers, '
                        f"got {_show(value)}")
    if len(value) > MAX_LAYERS:
        raise SpecError(f"{where}: {name} has {len(value)} layers; at most {MAX_LAYERS} allowed")
    layers: list[LayerSpec] = []
    shape, source = start
    for j, raw in enumerate(value):
        layers.append(build(j, raw, shape, source, f"{label}.{name}.{j}"))
        shape, source = layers[-1].out_shape, f"layer {layers[-1].path} ({layers[-1].type})"
    return tuple(layers)


def _projection_hint(in_shape: _Shape, out_shape: _Shape) -> str:
    """Suggest the 1×1 projection shortcut that maps the block's input to the body's shape."""
    if len(in_shape) != 3 or len(out_shape) != 3:
        return "Use a 1×1 projection shortcut (a conv2d with kernel_size 1)"
    strides = [
        next((s for s in range(1, n + 1) if (n - 1) // s + 1 == m), None)
        for n, m in zip(in_shape[1:], out_shape[1:], strict=True)
    ]
    if None in strides:
        return f"Use a 1×1 projection shortcut (a conv2d with out_channels {out_shape[0]})"
    stride = strides[0] if strides[0] == strides[1] else strides
    conv = {"type": "conv2d", "out_channels": out_shape[0], "kernel_size": 1, "stride": stride}
    return f'Use a 1×1 projection shortcut: "shortcut": [{json.dumps(conv)}]'
