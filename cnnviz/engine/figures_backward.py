"""Figures of backward steps: δ over region Q ⊙ rot180(w), δ ⋆ input, routing, δ·f′(x)."""

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
from cnnviz.engine.figures_forward import ACTIVATIONS, is_signed
from cnnviz.engine.notation import SEED_MAPPING

if TYPE_CHECKING:
    from cnnviz.engine.explain_terms import Explanation
    from cnnviz.engine.records import PassView, StepRecord


def backward_figure(st: PassView, rec: StepRecord, ex: Explanation) -> Figure | None:
    """The figure of a backward step's unit (an input delta or a parameter gradient)."""
    if isinstance(ex.unit[0], str):
        kind = "bias" if ex.unit[0] == "bias" else rec.layer_type
        return _PARAM[kind](st, rec, ex)
    if rec.layer_type in ACTIVATIONS:
        return _activation(st, rec, ex)
    builder = _INPUT.get(rec.layer_type)
    return builder(st, rec, ex) if builder is not None else None


def dilated_window(delta: np.ndarray, r0: int, c0: int, kh: int, kw: int,
                   stride: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, list, list]:
    """A kh×kw window of δ↑S (S − 1 zeros between cells) starting at (r0, c0).

    Returns (values, mask of padded or inserted zeros, δ rows, δ cols) with -1 for a row
    or column that is not a cell of δ.
    """
    Ho, Wo = delta.shape
    rows = [(r0 + a) // stride[0] if (r0 + a) % stride[0] == 0 else -1 for a in range(kh)]
    cols = [(c0 + b) // stride[1] if (c0 + b) % stride[1] == 0 else -1 for b in range(kw)]
    rows = [r if 0 <= r < Ho and r0 + a >= 0 else -1 for a, r in enumerate(rows)]
    cols = [c if 0 <= c < Wo and c0 + b >= 0 else -1 for b, c in enumerate(cols)]
    pad = np.array([[r < 0 or c < 0 for c in cols] for r in rows])
    values = np.array([[0.0 if r < 0 or c < 0 else delta[r, c] for c in cols] for r in rows])
    return values, pad, rows, cols


def _conv_input(st: PassView, rec: StepRecord, ex: Explanation, seed: bool = False) -> Figure:
    """Per output channel k: δ map with Q, δ over Q ⊙ rot180(w[k,c]) = products, Σ."""
    e, c, ii, jj = ex.unit
    cfg = st.net.layers[rec.layer].config
    (kh, kw), (sh, sw), (ph, pw) = cfg["kernel_size"], cfg["stride"], cfg["padding"]
    delta = rec.values["grad_output"].astype(np.float64)
    w = st.pass_params()[f"{rec.layer}.weight"].astype(np.float64)
    fig = Figure(f"δ_in[{e},{c},{ii},{jj}]: δ over region Q ⊙ rot180(w), summed over k")
    partials = []
    for k in range(delta.shape[1]):
        vals, pad, rr, cc = dilated_window(delta[e, k], ii + ph - kh + 1, jj + pw - kw + 1,
                                           kh, kw, (sh, sw))
        rot = w[k, c, ::-1, ::-1]
        prod = vals * rot
        partials.append(float(prod.sum()))
        q = [(r, col) for r in rr if r >= 0 for col in cc if col >= 0]
        full = Grid(f"δ[{e},{k}], Q outlined", delta[e, k], True,
                    names=named("δ", (e, k), range(delta.shape[2]), range(delta.shape[3])),
                    marks={"hit": q} if (sh, sw) != (1, 1) else {}, box=_box(q),
                    overview=True)
        win = Grid(f"δ[{e},{k}] over Q", vals, True, pad=pad,
                   names=[[f"δ[{e},{k},{r},{col}]" if r >= 0 and col >= 0 else "0 (pad)"
                           for col in cc] for r in rr],
                   row_labels=[str(r) if r >= 0 else "·" for r in rr],
                   col_labels=[str(col) if col >= 0 else "·" for col in cc])
        rg = Grid(f"rot180(w[{k},{c}])", rot, True,
                  names=[[f"w[{k},{c},{kh - 1 - a},{kw - 1 - b}]" for b in range(kw)]
                         for a in range(kh)])
        fig.rows.append(Row(f"output channel k = {k}: region Q outlined", [
            full, win, "⊙", rg, "=", Grid(f"δ·w, k={k}", prod, True, pad=pad), "Σ =",
            scalar(f"Σ for k={k}", partials[-1])]))
    ks = range(len(partials))
    sums = column("Σ per output channel", partials, [f"Σ for k={k}" for k in ks], True,
                  [f"k={k}" for k in ks])
    fig.rows.append(Row("sum over the output channels (seed 001 eq. 16–20)", [
        sums, "Σ_k =", scalar(f"δ_in[{e},{c},{ii},{jj}]", ex.value)]))
    fig.notes.append("Full cross-correlation of the zero-padded δ with rot180(w), which is "
                     "the true convolution δ * w. Hatched cells are padding"
                     + (" or the zeros a stride inserts (δ↑S)." if (sh, sw) != (1, 1) else "."))
    return _seed_form(st, rec, ex, fig) if seed else fig


def _box(cells: list[tuple[int, int]]) -> tuple[int, int, int, int] | None:
    """Bounding (r0, r1, c0, c1) of cells, inclusive; None if there are none."""
    if not cells:
        return None
    rows, cols = [r for r, _ in cells], [c for _, c in cells]
    return min(rows), max(rows), min(cols), max(cols)


def seed_form(st: PassView, rec: StepRecord, ex: Explanation) -> Figure | None:
    """The seeds' combined form of a backward conv input delta (eq. 20–22), or None."""
    if rec.layer_type != "conv2d" or isinstance(ex.unit[0], str):
        return None
    return _conv_input(st, rec, ex, seed=True)


def _seed_form(st: PassView, rec: StepRecord, ex: Explanation, fig: Figure) -> Figure:
    """Fold the f′ of the activation before the conv layer into δ_in: δ^l = δ_in·f′(x^l)."""
    e, c, ii, jj = ex.unit
    L = rec.layer
    fig.title = f"δ^l[{c},{ii},{jj}] in the seeds' form: Σ δ^(l+1)·w^(l+1) · f′(x^l)"
    fig.notes = [SEED_MAPPING,
                 "eq. 20: δ^l[i′,j′] = Σ_m Σ_n δ^(l+1)[i′−m, j′−n]·w^(l+1)[m,n] · f′(x^l[i′,j′]); "
                 "read with eq. 1–3 this is (δ^(l+1) * w^(l+1))·f′ = (pad(δ^(l+1)) ⋆ "
                 "rot180(w^(l+1)))·f′. Eq. 22 writes δ * rot180(w): with * the true convolution "
                 "that flips the kernel twice, so it should read ⋆."]
    before = layer_at(st, L - 1)
    fwd = st.record(f"F{L - 1}") if before is not None else None
    if before is None or before.type not in ACTIVATIONS or fwd is None:
        what = "the network input" if before is None else \
            f"layer {step_name(st, f'F{L - 1}')[1:]} ({before.type})"
        fig.notes.append(f"Here the conv layer's input is {what}, not an activation: there is "
                         "no f′ to fold in, and δ^l is the δ_in above.")
        return fig
    x = float(fwd.values["input"][ex.unit])
    o = float(fwd.values["output"][ex.unit])
    slope = float(before.config.get("negative_slope", 0.01))
    d = activation_slope(before.type, x, o, slope)
    u = f"[{e},{c},{ii},{jj}]"
    fig.rows.append(Row(f"× f′(x^l) of {before.type} (step {step_name(st, f'B{L - 1}')} of "
                        "the app)", [
        scalar(f"δ_in{u}", ex.value), "×", scalar(f"f′(x^l{u})", d, False), "=",
        scalar(f"δ^l{u}", ex.value * d)]))
    fig.rows.append(Row("x^l is the input of the activation, from its forward step "
                        f"{step_name(st, f'F{L - 1}')}", [
        scalar(f"x^l{u}", x), f"→ {before.type} →", scalar(f"o^l{u}", o, o < 0)]))
    return fig


def _conv_weight(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """Per example: δ[e,k] ⊙ the input window it meets at offset (m,n) = products, Σ."""
    k, c, m, n = ex.unit[1]
    cfg = st.net.layers[rec.layer].config
    (sh, sw), (ph, pw) = cfg["stride"], cfg["padding"]
    delta = rec.values["grad_output"].astype(np.float64)
    o_in = st.record(f"F{rec.layer}").values["input"].astype(np.float64)
    Ho, Wo = delta.shape[2:]
    fig = Figure(f"∂E/∂w[{k},{c},{m},{n}]: δ ⋆ input window, summed over the batch")
    partials = []
    for e in range(delta.shape[0]):
        vals, pad, rr, cc = window(o_in[e, c], m - ph, n - pw, Ho, Wo, (sh, sw))
        prod = delta[e, k] * vals
        partials.append(float(prod.sum()))
        fig.rows.append(Row(f"example e = {e}", [
            Grid(f"δ[{e},{k}]", delta[e, k], True,
                 names=named("δ", (e, k), range(Ho), range(Wo))), "⊙",
            Grid(f"o[{e},{c}] at offset ({m},{n})", vals, is_signed(o_in), pad=pad,
                 names=named("o", (e, c), rr, cc), row_labels=labels(rr), col_labels=labels(cc)),
            "=", Grid(f"δ·o, e={e}", prod, True, pad=pad), "Σ =",
            scalar(f"Σ for e={e}", partials[-1])]))
    fig.rows.append(_batch_row(partials, f"∂E/∂w[{k},{c},{m},{n}]", ex.value))
    fig.notes.append("seed 001 eq. 13–14: every output position's δ times the input cell the "
                     "weight met there; o ⋆ δ (δ↑S for a stride S > 1), hatched = padding.")
    return fig


def _batch_row(partials: list[float], symbol: str, value: float) -> Row:
    """Per-example partial sums, and their total."""
    grid = column("Σ per example", partials, [f"Σ for e={e}" for e in range(len(partials))], True,
                   [f"e={e}" for e in range(len(partials))])
    return Row("sum over the mini-batch", [grid, "Σ_e =", scalar(symbol, value)])


def _bias(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """Per example: Σ δ[e,k] over positions; then over the batch."""
    k = ex.unit[1][0]
    delta = rec.values["grad_output"].astype(np.float64)
    fig = Figure(f"∂E/∂b[{k}]: every δ of output channel {k}, summed")
    partials = []
    for e in range(delta.shape[0]):
        d = delta[e, k] if delta.ndim == 4 else delta[e, k : k + 1]
        d2 = np.atleast_2d(d)
        partials.append(float(d2.sum()))
        fig.rows.append(Row(f"example e = {e}", [
            Grid(f"δ[{e},{k}]", d2, True, names=named("δ", (e, k), range(d2.shape[0]),
                                                     range(d2.shape[1]))
                 if delta.ndim == 4 else [[f"δ[{e},{k}]"]]),
            "Σ =", scalar(f"Σ for e={e}", partials[-1])]))
    fig.rows.append(_batch_row(partials, f"∂E/∂b[{k}]", ex.value))
    return fig


def _dense_weight(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """δ[:,k] ⊙ o[:,c] = one product per example, Σ."""
    k, c = ex.unit[1]
    d = np.array([t[0] for t in ex.terms])
    o = np.array([t[1] for t in ex.terms])
    lab = [f"e={e}" for e in range(len(d))]
    fig = Figure(f"∂E/∂w[{k},{c}] = Σ_e δ[e,{k}]·o[e,{c}]")
    fig.rows.append(Row("one product per example", [
        column(f"δ[:,{k}]", d, [f"δ[{e},{k}]" for e in range(len(d))], True, lab), "⊙",
        column(f"o[:,{c}]", o, [f"o[{e},{c}]" for e in range(len(o))], is_signed(o), lab), "=",
        column("δ·o", d * o, [f"δ[{e},{k}]·o[{e},{c}]" for e in range(len(d))], True, lab),
        "Σ_e =", scalar(f"∂E/∂w[{k},{c}]", ex.value)]))
    return fig


def _dense_input(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """w[:,c] ⊙ δ[e,:] = products, sorted by size; Σ."""
    e = ex.unit[0]
    c = ex.cells["weight"][0][1] if ex.cells["weight"] else 0
    a = np.array([t[0] for t in ex.terms])
    d = np.array([t[1] for t in ex.terms])
    order = np.argsort(-np.abs(a * d), kind="stable")
    lab = [f"k={k}" for k in order]
    u = ",".join(map(str, ex.unit))
    fig = Figure(f"δ_in[{u}] = Σ_k w[k,{c}]·δ[{e},k], largest first")
    fig.rows.append(Row("every term (scroll for all)", [
        column(f"w[:,{c}]", a[order], [f"w[{k},{c}]" for k in order], True, lab), "⊙",
        column(f"δ[{e},:]", d[order], [f"δ[{e},{k}]" for k in order], True, lab), "=",
        column("w·δ", (a * d)[order], [f"w[{k},{c}]·δ[{e},{k}]" for k in order], True, lab),
        "Σ_k =", scalar(f"δ_in[{u}]", ex.value)]))
    return fig


def _activation(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """δ × f′(x) = δ_in, with x and f(x) from the forward step."""
    u = ix(ex.unit)
    f_prime, delta = ex.terms[0]
    fwd = st.record(f"F{rec.layer}")
    x, o = float(fwd.values["input"][ex.unit]), float(fwd.values["output"][ex.unit])
    fig = Figure(f"δ_in{u} = δ{u}·f′(x{u}),  f = {rec.layer_type}")
    fig.rows.append(Row("the delta times the activation's slope", [
        scalar(f"δ{u}", delta), "×", scalar(f"f′(x{u})", f_prime, False), "=",
        scalar(f"δ_in{u}", ex.value)]))
    fig.rows.append(Row(f"x and f(x) from the forward step F{rec.name[1:]}", [
        scalar(f"x{u}", x), f"→ {rec.layer_type} →", scalar(f"o{u}", o, o < 0)]))
    return fig


def _pool_backward(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """δ map with the windows that send to this cell marked; Σ (× 1/(k₁·k₂)) = δ_in."""
    e, c, ii, jj = ex.unit
    delta = rec.values["grad_output"].astype(np.float64)[e, c]
    hits = [(i, j) for _, i, j in ex.cells["grad_output"]]
    grid = Grid(f"δ[{e},{c}]", delta, True, marks={"hit": hits},
                names=named("δ", (e, c), range(delta.shape[0]), range(delta.shape[1])),
                overview=delta.size > 64)
    u = ",".join(map(str, ex.unit))
    routed = rec.values["grad_input"].astype(np.float64)[e, c]
    plane = Grid(f"δ_in[{e},{c}]", routed, True, marks={"winner": [(ii, jj)]},
                 names=named("δ_in", (e, c), range(routed.shape[0]), range(routed.shape[1])),
                 overview=True)
    if rec.layer_type == "maxpool2d":
        fig = Figure(f"δ_in[{u}]: the δ of every window o[{e},{c},{ii},{jj}] won (marked)")
        op = "Σ marked ="
    else:
        kh, kw = st.net.layers[rec.layer].config["kernel_size"]
        fig = Figure(f"δ_in[{u}]: 1/({kh}·{kw}) of every window covering ({ii},{jj})")
        op = f"Σ marked × 1/({kh}·{kw}) ="
    sent = column("δ sent here", [delta[i, j] for i, j in hits],
                  [f"δ[{e},{c},{i},{j}]" for i, j in hits], True, [f"({i},{j})" for i, j in hits])
    items = [grid, sent, op] if hits else [grid, "nothing sent here →"]
    fig.rows.append(Row("the δ of the pooled map; the windows that send to this cell marked",
                        [*items, scalar(f"δ_in[{u}]", ex.value)]))
    fig.rows.append(Row("where the deltas go: the whole input delta of the channel", [plane]))
    return fig


def _flatten(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """δ[e,k] copied back to its (c, i, j)."""
    u = ",".join(map(str, ex.unit))
    k = ex.cells["grad_output"][0][0]
    fig = Figure(f"δ_in[{u}] = δ[{ex.unit[0]},{k}]")
    fig.rows.append(Row("flatten copies back", [scalar(f"δ[{ex.unit[0]},{k}]", ex.value), "=",
                                                scalar(f"δ_in[{u}]", ex.value)]))
    return fig


_INPUT = {"conv2d": _conv_input, "dense": _dense_input, "maxpool2d": _pool_backward,
          "avgpool2d": _pool_backward, "flatten": _flatten}
_PARAM = {"conv2d": _conv_weight, "dense": _dense_weight, "bias": _bias}
