"""Explanations of residual blocks: the addition, and the layers inside a block.

Forward, `F<i>` adds the two branches unit by unit: `o = body + shortcut`. Backward, `B<i>`
copies δ unchanged to both branches; once both have run back (`B<i>.0` is the last inner
step) the block's input gradient is their sum. So `explain("B<i>", unit)` takes a unit of
the block's output while the branches are still running (the copy), and a unit of the
block's input once `B<i>.0` has run (the sum). Inner steps of conv, pooling and activation
layers are explained by the ordinary explainers, through `InnerView`, which shows them the
inner layer where they look for top-level layer i; batch norm and dropout are in
`explain_norm`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cnnviz.engine.explain_backward import explain_backward
from cnnviz.engine.explain_forward import explain_forward
from cnnviz.engine.explain_norm import NORM_TYPES, explain_norm
from cnnviz.engine.explain_terms import Explanation, TermSum, check_unit, idx, make, sum_text
from cnnviz.engine.steps import inner_name, layer_of, parse_step

if TYPE_CHECKING:
    from cnnviz.core.layers import Layer
    from cnnviz.core.network import Network
    from cnnviz.engine.records import PassView, StepRecord
    from cnnviz.engine.steps import StepRef


def is_block_step(rec: StepRecord) -> bool:
    """True for the steps explained here: a block's, an inner layer's, batch norm, dropout."""
    return rec.inner is not None or rec.layer_type == "residual" or rec.layer_type in NORM_TYPES


def explain_block_step(view: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """Dispatch: the addition, batch norm and dropout, or an inner layer's usual explainer."""
    if rec.layer_type == "residual":
        if rec.kind == "forward":
            return _addition_forward(view, rec, unit)
        return _addition_backward(view, rec, unit)
    if rec.layer_type in NORM_TYPES:
        return explain_norm(view, rec, unit)
    inner = InnerView(view, rec)
    if rec.kind == "forward":
        return explain_forward(inner, rec, unit)
    return explain_backward(inner, rec, unit)


def _addition_forward(view: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """o[u] = body[u] + shortcut[u] (identity shortcut: the block's input itself)."""
    v = rec.values
    unit = check_unit(unit, v["output"].shape, f"the output of {rec.name} (residual)")
    identity = not view.net.layers[rec.layer].shortcut
    short_label = f"o_in{idx(*unit)}" if identity else f"shortcut{idx(*unit)}"
    s = TermSum()
    s.add(1.0, float(v["body_output"][unit]), "1", f"body{idx(*unit)}")
    s.add(1.0, float(v["shortcut_output"][unit]), "1", short_label)
    recorded = float(v["output"][unit])
    text = sum_text(f"o{idx(*unit)}", s, 0.0, None, s.total(), recorded)
    if identity:
        text += "\n(identity shortcut: the block's input o_in is added unchanged)"
    formula = "o = body(o_in) + shortcut(o_in)   (residual addition, unit by unit)"
    cells = {"body_output": [unit], "shortcut_output": [unit]}
    return make(view, rec.name, unit, s, 0.0, recorded, text=text, formula=formula, cells=cells)


def _addition_backward(view: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """Before the branches ran back: δ copied to both; after: their sum at the block input."""
    joined = view.record(f"B{rec.layer}.0")
    if joined is None:
        return _copy(view, rec, unit)
    return _join(view, rec, joined, unit)


def _copy(view: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """δ_body[u] = δ_shortcut[u] = δ[u]: the addition passes δ unchanged to both branches."""
    delta = rec.values["grad_output"]
    unit = check_unit(unit, delta.shape, f"the output delta of {rec.name} (residual)")
    s = TermSum()
    s.add(1.0, float(delta[unit]), "1", f"δ{idx(*unit)}")
    recorded = float(rec.values["grad_body_output"][unit])
    text = sum_text(f"δ_body{idx(*unit)} = δ_shortcut{idx(*unit)}", s, 0.0, None,
                    s.total(), recorded)
    text += (f"\n(∂o/∂body = ∂o/∂shortcut = 1: both branches get δ unchanged; the "
             f"gradients they send back are summed at the block input after B{rec.layer}.0)")
    formula = "δ_body = δ_shortcut = δ   (o = body + shortcut)"
    cells = {"grad_output": [unit]}
    return make(view, rec.name, unit, s, 0.0, recorded, text=text, formula=formula, cells=cells)


def _join(view: PassView, rec: StepRecord, joined: StepRecord, unit: Any) -> Explanation:
    """δ_in[u] = δ_in,body[u] + δ_in,shortcut[u], the block's input gradient."""
    total = joined.values["block_grad_input"]
    unit = check_unit(unit, total.shape, f"the input delta of block {rec.layer}")
    i = rec.layer
    if view.net.layers[i].shortcut:
        shortcut, short_label = view.record(f"B{i}.s0").values["grad_input"], "δ_in,shortcut"
    else:
        shortcut, short_label = rec.values["grad_shortcut_output"], "δ"
    s = TermSum()
    s.add(1.0, float(joined.values["grad_input"][unit]), "1", f"δ_in,body{idx(*unit)}")
    s.add(1.0, float(shortcut[unit]), "1", f"{short_label}{idx(*unit)}")
    recorded = float(total[unit])
    text = sum_text(f"δ_in{idx(*unit)}", s, 0.0, None, s.total(), recorded)
    text += (f"\n(B{i} copied δ to both branches; the body sent back δ_in,body (B{i}.0), "
             + ("the identity shortcut δ itself" if short_label == "δ" else
                f"the shortcut δ_in,shortcut (B{i}.s0)") + "; the block's input gets their sum)")
    formula = "δ_in = δ_in,body + δ_in,shortcut   (identity shortcut: δ_in,shortcut = δ)"
    cells = {"grad_input": [unit]}
    return make(view, rec.name, unit, s, 0.0, recorded, text=text, formula=formula, cells=cells)


class _OneLayer:
    """A network seen through InnerView: `layers[i]` is the inner layer, `layers[i − 1]` and
    `layers[i + 1]` its neighbours in the same branch (when it has them), the rest is the
    net."""

    def __init__(self, net: Network, layers: dict[int, Layer]) -> None:
        self._net = net
        self.layers = layers

    def __getattr__(self, name: str) -> Any:
        return getattr(self._net, name)


class InnerView:
    """A pass seen from an inner layer of block i, as if it stood where layer i stands.

    The forward and backward explainers (and the figure builders) find a layer as
    `net.layers[i]`, its parameters as "i.weight" and its steps as "F<i>" / "B<i>"; here those
    name the inner layer, and i − 1 / i + 1 the layers before and after it in its branch (a
    first inner layer has no i − 1 here: its input is the block's, not one layer's output).
    """

    def __init__(self, view: PassView, rec: StepRecord) -> None:
        ref = parse_step(rec.name)
        i, j = ref.layer, ref.j
        self._view = view
        self._layer = layer_of(view.net, ref)
        self.first = j == 0
        layers, self._aliases = _neighbours(view.net, ref)
        self._prefix = (f"{self._layer.key}.", f"{i}.")
        self.net: Any = _OneLayer(view.net, layers)
        self.y: np.ndarray = view.y
        self.optimizer = view.optimizer

    def alias(self, name: str) -> str:
        """The step a name means here: "F<i>" is the inner layer's "F<i>.<j>"."""
        return self._aliases.get(name, name)

    def record(self, name: str) -> StepRecord | None:
        """The record of a step, "F<i>" / "B<i>" meaning the inner layer's."""
        return self._view.record(self.alias(name))

    def pass_params(self) -> dict[str, np.ndarray]:
        """The pass's parameters, the inner layer's also under "i.weight" / "i.bias"."""
        params = dict(self._view.pass_params())
        inner, outer = self._prefix
        for key, value in list(params.items()):
            if key.startswith(inner) and key.count(".") == inner.count("."):
                params[outer + key[len(inner):]] = value
        return params


def _neighbours(net: Network, ref: StepRef) -> tuple[dict[int, Layer], dict[str, str]]:
    """Inner layer j of block i and its branch neighbours as layers i − 1, i, i + 1, and the
    step names "F<i±1>" / "B<i±1>" stand for."""
    i, j, branch = ref.layer, ref.j, getattr(net.layers[ref.layer], ref.branch)
    layers, aliases = {}, {}
    for offset in (-1, 0, 1):
        if 0 <= j + offset < len(branch):
            layers[i + offset] = branch[j + offset]
            for kind in "FB":
                aliases[f"{kind}{i + offset}"] = inner_name(kind, i, ref.branch, j + offset)
    return layers, aliases


def step_name(view: Any, name: str) -> str:
    """How a view names a step: through an InnerView "F<i>" is the inner layer's step."""
    alias = getattr(view, "alias", None)
    return alias(name) if callable(alias) else name


def layer_at(view: Any, i: int) -> Layer | None:
    """Layer i as the view sees it (an InnerView: the inner layer or a branch neighbour),
    None if there is none."""
    layers = view.net.layers
    if isinstance(layers, dict):
        return layers.get(i)
    return layers[i] if 0 <= i < len(layers) else None
