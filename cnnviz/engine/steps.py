"""Step names of a pass: F0 … L … B0, U, with the inner steps of residual blocks.

A residual block i runs as inner steps (DESIGN.md, "Residual blocks"): forward `F<i>.<j>`
for body layer j, `F<i>.s<j>` for shortcut layer j, then `F<i>`, the addition; backward
`B<i>` (δ copied to both branches), then the shortcut's layers and the body's, each in
reverse — the exact mirror of the forward order — so the last inner step is always
`B<i>.0`, where the two branches' input gradients are summed into the block's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from cnnviz.core.layers import Layer
    from cnnviz.core.network import Network
    from cnnviz.engine.records import PassView

_NAME = re.compile(r"^([FB])(\d+)(?:\.(s?)(\d+))?$")
_INNER = re.compile(r"^(body|shortcut)\.(\d+)$")
_LAYER_NAME = re.compile(r"^(\d+)(?:\.(body|shortcut)\.(\d+))?$")
_SUFFIX = re.compile(r"^(\d+)\.(s?)(\d+)$")  # a step's layer without its F/B: "4.1", "6.s0"


@dataclass(frozen=True)
class StepRef:
    """A parsed step name: kind "F"/"B"/"L"/"U", top-level layer, and branch/j inside a block."""

    kind: str
    layer: int | None = None
    branch: str | None = None  # "body" or "shortcut" for an inner step
    j: int | None = None

    @property
    def inner(self) -> str | None:
        """"body.0" / "shortcut.1" for an inner step, None otherwise."""
        return None if self.branch is None else f"{self.branch}.{self.j}"


def parse_step(name: str) -> StepRef:
    """"F3" → StepRef("F", 3); "B3.s0" → StepRef("B", 3, "shortcut", 0); ValueError if bad."""
    if name in ("L", "U"):
        return StepRef(name)
    match = _NAME.match(name) if isinstance(name, str) else None
    if match is None:
        raise ValueError(f"{name!r} is not a step name (F3, F3.0, F3.s0, L, B3, U)")
    kind, layer, short, j = match.groups()
    if j is None:
        return StepRef(kind, int(layer))
    return StepRef(kind, int(layer), "shortcut" if short else "body", int(j))


def split_inner(inner: str) -> tuple[str, int]:
    """"body.2" → ("body", 2), "shortcut.0" → ("shortcut", 0); ValueError if malformed."""
    match = _INNER.match(inner) if isinstance(inner, str) else None
    if match is None:
        raise ValueError(f"{inner!r} is not an inner layer (body.0, shortcut.1)")
    return match.group(1), int(match.group(2))


def layer_spec_of(spec: Any, layer: int, inner: str | None = None) -> Any:
    """The LayerSpec of top-level layer `layer`, or of its inner layer `inner` ("body.0")."""
    top = spec.layers[layer]
    if inner is None:
        return top
    branch, j = split_inner(inner)
    return getattr(top, branch)[j]


def split_layer_name(name: str | int) -> tuple[int, str | None]:
    """A layer named as the app names it — a top-level index "3", or an inner layer of a
    residual block by its parameters' prefix, "4.body.1" / "6.shortcut.0" — as (layer,
    inner): (4, "body.1"), the form of `Selection.select`. Only the form is checked
    (ValueError); `parse_layer_name` checks it against a network."""
    text = str(name).strip()
    match = _LAYER_NAME.match(text)
    if match is None:
        suffix = _SUFFIX.match(text)
        hint = "" if suffix is None else (
            f" (step F{text}'s layer is {suffix.group(1)}."
            f"{'shortcut' if suffix.group(2) else 'body'}.{suffix.group(3)})")
        raise ValueError(f"{text!r} is not a layer name: write a layer index such as 3 or, "
                         f"inside a residual block, 4.body.1 or 6.shortcut.0{hint}")
    layer, branch, j = match.groups()
    return int(layer), None if branch is None else f"{branch}.{int(j)}"


def parse_layer_name(spec: Any, name: str | int) -> tuple[int, str | None]:
    """`split_layer_name`, checked against a NetworkSpec: ValueError says what is wrong —
    a malformed name, no such layer, a layer that is no block, or an inner index past the
    end of its branch."""
    layer, inner = split_layer_name(name)
    if layer >= len(spec.layers):
        raise ValueError(f"there is no layer {layer}: the layers are 0…{len(spec.layers) - 1}")
    if inner is None:
        return layer, None
    top, (branch, j) = spec.layers[layer], split_inner(inner)
    if top.type != "residual":
        raise ValueError(f"layer {layer} ({top.type}) is not a residual block, so it has no "
                         f"inner layer {inner}")
    layers = getattr(top, branch)
    if not layers:
        raise ValueError(f"block {layer} has an identity shortcut, which has no layers "
                         f"(so no {layer}.{inner})")
    if j >= len(layers):
        raise ValueError(f"block {layer} has no {branch} layer {j}: its {branch} layers are "
                         f"{layer}.{branch}.0…{layer}.{branch}.{len(layers) - 1}")
    return layer, inner


def layer_of(net: Network, ref: StepRef) -> Layer:
    """The layer a step runs: a top-level layer (a block for its addition) or an inner one."""
    layer = net.layers[ref.layer]
    if ref.branch is None:
        return layer
    return getattr(layer, ref.branch)[ref.j]


def inner_name(kind: str, layer: int, branch: str, j: int) -> str:
    """The step name of inner layer j of a block's branch: "F3.1", "B3.s0"."""
    return f"{kind}{layer}.{'s' if branch == 'shortcut' else ''}{j}"


def step_suffix(layer: int, inner: str | None = None) -> str:
    """A layer's step name without its F/B: "3", or "4.0" / "6.s1" for inner layers."""
    if inner is None:
        return str(layer)
    branch, j = split_inner(inner)
    return inner_name("F", layer, branch, j)[1:]


def _forward_names(layer: Any) -> list[str]:
    """The forward steps of one top-level layer spec."""
    i = layer.index
    if layer.type != "residual":
        return [f"F{i}"]
    body = [inner_name("F", i, "body", j) for j in range(len(layer.body))]
    shortcut = [inner_name("F", i, "shortcut", j) for j in range(len(layer.shortcut))]
    return [*body, *shortcut, f"F{i}"]


def _backward_names(layer: Any) -> list[str]:
    """The backward steps of one top-level layer spec: the forward ones mirrored."""
    i = layer.index
    inner = [name.replace("F", "B", 1) for name in _forward_names(layer)[:-1]]
    return [f"B{i}", *reversed(inner)]


def step_names(spec: Any) -> list[str]:
    """Every step of a pass through a NetworkSpec, in order."""
    forward = [name for layer in spec.layers for name in _forward_names(layer)]
    backward = [name for layer in reversed(spec.layers) for name in _backward_names(layer)]
    return [*forward, "L", *backward, "U"]


def param_step(key: str) -> tuple[str, str]:
    """The B step that computes a parameter's gradient: "3.body.0.weight" → ("B3.0", "weight")."""
    prefix, pname = key.rsplit(".", 1)
    parts = prefix.split(".")
    if len(parts) == 1:
        return f"B{parts[0]}", pname
    return inner_name("B", int(parts[0]), parts[1], int(parts[2])), pname


def inner_output_grad_of(view: PassView, ref: StepRef) -> np.ndarray | None:
    """The recorded ∂E/∂(output of a block's inner layer), or None if not computed yet: the
    addition's copy (`B<i>`) for a branch's last layer, else the input gradient of the next
    layer of the branch."""
    branch = getattr(view.net.layers[ref.layer], ref.branch)
    if ref.j == len(branch) - 1:
        rec = view.record(f"B{ref.layer}")
        return None if rec is None else rec.values[f"grad_{ref.branch}_output"]
    rec = view.record(inner_name("B", ref.layer, ref.branch, ref.j + 1))
    return None if rec is None else rec.values["grad_input"]


def input_grad_of(view: PassView, i: int) -> np.ndarray | None:
    """The recorded ∂E/∂(input of top-level layer i), or None if not computed yet.

    For a block it is the sum of both branches', recorded by `B<i>.0` as "block_grad_input".
    """
    if view.net.layers[i].type == "residual":
        rec = view.record(f"B{i}.0")
        return None if rec is None else rec.values["block_grad_input"]
    rec = view.record(f"B{i}")
    return None if rec is None else rec.values["grad_input"]
