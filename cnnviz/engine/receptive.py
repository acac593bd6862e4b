"""Receptive fields: which part of the input and of every earlier map a unit depends on.

Going backward from the unit, conv and pool layers widen the region by their kernel,
stride and padding; activations (and batch norm, dropout) keep it; flatten maps flat
indices back to (c, i, j); dense layers depend on their whole input. A residual block is
walked back along both paths, its inner layers' regions keyed by their step names without
the F ("4.3", "6.s0"); the block's input region is the bounding union of what the two
paths need. Regions are clipped to each map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnviz.core.spec import parse_spec
from cnnviz.engine.steps import inner_name, split_inner

Region = dict[str, Any]


def _layer_specs(spec_or_net: Any) -> tuple[tuple[int, ...], list[Any]]:
    """(input shape, LayerSpecs) of a Network, NetworkSpec, or anything parse_spec takes."""
    spec = getattr(spec_or_net, "spec", spec_or_net)
    if not hasattr(spec, "layers") or not hasattr(spec, "input_shape"):
        spec = parse_spec(spec)
    return tuple(spec.input_shape), list(spec.layers)


def spatial_region(shape: tuple, channels: Any, box: tuple[int, int, int, int]) -> Region:
    """A region of a (C, H, W) map: rows i0:i1 and cols j0:j1 of the listed channels."""
    return {"shape": tuple(shape), "channels": tuple(sorted(int(c) for c in channels)),
            "box": tuple(int(v) for v in box), "range": None}


def flat_region(shape: tuple, k0: int, k1: int) -> Region:
    """A region of a flat (F,) map: the indices k0:k1."""
    return {"shape": tuple(shape), "channels": None, "box": None, "range": (int(k0), int(k1))}


def _start_region(shape: tuple, unit: tuple) -> Region:
    """The region of the unit itself, in its layer's output map."""
    unit = tuple(int(u) for u in unit)
    if len(unit) == len(shape) + 1:  # (n, ...) form: the example does not matter
        unit = unit[1:]
    if len(unit) != len(shape) or any(not 0 <= u < s for u, s in zip(unit, shape, strict=True)):
        raise ValueError(f"unit {unit} is not inside a map of shape {shape}")
    if len(shape) == 1:
        return flat_region(shape, unit[0], unit[0] + 1)
    c, i, j = unit
    return spatial_region(shape, [c], (i, i + 1, j, j + 1))


def _through_window(region: Region, cfg: dict, in_shape: tuple, all_channels: bool) -> Region:
    """Input region of a conv/pool layer: widen by kernel, stride and padding, then clip."""
    i0, i1, j0, j1 = region["box"]
    kh, kw = cfg["kernel_size"]
    sh, sw = cfg["stride"]
    ph, pw = cfg["padding"]
    C, H, W = in_shape
    rows = (max(0, i0 * sh - ph), min(H, (i1 - 1) * sh - ph + kh))
    cols = (max(0, j0 * sw - pw), min(W, (j1 - 1) * sw - pw + kw))
    channels = range(C) if all_channels else region["channels"]
    box = (rows[0], max(rows[0], rows[1]), cols[0], max(cols[0], cols[1]))
    return spatial_region(in_shape, channels, box)


def _through_flatten(region: Region, in_shape: tuple) -> Region:
    """Bounding region of the (c, i, j) cells behind the flat indices k0:k1."""
    k0, k1 = region["range"]
    c, i, j = np.unravel_index(np.arange(k0, k1), in_shape)
    return spatial_region(in_shape, np.unique(c), (i.min(), i.max() + 1, j.min(), j.max() + 1))


def _whole(shape: tuple) -> Region:
    """Every cell of a map."""
    if len(shape) == 1:
        return flat_region(shape, 0, shape[0])
    return spatial_region(shape, range(shape[0]), (0, shape[1], 0, shape[2]))


def _union(a: Region, b: Region) -> Region:
    """The smallest region of one map holding both regions (a box and its channels, or a
    flat range)."""
    if a["range"] is not None:
        return flat_region(a["shape"], min(a["range"][0], b["range"][0]),
                           max(a["range"][1], b["range"][1]))
    (a0, a1, a2, a3), (b0, b1, b2, b3) = a["box"], b["box"]
    return spatial_region(a["shape"], set(a["channels"]) | set(b["channels"]),
                          (min(a0, b0), max(a1, b1), min(a2, b2), max(a3, b3)))


def _walk_branch(block: Any, branch: str, j: int, region: Region, out: dict) -> Region:
    """From a region of inner layer j's output back to the block's input, recording the
    region of every earlier inner layer of the branch in `out`."""
    layers = getattr(block, branch)
    for k in range(j, -1, -1):
        region = _input_region(layers[k], region)
        if k > 0:
            out[inner_name("F", block.index, branch, k - 1)[1:]] = region
    return region


def _through_block(block: Any, region: Region, out: dict) -> Region:
    """The block's input region: both paths walked back from the output region, united."""
    ends = []
    for branch in ("body", "shortcut"):
        layers = getattr(block, branch)
        if not layers:  # the identity shortcut passes the region on unchanged
            ends.append(dict(region))
            continue
        out[inner_name("F", block.index, branch, len(layers) - 1)[1:]] = region
        ends.append(_walk_branch(block, branch, len(layers) - 1, region, out))
    return _union(*ends)


def _input_region(layer: Any, region: Region, out: dict | None = None) -> Region:
    """The region of a layer's input that its output region depends on (`out` collects
    the regions inside a residual block)."""
    kind, in_shape = layer.type, tuple(layer.in_shape)
    if kind == "residual":
        return _through_block(layer, region, {} if out is None else out)
    if kind == "conv2d":
        return _through_window(region, layer.config, in_shape, all_channels=True)
    if kind in ("maxpool2d", "avgpool2d"):
        return _through_window(region, layer.config, in_shape, all_channels=False)
    if kind == "flatten":
        return _through_flatten(region, in_shape)
    if kind == "dense":
        return _whole(in_shape)
    return dict(region)  # activations: element-wise


def receptive_field(spec_or_net: Any, layer: int, unit: tuple,
                    inner: str | None = None) -> dict[Any, Region]:
    """Map "input" and each earlier layer index to the region that influences `unit`.

    `unit` is a unit of layer `layer`'s output: (c, i, j) or (k,), optionally with the
    example index in front — or, with `inner` ("body.1", "shortcut.0"), of that inner
    layer of block `layer`. Each region is a dict with "shape", and either "box"
    (i0, i1, j0, j1), rows and cols inclusive-exclusive, plus "channels", for a spatial
    map, or "range" (k0, k1) for a flat one. Inner layers of the blocks on the way are
    keyed by their step names without the F: "4.3", "6.s0".
    """
    input_shape, layers = _layer_specs(spec_or_net)
    if not 0 <= int(layer) < len(layers):
        raise ValueError(
            f"layer {layer} does not exist: the network has layers 0…{len(layers) - 1}"
        )
    out: dict[Any, Region] = {}
    first = int(layer)
    if inner is not None:
        block, (branch, j) = layers[first], split_inner(inner)
        if not j < len(getattr(block, branch, ())):
            raise ValueError(f"layer {layer} ({block.type}) has no inner layer {inner}")
        region = _start_region(tuple(getattr(block, branch)[j].out_shape), tuple(unit))
        region = _walk_branch(block, branch, j, region, out)
        out[first - 1 if first > 0 else "input"] = region
        first -= 1
    else:
        region = _start_region(tuple(layers[first].out_shape), tuple(unit))
    for index in range(first, -1, -1):
        region = _input_region(layers[index], region, out)
        out[index - 1 if index > 0 else "input"] = region
    return out


def region_size(region: Region) -> int:
    """Number of cells in a region (channels × rows × cols, or the flat range's length)."""
    if region["range"] is not None:
        return region["range"][1] - region["range"][0]
    i0, i1, j0, j1 = region["box"]
    return len(region["channels"]) * (i1 - i0) * (j1 - j0)
