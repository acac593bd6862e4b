"""Explanations of backward steps: one delta of a layer's input, or one parameter gradient.

`δ` is the delta of the layer's output (`grad_output`), `δ_in` that of its input
(`grad_input`), `o` the layer's forward input. Units are indices into the layer's input
(its delta), or `("weight", (k, c, m, n))` / `("bias", (k,))` for parameter gradients.
Symbols as in `cnnviz.engine.notation`: `⋆` cross-correlation, `*` true convolution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cnnviz.engine.explain_forward import activation_formulas, activation_slope
from cnnviz.engine.explain_terms import (
    Explanation,
    TermSum,
    check_unit,
    fmt,
    idx,
    make,
    sum_text,
)

if TYPE_CHECKING:
    from cnnviz.engine.records import PassView, StepRecord

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")


def explain_backward(st: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """Explain a unit of the input delta, or a ("weight"|"bias", index) gradient entry."""
    if isinstance(unit, tuple | list) and unit and isinstance(unit[0], str):
        return _param_grad(st, rec, tuple(unit))
    grad_in = rec.values["grad_input"]
    unit = check_unit(unit, grad_in.shape, f"the input delta of {rec.name} ({rec.layer_type})")
    layer = st.net.layers[rec.layer]
    fwd = st.record(f"F{rec.layer}")
    t = rec.layer_type
    if t in ACTIVATIONS:
        return _activation(st, rec, fwd, layer, unit)
    handlers = {
        "conv2d": _conv_input,
        "dense": _dense_input,
        "maxpool2d": _maxpool,
        "avgpool2d": _avgpool,
        "flatten": _flatten,
    }
    if t not in handlers:
        raise ValueError(f"no explanation for backward steps of layer type {t!r}")
    return handlers[t](st, rec, fwd, layer, unit)


def _param_grad(st: PassView, rec: StepRecord, unit: tuple) -> Explanation:
    """∂E/∂w or ∂E/∂b of a conv or dense layer."""
    if len(unit) != 2 or unit[0] not in ("weight", "bias"):
        raise ValueError(
            f"parameter unit {unit!r} must be ('weight', index) or ('bias', index)"
        )
    key = f"grad_{unit[0]}"
    if key not in rec.values:
        raise ValueError(f"{rec.name} ({rec.layer_type}) has no parameters, so no {unit[0]} grad")
    index = check_unit(unit[1], rec.values[key].shape, f"{unit[0]} of layer {rec.layer}")
    fwd = st.record(f"F{rec.layer}")
    layer = st.net.layers[rec.layer]
    delta = rec.values["grad_output"].astype(np.float64)
    o_in = fwd.values["input"].astype(np.float64)
    if unit[0] == "bias":
        s, cells, formula = _bias_terms(delta, index[0])
    elif rec.layer_type == "conv2d":
        s, cells, formula = _conv_weight_terms(delta, o_in, layer.config, index)
    else:
        s, cells, formula = _dense_weight_terms(delta, o_in, index)
    recorded = float(rec.values[key][index])
    lhs = f"∂E/∂{'w' if unit[0] == 'weight' else 'b'}{idx(*index)}"
    text = sum_text(lhs, s, 0.0, None, s.total(), recorded)
    return make(
        st, rec.name, (unit[0], index), s, 0.0, recorded, text=text, formula=formula,
        cells=cells,
    )


def _positions(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every index tuple of an array shape, in C order."""
    return list(zip(*(a.ravel().tolist() for a in np.indices(shape)), strict=True))


def _bias_terms(delta: np.ndarray, o: int) -> tuple[TermSum, dict, str]:
    """∂E/∂b[o] = Σ δ[n,o,…] over the batch (and positions): terms (1, δ)."""
    sel = delta[:, o]
    where = _positions(sel.shape)
    s = TermSum(lambda k: ("1", f"δ{idx(where[k][0], o, *where[k][1:])}"))
    s.extend(np.ones(sel.size), sel)
    cells = {"grad_output": [(p[0], o, *p[1:]) for p in where]}
    formula = "∂E/∂b[k] = Σ_e Σ_i Σ_j δ[e,k,i,j]" if delta.ndim == 4 else "∂E/∂b[k] = Σ_e δ[e,k]"
    return s, cells, formula


def _conv_weight_terms(
    delta: np.ndarray, o_in: np.ndarray, cfg: dict, index: tuple
) -> tuple[TermSum, dict, str]:
    """Terms δ[e,k,i,j]·o[e,c,S·i+m−P, S·j+n−P] over the batch and output positions."""
    o, c, m, q = index
    sh, sw = cfg["stride"]
    ph, pw = cfg["padding"]
    N, _, Ho, Wo = delta.shape
    H, W = o_in.shape[2:]
    rows = [(i, i * sh - ph + m) for i in range(Ho) if 0 <= i * sh - ph + m < H]
    cols = [(j, j * sw - pw + q) for j in range(Wo) if 0 <= j * sw - pw + q < W]
    i_out, i_in = (list(t) for t in zip(*rows, strict=True)) if rows else ([], [])
    j_out, j_in = (list(t) for t in zip(*cols, strict=True)) if cols else ([], [])
    d = delta[:, o][:, i_out][:, :, j_out]
    x = o_in[:, c][:, i_in][:, :, j_in]
    where = _positions(d.shape)  # (n, row number, col number)

    def label(k: int) -> tuple[str, str]:
        n, a, b = where[k]
        return f"δ{idx(n, o, i_out[a], j_out[b])}", f"o{idx(n, c, i_in[a], j_in[b])}"

    s = TermSum(label)
    s.extend(d, x)
    cells = {
        "grad_output": [(n, o, i_out[a], j_out[b]) for n, a, b in where],
        "input": [(n, c, i_in[a], j_in[b]) for n, a, b in where],
    }
    up = "δ" if (sh, sw) == (1, 1) else f"δ↑{sh if sh == sw else (sh, sw)}"
    formula = (f"∂E/∂w[k,c,m,n] = Σ_e Σ_i Σ_j δ[e,k,i,j]·o[e,c,{sh}·i+m−{ph},{sw}·j+n−{pw}]"
               f" = Σ_e (o[e,c] ⋆ {up}[e,k])[m,n]   (seed 001 eq. 13–14; o zero-padded by P)")
    return s, cells, formula


def _dense_weight_terms(
    delta: np.ndarray, o_in: np.ndarray, index: tuple
) -> tuple[TermSum, dict, str]:
    """∂E/∂w[k,c] = Σ_e δ[e,k]·o[e,c]."""
    o, k = index
    flat = o_in.reshape(o_in.shape[0], -1)
    N = delta.shape[0]
    s = TermSum(lambda n: (f"δ{idx(n, o)}", f"o{idx(n, k)}"))
    s.extend(delta[:, o], flat[:, k])
    cells = {"grad_output": [(n, o) for n in range(N)], "input": [(n, k) for n in range(N)]}
    return s, cells, "∂E/∂w[k,c] = Σ_e δ[e,k]·o[e,c]"


def _conv_input(st, rec, fwd, layer, unit) -> Explanation:
    """δ_in[e,c,i′,j′] = Σ_k Σ_m Σ_n δ[e,k,i′−m,j′−n]·w[k,c,m,n]: δ convolved with w."""
    n, c, ii, jj = unit
    delta = rec.values["grad_output"].astype(np.float64)
    w = st.pass_params()[f"{rec.layer}.weight"].astype(np.float64)
    O, _, kh, kw = w.shape
    sh, sw = layer.config["stride"]
    ph, pw = layer.config["padding"]
    Ho, Wo = delta.shape[2:]
    s = TermSum()
    cells: dict[str, list] = {"grad_output": [], "weight": []}
    for o in range(O):
        for m in range(kh):
            i, ri = divmod(ii + ph - m, sh)
            if ri or not 0 <= i < Ho:
                continue
            for q in range(kw):
                j, rj = divmod(jj + pw - q, sw)
                if rj or not 0 <= j < Wo:
                    continue
                s.add(delta[n, o, i, j], w[o, c, m, q], f"δ{idx(o, i, j)}", f"w{idx(o, c, m, q)}")
                cells["grad_output"].append((o, i, j))
                cells["weight"].append((o, c, m, q))
    recorded = float(rec.values["grad_input"][unit])
    text = sum_text(f"δ_in{idx(*unit)}", s, 0.0, None, s.total(), recorded)
    text += ("\n(the full cross-correlation of the zero-padded δ with rot180(w), which is "
             "the true convolution δ * w, summed over output channels k")
    if cells["grad_output"]:
        rows = sorted({p[1] for p in cells["grad_output"]})
        cols = sorted({p[2] for p in cells["grad_output"]})
        text += (
            f"; region Q = output rows {rows[0]}…{rows[-1]}, cols {cols[0]}…{cols[-1]}: "
            "the positions whose window covers this input cell"
        )
    text += ")"
    up = "δ" if (sh, sw) == (1, 1) else f"δ↑{sh if sh == sw else (sh, sw)}"
    formula = (
        f"δ_in[e,c,i′,j′] = Σ_k Σ_m Σ_n δ[e,k,(i′+{ph}−m)/{sh},(j′+{pw}−n)/{sw}]·w[k,c,m,n]"
        f" = Σ_k ({up}[e,k] * w[k,c])[i′+{ph},j′+{pw}]"
        f" = Σ_k (pad({up}[e,k]) ⋆ rot180(w[k,c]))[i′+{ph},j′+{pw}]"
        "   (seed 001 eq. 16–20; only terms whose division is exact; pad: k₁−1, k₂−1 zeros)"
    )
    return make(st, rec.name, unit, s, 0.0, recorded, text=text, formula=formula, cells=cells)


def _dense_input(st, rec, fwd, layer, unit) -> Explanation:
    """δ_in[e,c] = Σ_k w[k,c]·δ[e,k] (the transpose of the forward weights)."""
    n = unit[0]
    k = int(np.ravel_multi_index(unit[1:], rec.values["grad_input"].shape[1:]))
    delta = rec.values["grad_output"].astype(np.float64)
    w = st.pass_params()[f"{rec.layer}.weight"].astype(np.float64)
    s = TermSum()
    for o in range(w.shape[0]):
        s.add(w[o, k], delta[n, o], f"w{idx(o, k)}", f"δ{idx(o)}")
    recorded = float(rec.values["grad_input"][unit])
    text = sum_text(f"δ_in{idx(*unit)}", s, 0.0, None, s.total(), recorded)
    cells = {"grad_output": [(o,) for o in range(w.shape[0])],
             "weight": [(o, k) for o in range(w.shape[0])]}
    formula = "δ_in[e,c] = Σ_k w[k,c]·δ[e,k]   (δ_in = wᵀ·δ)"
    return make(st, rec.name, unit, s, 0.0, recorded, text=text, formula=formula, cells=cells)


def _activation(st, rec, fwd, layer, unit) -> Explanation:
    """δ_in = δ·f′(x), with f′ from the forward step's input and output."""
    t = rec.layer_type
    x = float(fwd.values["input"][unit])
    o = float(fwd.values["output"][unit])
    slope = float(layer.config.get("negative_slope", 0.01))
    d = activation_slope(t, x, o, slope)
    delta = float(rec.values["grad_output"][unit])
    s = TermSum()
    s.add(d, delta, "f′(x)", f"δ{idx(*unit[1:])}")
    recorded = float(rec.values["grad_input"][unit])
    text = sum_text(f"δ_in{idx(*unit)}", s, 0.0, None, s.total(), recorded)
    text += f"\nx = {fmt(x)}, f(x) = {fmt(o)}; {activation_formulas(t, 'x', slope)[1]}"
    formula = (f"δ_in[e,c,i,j] = δ[e,c,i,j]·f′(x[e,c,i,j]),  f = {t},  x = the input of "
               f"F{rec.name[1:]}")
    return make(st, rec.name, unit, s, 0.0, recorded, text=text, formula=formula,
                cells={"grad_output": [unit[1:]], "input": [unit[1:]]})


def _maxpool(st, rec, fwd, layer, unit) -> Explanation:
    """The delta goes to the window's winner only: Σ of δ over the windows this cell won."""
    n, c, ii, jj = unit
    W = fwd.values["input"].shape[3]
    won = np.argwhere(fwd.values["argmax"][n, c] == ii * W + jj)
    delta = rec.values["grad_output"].astype(np.float64)
    s = TermSum()
    windows = []
    for i, j in won:
        s.add(1.0, delta[n, c, i, j], "1", f"δ{idx(c, i, j)}")
        windows.append((c, int(i), int(j)))
    recorded = float(rec.values["grad_input"][unit])
    text = sum_text(f"δ_in{idx(*unit)}", s, 0.0, None, s.total(), recorded)
    text += (
        f"\n(o{idx(c, ii, jj)} won {len(windows)} pooling window(s); "
        "a cell that wins nothing gets 0)"
    )
    formula = ("δ_in[e,c,i′,j′] = Σ over the windows (i,j) won by (i′,j′) of δ[e,c,i,j]"
               "   (0 if none)")
    cells = {"grad_output": windows, "winner": (c, ii, jj)}
    return make(st, rec.name, unit, s, 0.0, recorded, text=text, formula=formula, cells=cells)


def _avgpool(st, rec, fwd, layer, unit) -> Explanation:
    """Each covering window passes back 1/(kh·kw) of its delta."""
    n, c, ii, jj = unit
    kh, kw = layer.config["kernel_size"]
    sh, sw = layer.config["stride"]
    ph, pw = layer.config["padding"]
    delta = rec.values["grad_output"].astype(np.float64)
    Ho, Wo = delta.shape[2:]
    s = TermSum()
    windows = []
    for i in range(Ho):
        if not i * sh - ph <= ii < i * sh - ph + kh:
            continue
        for j in range(Wo):
            if j * sw - pw <= jj < j * sw - pw + kw:
                s.add(1.0 / (kh * kw), delta[n, c, i, j], f"1/{kh * kw}", f"δ{idx(c, i, j)}")
                windows.append((c, i, j))
    recorded = float(rec.values["grad_input"][unit])
    text = sum_text(f"δ_in{idx(*unit)}", s, 0.0, None, s.total(), recorded)
    formula = f"δ_in[e,c,i′,j′] = Σ over the windows (i,j) covering (i′,j′) of δ[e,c,i,j]/{kh * kw}"
    return make(st, rec.name, unit, s, 0.0, recorded, text=text, formula=formula,
                cells={"grad_output": windows})


def _flatten(st, rec, fwd, layer, unit) -> Explanation:
    """δ_in[e,c,i,j] = δ[e,k] with k the C-order index of (c,i,j)."""
    n = unit[0]
    k = int(np.ravel_multi_index(unit[1:], rec.values["grad_input"].shape[1:]))
    s = TermSum()
    s.add(1.0, float(rec.values["grad_output"][n, k]), "1", f"δ{idx(k)}")
    recorded = float(rec.values["grad_input"][unit])
    text = sum_text(f"δ_in{idx(*unit)}", s, 0.0, None, s.total(), recorded)
    formula = "δ_in[e,c,i,j] = δ[e,k],  k = (c·H + i)·W + j"
    return make(st, rec.name, unit, s, 0.0, recorded, text=text, formula=formula,
                cells={"grad_output": [(k,)]})
