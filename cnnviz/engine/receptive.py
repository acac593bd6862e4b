"""Receptive fields: which part of the input and of every earlier map a unit depends on.

Going backward from the unit, conv and pool layers widen the region by their kernel,
stride and padding; activations keep it; flatten maps flat indices back to (c, i, j);
dense layers depend on their whole input. Regions are clipped to each map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnviz.core.spec import parse_spec

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


def _input_region(layer: Any, region: Region) -> Region:
    """The region of a layer's input that its output region depends on."""
    kind, in_shape = layer.type, tuple(layer.in_shape)
    if kind == "conv2d":
        return _through_window(region, layer.config, in_shape, all_channels=True)
    if kind in ("maxpool2d", "avgpool2d"):
        return _through_window(region, layer.config, in_shape, all_channels=False)
    if kind == "flatten":
        return _through_flatten(region, in_shape)
    if kind == "dense":
        return _whole(in_shape)
    return dict(region)  # activations: element-wise


def receptive_field(spec_or_net: Any, layer: int, unit: tuple) -> dict[Any, Region]:
    """Map "input" and each earlier layer index to the region that influences `unit`.

    `unit` is a unit of layer `layer`'s output: (c, i, j) or (k,), optionally with the
    example index in front. Each region is a dict with "shape", and either "box"
    (i0, i1, j0, j1), rows and cols inclusive-exclusive, plus "channels", for a spatial
    map, or "range" (k0, k1) for a flat one.
    """
    input_shape, layers = _layer_specs(spec_or_net)
    if not 0 <= int(layer) < len(layers):
        raise ValueError(
            f"layer {layer} does not exist: the network has layers 0…{len(layers) - 1}"
        )
    region = _start_region(tuple(layers[layer].out_shape), tuple(unit))
    out: dict[Any, Region] = {}
    for index in range(int(layer), -1, -1):
        region = _input_region(layers[index], region)
        out[index - 1 if index > 0 else "input"] = region
    return out


def region_size(region: Region) -> int:
    """Number of cells in a region (channels × rows × cols, or the flat range's length)."""
    if region["range"] is not None:
        return region["range"][1] - region["range"][0]
    i0, i1, j0, j1 = region["box"]
    return len(region["channels"]) * (i1 - i0) * (j1 - j0)
