"""Figures of batch norm and dropout steps, in training and in eval mode.

Batch norm forward: the channel's values over the batch, a sum per example, μ_B and σ²_B,
how the running statistics moved, then x̂ = (x − μ_B)/σ and o = γ·x̂ + β for the unit (eval
mode: the running statistics instead of the batch's). Backward: Σδ and Σ(δ·x̂) over the
channel, then the three terms of δ_in (eval: γ/σ·δ); ∂E/∂γ and ∂E/∂β as sums per example.
Dropout: o = x·mask/(1 − p_drop) (backward δ_in = δ·mask/(1 − p_drop)); eval: the identity.
Symbols: `notation.BLOCK_SYMBOLS`. Numbers are the records' or the Explanation's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.engine.explain_norm import channel_stats, gamma_beta
from cnnviz.engine.figure import Figure, Grid, Row, column, ix, map_of, plane, scalar
from cnnviz.engine.figures_blocks import step_title
from cnnviz.engine.steps import layer_of, parse_step

if TYPE_CHECKING:
    from cnnviz.core.layers import Layer
    from cnnviz.engine.explain_terms import Explanation
    from cnnviz.engine.records import PassView, StepRecord

MAX_MAPS = 4  # examples whose maps are drawn; every example is in the sums per example


def norm_figure(view: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """The figure of a batch norm or dropout unit (or of a γ / β gradient)."""
    layer = layer_of(view.net, parse_step(rec.name))
    fwd = view.record("F" + rec.name[1:])
    if rec.layer_type == "dropout":
        return _dropout(rec, fwd, layer, ex)
    if isinstance(ex.unit[0], str):
        return _bn_param(rec, fwd, ex)
    if rec.kind == "forward":
        return _bn_forward(rec, layer, ex)
    return _bn_backward(view, rec, fwd, layer, ex)


# ----- helpers ---------------------------------------------------------------------------


def _channel(array: np.ndarray, c: int) -> np.ndarray:
    """Channel c over the batch, float64: (N, H, W), or (N,) for batchnorm1d."""
    return np.asarray(array[:, c], dtype=np.float64)


def _per_example(values: np.ndarray) -> np.ndarray:
    """Σ over each example's positions ((N,) stays as it is)."""
    return values.reshape(values.shape[0], -1).sum(axis=1)


def _example_map(symbol: str, values: np.ndarray, e: int, c: int, unit: tuple | None,
                 signed: bool = True) -> Grid:
    """Example e's map of channel c (`symbol[e,c]`), the unit framed if it lies there."""
    mark = tuple(unit[2:]) if unit is not None and unit[0] == e else None
    return plane(f"{symbol}[{e},{c}]", values[e], symbol, (e, c), mark, signed)


def _sums_row(caption: str, symbol: str, values: np.ndarray, op: str, total_symbol: str,
              total: float, unit: tuple | None) -> Row:
    """A column of one number per example (the example's sum, or its value in 1-d), then
    the total: `column op total`; the unit's example framed."""
    n = values.shape[0]
    grid = column(symbol, values, [f"{symbol} for e={e}" for e in range(n)], True,
                  [f"e={e}" for e in range(n)])
    if unit is not None:
        grid.marks["winner"] = [(unit[0], 0)]
    return Row(caption, [grid, op, scalar(total_symbol, total)])


def _maps_note(n: int) -> list[str]:
    """Say which examples' maps are left out (they are in the sums)."""
    if n <= MAX_MAPS:
        return []
    return [f"The maps of examples {MAX_MAPS} … {n - 1} are not drawn; their sums are in the "
            "columns per example."]


def _sigma(var_symbol: str, var: float, eps: float, c: int) -> list:
    """σ = √(σ² + ε) as row items."""
    return [scalar(f"{var_symbol}[{c}]", var, False), "+", scalar("ε", eps, False), "→ √ →",
            scalar(f"σ[{c}]", math.sqrt(var + eps), False)]


# ----- batch norm forward ----------------------------------------------------------------


def _bn_forward(rec: StepRecord, layer: Layer, ex: Explanation) -> Figure:
    """Statistics of the channel, then x̂ and o = γ·x̂ + β of the unit."""
    u, c = ex.unit, ex.unit[1]
    training = rec.meta.get("training", True)
    mu, var = channel_stats(rec, c)
    eps = layer.config["eps"]
    fig = Figure(f"{step_title(rec)}: o{ix(u)} = γ[{c}]·x̂{ix(u)} + β[{c}]")
    if training:
        fig.rows += _batch_statistics(rec, u, mu, var)
        fig.rows += _running_rows(rec, layer, c, mu, var)
        mean_sym, var_sym = "μ_B", "σ²_B"
    else:
        fig.rows.append(Row("eval mode: the running statistics, not the batch's", [
            scalar(f"running_mean[{c}]", mu), scalar(f"running_var[{c}]", var, False)]))
        mean_sym, var_sym = "running_mean", "running_var"
    fig.rows += _unit_rows(rec, ex, (mean_sym, mu), (var_sym, var), eps)
    if training:
        x = _channel(rec.values["input"], c)
        _map_rows(fig, x, lambda e: [_example_map("x", x, e, c, u)],
                  f"channel {c}, whose values the sums above add up")
    return fig


def _unit_rows(rec: StepRecord, ex: Explanation, mean: tuple[str, float],
               var: tuple[str, float], eps: float) -> list[Row]:
    """σ = √(σ² + ε), x̂ = (x − μ)/σ and o = γ·x̂ + β for the unit (γ, x̂ and β: the terms)."""
    u, c = ex.unit, ex.unit[1]
    (gamma, x_hat), beta = ex.terms[0], ex.constant
    sigma = math.sqrt(var[1] + eps)
    return [
        Row("σ, what the centred input is divided by", _sigma(var[0], var[1], eps, c)),
        Row(f"normalise the unit: x̂ = (x − {mean[0]})/σ", [
            scalar(f"x{ix(u)}", float(rec.values["input"][u])), "−",
            scalar(f"{mean[0]}[{c}]", mean[1]), "÷", scalar(f"σ[{c}]", sigma, False), "=",
            scalar(f"x̂{ix(u)}", x_hat)]),
        Row("scale and shift by the layer's γ and β", [
            scalar(f"γ[{c}]", gamma), "·", scalar(f"x̂{ix(u)}", x_hat), "+",
            scalar(f"β[{c}]", beta), "=", scalar(f"o{ix(u)}", ex.value)]),
    ]


def _map_rows(fig: Figure, channel: np.ndarray, items: Callable[[int], list],
              what: str) -> None:
    """Below the numbers, one row of maps per example (at most MAX_MAPS), for orientation."""
    if channel.ndim < 2:
        return
    for e in range(min(channel.shape[0], MAX_MAPS)):
        fig.rows.append(Row(f"example e = {e}: {what}", items(e)))
    fig.notes += _maps_note(channel.shape[0])


def _batch_statistics(rec: StepRecord, u: tuple, mu: float, var: float) -> list[Row]:
    """μ_B and σ²_B of the unit's channel from one sum per example (each value, in 1-d)."""
    c = u[1]
    x = _channel(rec.values["input"], c)
    M = x.size
    dims = "·".join(str(d) for d in x.shape)
    per = x.ndim > 1
    return [
        _sums_row(f"the batch mean over M = {dims} = {M} values of channel {c}",
                  "Σ x per example" if per else f"x[:,{c}]", _per_example(x), f"Σ_e ÷ {M} =",
                  f"μ_B[{c}]", mu, u),
        _sums_row("the batch variance, biased (divided by M, not M − 1)",
                  "Σ (x − μ_B)² per example" if per else f"(x − μ_B)²[:,{c}]",
                  _per_example((x - mu) ** 2), f"Σ_e ÷ {M} =", f"σ²_B[{c}]", var, u),
    ]


def _running_rows(rec: StepRecord, layer: Layer, c: int, mu: float, var: float) -> list[Row]:
    """running ← (1 − momentum)·running + momentum·batch (the variance unbiased)."""
    v, mom = rec.values, layer.config["momentum"]
    M = _channel(rec.values["input"], c).size
    op = f"× {1 - mom:.4g} + {mom:.4g} ×"
    rows = []
    for key, batch, value in (("running_mean", f"μ_B[{c}]", mu),
                              ("running_var", "σ²_B × M/(M − 1)", var * M / max(M - 1, 1))):
        caption = (f"{key}[{c}] moves (momentum {mom:.4g}); eval mode normalises with it"
                   if key == "running_mean" else
                   f"{key}[{c}] takes the unbiased batch variance, σ²_B·M/(M − 1), M = {M}")
        rows.append(Row(caption, [
            _named_scalar("before", f"{key}[{c}] before", float(v[f"{key}_before"][c])), op,
            scalar(batch, value, key == "running_mean"), "=",
            _named_scalar("after", f"{key}[{c}] after", float(v[f"{key}_after"][c]))]))
    return rows


def _named_scalar(caption: str, name: str, value: float) -> Grid:
    """A 1×1 grid with a short caption, its full symbol on hover."""
    return Grid(caption, np.array([[value]]), value < 0, names=[[name]])


# ----- batch norm backward ---------------------------------------------------------------


def _bn_backward(view: PassView, rec: StepRecord, fwd: StepRecord, layer: Layer,
                 ex: Explanation) -> Figure:
    """Training: Σδ and Σ(δ·x̂) over the channel, then three terms; eval: γ/σ·δ."""
    u, c = ex.unit, ex.unit[1]
    training = fwd.meta.get("training", True)
    var = float(fwd.values["var"][c])
    var_sym = "σ²_B" if training else "running_var"
    fig = Figure(f"{step_title(rec)}: δ_in{ix(u)} = " + (
        "γ/σ·δ − γ/(M·σ)·Σδ − γ·x̂/(M·σ)·Σ(δ·x̂)" if training else "γ/σ·δ   (eval mode)"))
    gamma = gamma_beta(view, layer, c)[0]
    known = [*_sigma(var_sym, var, layer.config["eps"], c), ",", scalar(f"γ[{c}]", gamma)]
    if training:
        known += [",", scalar(f"x̂{ix(u)}", float(fwd.values["x_hat"][u]))]
    fig.rows.append(Row(f"from the forward step {fwd.name} and the pass's parameters", known))
    if training:
        _delta_sums(fig, rec, fwd, u)
    names = ["γ/σ", "−γ/(M·σ)", "−γ·x̂/(M·σ)"][: len(ex.terms)]
    factors = [f"δ{ix(u)}", "Σδ", "Σ(δ·x̂)"][: len(ex.terms)]
    a = np.array([t[0] for t in ex.terms])
    b = np.array([t[1] for t in ex.terms])
    fig.rows.append(Row("the terms" + (", one per path from x to E" if training else ""), [
        column("coefficient", a, names, True, names), "·",
        column("factor", b, factors, True, factors), "=",
        column("coefficient·factor", a * b, [f"{p}·{q}" for p, q in zip(names, factors,
                                                                       strict=True)], True),
        "Σ =", scalar(f"δ_in{ix(u)}", ex.value)]))
    if training:
        fig.notes.append("μ_B and σ²_B depend on every x of the channel, so every δ of the "
                         "channel reaches this unit: the two sums are those paths.")
        delta, x_hat = _channel(rec.values["grad_output"], c), _channel(fwd.values["x_hat"], c)
        _map_rows(fig, delta, lambda e: [
            _example_map("δ", delta, e, c, u), "×", _example_map("x̂", x_hat, e, c, u), "=",
            _example_map("δ×x̂", delta * x_hat, e, c, u)],
            f"δ and x̂ (from {fwd.name}) of channel {c}, which the sums add up")
    return fig


def _delta_sums(fig: Figure, rec: StepRecord, fwd: StepRecord, u: tuple) -> None:
    """Rows: Σδ and Σ(δ·x̂) over the unit's channel, from one sum per example."""
    c = u[1]
    delta, x_hat = _channel(rec.values["grad_output"], c), _channel(fwd.values["x_hat"], c)
    prod = delta * x_hat
    per = delta.ndim > 1
    fig.rows.append(_sums_row(f"Σδ over channel {c} of the batch",
                              "Σ δ per example" if per else f"δ[:,{c}]", _per_example(delta),
                              "Σ_e =", "Σδ", float(delta.sum()), u))
    fig.rows.append(_sums_row(f"Σ(δ·x̂) over channel {c} of the batch",
                              "Σ δ×x̂ per example" if per else f"δ×x̂[:,{c}]", _per_example(prod),
                              "Σ_e =", "Σ(δ·x̂)", float(prod.sum()), u))


def _bn_param(rec: StepRecord, fwd: StepRecord, ex: Explanation) -> Figure:
    """∂E/∂γ[c] = Σ δ·x̂, ∂E/∂β[c] = Σ δ over the channel: a sum per example, then Σ_e."""
    c = ex.unit[1][0]
    weight = ex.unit[0] == "weight"
    symbol = "γ" if weight else "β"
    delta = _channel(rec.values["grad_output"], c)
    x_hat = _channel(fwd.values["x_hat"], c)
    what = delta * x_hat if weight else delta
    fig = Figure(f"{step_title(rec)}: ∂E/∂{symbol}[{c}] = " + ("Σ δ·x̂" if weight else "Σ δ")
                 + f" over channel {c} of the batch")
    per = "Σ per example" if delta.ndim > 1 else ("δ×x̂" if weight else "δ") + f"[:,{c}]"
    fig.rows.append(_sums_row("one sum per example, then over the mini-batch", per,
                              _per_example(what), "Σ_e =", f"∂E/∂{symbol}[{c}]", ex.value, None))

    def maps(e: int) -> list:
        items: list = [_example_map("δ", delta, e, c, None)]
        if weight:
            items += ["×", _example_map("x̂", x_hat, e, c, None), "=",
                      _example_map("δ×x̂", what, e, c, None)]
        return [*items, "Σ =", scalar(f"Σ for e={e}", float(what[e].sum()))]

    _map_rows(fig, delta, maps, f"channel {c}")
    return fig


# ----- dropout -----------------------------------------------------------------------------


def _dropout(rec: StepRecord, fwd: StepRecord, layer: Layer, ex: Explanation) -> Figure:
    """x (or δ) × mask/(1 − p_drop); the identity in eval mode."""
    u, p = ex.unit, layer.config["p"]
    forward = rec.kind == "forward"
    src, dst = ("x", "o") if forward else ("δ", "δ_in")
    tensors = (rec.values["input"], rec.values["output"]) if forward else \
        (rec.values["grad_output"], rec.values["grad_input"])
    a, b = ex.terms[0]
    if "mask" not in fwd.values:
        fig = Figure(f"{step_title(rec)}: {dst}{ix(u)} = {src}{ix(u)}   (eval mode)")
        fig.rows.append(Row("eval mode: dropout passes every unit through unchanged", [
            scalar(f"{src}{ix(u)}", b), "=", scalar(f"{dst}{ix(u)}", ex.value)]))
        return fig
    fig = Figure(f"{step_title(rec)}: {dst}{ix(u)} = {src}{ix(u)}·mask{ix(u)}/(1 − p_drop)")
    mask = float(fwd.values["mask"][u])
    fig.rows.append(Row(f"this unit was {'kept' if mask else 'dropped'} by {fwd.name} "
                        f"(p_drop = {p:.4g}: kept with probability {1 - p:.4g})", [
        scalar(f"mask{ix(u)}", mask, False), "÷", scalar("1 − p_drop", 1 - p, False), "=",
        scalar(f"mask{ix(u)}/(1 − p_drop)", a, False)]))
    fig.rows.append(Row("the scaled mask times the " + ("input" if forward else "delta"), [
        scalar(f"mask{ix(u)}/(1 − p_drop)", a, False), "·", scalar(f"{src}{ix(u)}", b), "=",
        scalar(f"{dst}{ix(u)}", ex.value)]))
    src_map, lead, rest = map_of(tensors[0], u)
    fig.rows.append(Row("the unit's whole map, framed: every cell has its own mask entry", [
        plane(f"{src}{ix(lead)}", src_map, src, lead, rest, signed=True), "×",
        plane(f"mask{ix(lead)}", map_of(fwd.values["mask"], u)[0], "mask", lead, rest, False),
        "×", scalar("1/(1 − p_drop)", 1 / (1 - p), False), "=",
        plane(f"{dst}{ix(lead)}", map_of(tensors[1], u)[0], dst, lead, rest, signed=True)]))
    return fig
