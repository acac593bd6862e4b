"""Figures of forward steps: the input window ⊙ the kernel = products, Σ + b = x, f(x)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cnnviz.engine.explain_blocks import layer_at, step_name
from cnnviz.engine.explain_forward import activation_slope
from cnnviz.engine.figure import (
    Figure,
    Grid,
    Row,
    column,
    ix,
    labels,
    named,
    scalar,
    window,
)

if TYPE_CHECKING:
    from cnnviz.engine.explain_terms import Explanation
    from cnnviz.engine.records import PassView, StepRecord

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")


def is_signed(array: np.ndarray) -> bool:
    """Signed data get the diverging colours; non-negative activations the sequential."""
    return bool((np.asarray(array) < 0).any())


def forward_figure(st: PassView, rec: StepRecord, ex: Explanation) -> Figure | None:
    """The figure of a forward step's unit."""
    builder = _BUILDERS.get(rec.layer_type)
    if builder is None:
        return None
    if rec.layer_type in ACTIVATIONS:
        return _activation(st, rec, ex)
    return builder(st, rec, ex)


def _conv(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """Per input channel: window ⊙ w[k,c] = products, Σ; then Σ_c + b = x, then f(x)."""
    e, k, i, j = ex.unit
    cfg = st.net.layers[rec.layer].config
    (kh, kw), (sh, sw), (ph, pw) = cfg["kernel_size"], cfg["stride"], cfg["padding"]
    inp = rec.values["input"].astype(np.float64)
    params = st.pass_params()
    w = params[f"{rec.layer}.weight"].astype(np.float64)[k]
    signed = is_signed(inp)
    fig = Figure(f"x[{e},{k},{i},{j}]: input window ⊙ kernel, summed, plus the bias")
    partials = []
    for c in range(inp.shape[1]):
        vals, pad, rr, cc = window(inp[e, c], i * sh - ph, j * sw - pw, kh, kw)
        o_grid = Grid(f"o[{e},{c}] window", vals, signed, names=named("o", (e, c), rr, cc),
                      pad=pad, row_labels=labels(rr), col_labels=labels(cc))
        w_grid = Grid(f"w[{k},{c}]", w[c], True, names=named("w", (k, c), range(kh), range(kw)))
        prod = vals * w[c]
        partials.append(float(prod.sum()))
        p_grid = Grid(f"w·o, c={c}", prod, True, pad=pad)
        fig.rows.append(Row(f"input channel c = {c}", [o_grid, "⊙", w_grid, "=", p_grid, "Σ =",
                                                       scalar(f"Σ for c={c}", partials[-1])]))
    b = float(params[f"{rec.layer}.bias"][k])
    sums = column("Σ per channel", partials, [f"Σ for c={c}" for c in range(len(partials))], True,
                   [f"c={c}" for c in range(len(partials))])
    last: list[Grid | str] = [sums, "Σ_c +", scalar(f"b[{k}]", b), "=",
                              scalar(f"x[{e},{k},{i},{j}]", ex.value)]
    fig.rows.append(Row("sum over the channels, plus the bias (seed 001 eq. 7)",
                        last + _then_activation(st, rec.layer, (e, k, i, j))))
    fig.notes.append("⋆ = cross-correlation (eq. 1): the kernel is not flipped. Padded cells "
                     "(hatched) are zeros.")
    return fig


def _then_activation(st: PassView, layer: int, unit: tuple) -> list[Grid | str]:
    """`→ f →` o, when the next layer is an activation whose forward step has run."""
    after = layer_at(st, layer + 1)
    if after is None or after.type not in ACTIVATIONS:
        return []
    nxt = st.record(f"F{layer + 1}")
    if nxt is None:
        return []
    o = float(nxt.values["output"][unit])
    return [f"→ {after.type} ({step_name(st, f'F{layer + 1}')}) →", scalar(f"o{ix(unit)}", o)]


def _dense(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """o ⊙ w[k,:] = products, sorted by size; Σ + b = x."""
    e, k = ex.unit
    fig = Figure(f"x[{e},{k}]: input vector ⊙ weight row {k}, sorted by |product|")
    a = np.array([t[0] for t in ex.terms])
    o = np.array([t[1] for t in ex.terms])
    order = np.argsort(-np.abs(a * o), kind="stable")
    lab = [f"c={c}" for c in order]
    fig.rows.append(Row("every term, largest |w·o| first (scroll for all)", [
        column(f"o[{e},:]", o[order], [f"o[{e},{c}]" for c in order], is_signed(o), lab), "⊙",
        column(f"w[{k},:]", a[order], [f"w[{k},{c}]" for c in order], True, lab), "=",
        column("w·o", (a * o)[order], [f"w[{k},{c}]·o[{e},{c}]" for c in order], True, lab)]))
    total = float(sum(x * y for x, y in ex.terms))
    fig.rows.append(Row("sum plus the bias", [
        scalar("Σ_c w·o", total), "+", scalar(f"b[{k}]", ex.constant), "=",
        scalar(f"x[{e},{k}]", ex.value), *_then_activation(st, rec.layer, (e, k))]))
    return fig


def _activation(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """x → f → o, and f′(x)."""
    u = ix(ex.unit)
    x = float(rec.values["input"][ex.unit])
    slope = float(st.net.layers[rec.layer].config.get("negative_slope", 0.01))
    d = activation_slope(rec.layer_type, x, ex.value, slope)
    fig = Figure(f"o{u} = {rec.layer_type}(x{u})")
    fig.rows.append(Row("the activation", [scalar(f"x{u}", x), f"→ {rec.layer_type} →",
                                           scalar(f"o{u}", ex.value, ex.value < 0)]))
    fig.rows.append(Row("its slope, which the backward step multiplies by",
                        [scalar(f"x{u}", x), "f′ →", scalar(f"f′(x{u})", d, False)]))
    return fig


def _pool_window(st: PassView, rec: StepRecord, ex: Explanation) -> tuple[Grid, tuple]:
    """The pooling window of the unit, padding marked (the max pool's winner too)."""
    e, c, i, j = ex.unit
    cfg = st.net.layers[rec.layer].config
    (kh, kw), (sh, sw), (ph, pw) = cfg["kernel_size"], cfg["stride"], cfg["padding"]
    inp = rec.values["input"].astype(np.float64)
    vals, pad, rr, cc = window(inp[e, c], i * sh - ph, j * sw - pw, kh, kw)
    grid = Grid(f"o[{e},{c}] window", vals, is_signed(inp), names=named("o", (e, c), rr, cc),
                pad=pad, row_labels=labels(rr), col_labels=labels(cc))
    if "winner" in ex.cells:
        _, r, col = ex.cells["winner"]
        grid.marks["winner"] = [(rr.index(r), cc.index(col))]
    return grid, (kh, kw)


def _maxpool(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """Window with its winner marked → max → x."""
    grid, _ = _pool_window(st, rec, ex)
    fig = Figure(f"x{ix(ex.unit)}: the largest value of the window (winner marked)")
    fig.rows.append(Row("max pooling", [grid, "max →", scalar(f"x{ix(ex.unit)}", ex.value,
                                                               grid.signed)]))
    fig.notes.append("Padded cells never win; ties go to the first maximum in row order.")
    return fig


def _avgpool(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """Window ⊙ 1/(k₁·k₂) = shares, Σ = x."""
    grid, (kh, kw) = _pool_window(st, rec, ex)
    share = np.full(grid.values.shape, 1.0 / (kh * kw))
    fig = Figure(f"x{ix(ex.unit)}: the mean of the window, 1/({kh}·{kw}) of each cell")
    fig.rows.append(Row("average pooling (padded cells count as 0)", [
        grid, "⊙", Grid(f"1/{kh * kw}", share, False), "=",
        Grid(f"o·1/{kh * kw}", grid.values * share, grid.signed, pad=grid.pad), "Σ =",
        scalar(f"x{ix(ex.unit)}", ex.value, grid.signed)]))
    return fig


def _flatten(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """One input cell copied to its C-order position."""
    e, k = ex.unit
    src = list(ex.cells["input"][0])
    fig = Figure(f"x[{e},{k}] = o[{e},{','.join(map(str, src))}] (C order)")
    fig.rows.append(Row("flatten copies", [scalar(f"o[{e},{','.join(map(str, src))}]",
                                                  ex.value), "=", scalar(f"x[{e},{k}]",
                                                                         ex.value)]))
    return fig


_BUILDERS = {"conv2d": _conv, "dense": _dense, "maxpool2d": _maxpool, "avgpool2d": _avgpool,
             "flatten": _flatten, **{t: _activation for t in ACTIVATIONS}}
