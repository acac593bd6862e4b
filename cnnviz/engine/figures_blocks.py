"""Figures of residual blocks: the addition forward, δ copied to both branches and the two
branches' input deltas summed backward, and the names of a block's inner layers.

An inner conv, pool or activation step is drawn by the ordinary builders through
`InnerView` (`explain.py` does that); `inner_figure` then says which inner layer it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnnviz.engine.figure import Figure, Row, ix, map_of, plane, scalar
from cnnviz.engine.steps import inner_name, layer_of, parse_step

if TYPE_CHECKING:
    import numpy as np

    from cnnviz.engine.explain_terms import Explanation
    from cnnviz.engine.records import PassView, StepRecord


def step_title(rec: StepRecord) -> str:
    """`F4.1 batchnorm2d (block 4, body.1)`, `F1 batchnorm2d`, `B6 residual addition`."""
    kind = "residual addition" if rec.layer_type == "residual" else rec.layer_type
    where = f" (block {rec.layer}, {rec.inner})" if rec.inner is not None else ""
    return f"{rec.name} {kind}{where}"


def inner_figure(view: PassView, rec: StepRecord, fig: Figure | None) -> Figure | None:
    """Name the inner layer in a figure the ordinary builders drew through InnerView."""
    if fig is None:
        return None
    fig.title = f"{step_title(rec)}: {fig.title}"
    layer = layer_of(view.net, parse_step(rec.name))
    if layer.params:
        fig.notes.insert(0, f"w and b are this inner layer's parameters {layer.key}.weight and "
                            f"{layer.key}.bias; o is its input, the output of "
                            f"{_source(view, rec)}.")
    return fig


def _source(view: PassView, rec: StepRecord) -> str:
    """What an inner layer's input is: the previous inner step, or the block's input."""
    ref = parse_step(rec.name)
    if ref.j == 0:
        return f"layer {rec.layer - 1}, the block's input" if rec.layer else "the network input"
    return inner_name("F", rec.layer, ref.branch, ref.j - 1)


def addition_figure(view: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """F: body + shortcut = o; B: δ copied to both branches, or (once B<i>.0 ran) the
    branches' input deltas summed at the block input."""
    if rec.kind == "forward":
        return _forward(view, rec, ex)
    joined = view.record(f"B{rec.layer}.0")
    return _copy(view, rec, ex) if joined is None else _join(view, rec, joined, ex)


def _last_steps(view: PassView, i: int, kind: str) -> tuple[str, str | None]:
    """The last inner step of the body and of the shortcut (None: identity)."""
    block = view.net.layers[i]
    body = inner_name(kind, i, "body", len(block.body) - 1)
    short = inner_name(kind, i, "shortcut", len(block.shortcut) - 1) if block.shortcut else None
    return body, short


def _where(lead: tuple) -> str:
    """`channel 2 of example 0` or `example 0` (a vector)."""
    return f"channel {lead[1]} of example {lead[0]}" if len(lead) == 2 else f"example {lead[0]}"


def _three_maps(items: list[tuple[str, str, np.ndarray]], ops: list[str], unit: tuple) -> list:
    """The unit's map in each of three tensors (symbol, tooltip prefix, tensor), joined by
    two operators, the unit framed in each."""
    out: list = []
    for k, (symbol, prefix, tensor) in enumerate(items):
        values, lead, rest = map_of(tensor, unit)
        out.append(plane(f"{symbol}{ix(lead)}", values, prefix, lead, rest, signed=True))
        out += [ops[k]] if k < len(ops) else []
    return out


def _forward(view: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """The unit's map of both branches and their sum, then the unit's three numbers."""
    v, u = rec.values, ex.unit
    body_step, short_step = _last_steps(view, rec.layer, "F")
    short = "shortcut" if short_step else "o_in"
    lead = map_of(v["output"], u)[1]
    fig = Figure(f"{step_title(rec)}: o{ix(u)} = body{ix(u)} + {short}{ix(u)}")
    source = f"from {short_step}" if short_step else "the block's input itself (identity)"
    fig.rows.append(Row(f"the unit: body from {body_step}, {short} {source}", [
        scalar(f"body{ix(u)}", ex.terms[0][1]), "+", scalar(f"{short}{ix(u)}", ex.terms[1][1]),
        "=", scalar(f"o{ix(u)}", ex.value)]))
    fig.rows.append(Row(f"{_where(lead)}, added cell by cell (the unit framed)", _three_maps(
        [("body", "body", v["body_output"]), (short, short, v["shortcut_output"]),
         ("o", "o", v["output"])], ["+", "="], u)))
    fig.notes.append("o = body(o_in) + shortcut(o_in): the addition has no weights; "
                     "∂o/∂body = ∂o/∂shortcut = 1, so backward it copies δ to both branches.")
    return fig


def _copy(view: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """δ[u] handed unchanged to both branches."""
    v, u = rec.values, ex.unit
    body_step, short_step = _last_steps(view, rec.layer, "B")
    lead = map_of(v["grad_output"], u)[1]
    fig = Figure(f"{step_title(rec)}: δ_body{ix(u)} = δ_shortcut{ix(u)} = δ{ix(u)}")
    fig.rows.append(Row("the unit: δ of the block's output goes unchanged to both branches", [
        scalar(f"δ{ix(u)}", ex.terms[0][1]), "=", scalar(f"δ_body{ix(u)}",
                                                         float(v["grad_body_output"][u])),
        "=", scalar(f"δ_shortcut{ix(u)}", float(v["grad_shortcut_output"][u]))]))
    fig.rows.append(Row(f"{_where(lead)}: the whole map is copied (the unit framed)",
                        _three_maps([("δ", "δ", v["grad_output"]),
                                     ("δ_body", "δ_body", v["grad_body_output"]),
                                     ("δ_shortcut", "δ_shortcut", v["grad_shortcut_output"])],
                                    ["→ copied →", "and"], u)))
    nxt = f"the shortcut runs back from {short_step}" if short_step else \
        "the identity shortcut passes δ straight to the block's input"
    fig.notes.append(f"The body runs back from {body_step}; {nxt}. At B{rec.layer}.0 the two "
                     "input deltas are summed: select a unit of the block's input then.")
    return fig


def _join(view: PassView, rec: StepRecord, joined: StepRecord, ex: Explanation) -> Figure:
    """δ_in[u] = δ_in,body[u] + δ_in,shortcut[u] (identity: + δ[u])."""
    u, i = ex.unit, rec.layer
    identity = not view.net.layers[i].shortcut
    short_sym = "δ" if identity else "δ_in,shortcut"
    short = rec.values["grad_shortcut_output"] if identity else \
        view.record(f"B{i}.s0").values["grad_input"]
    lead = map_of(joined.values["block_grad_input"], u)[1]
    fig = Figure(f"{step_title(rec)}: δ_in{ix(u)} = δ_in,body{ix(u)} + {short_sym}{ix(u)}, "
                 "the block's input delta")
    source = f"B{i} (identity: δ itself)" if identity else f"B{i}.s0"
    fig.rows.append(Row(f"the unit: δ_in,body from B{i}.0, {short_sym} from {source}", [
        scalar(f"δ_in,body{ix(u)}", ex.terms[0][1]), "+", scalar(f"{short_sym}{ix(u)}",
                                                                 ex.terms[1][1]),
        "=", scalar(f"δ_in{ix(u)}", ex.value)]))
    fig.rows.append(Row(f"{_where(lead)} of the block's input, summed cell by cell (the unit "
                        "framed)", _three_maps(
        [("δ_in,body", "δ_in,body", joined.values["grad_input"]), (short_sym, short_sym, short),
         ("δ_in", "δ_in", joined.values["block_grad_input"])], ["+", "="], u)))
    fig.notes.append("The input o_in feeds both branches, so ∂E/∂o_in is the sum of what each "
                     "branch sends back (the multivariate chain rule).")
    return fig
