"""Explanations of forward steps: one unit of a layer's output from its inputs.

Symbols from `cnnviz.engine.notation`: `o` is a layer's input (the previous output),
`x` what it computes, `w`, `b` the parameters; `e` the example, `k` the output channel
or unit, `c` the input channel or unit, `m, n` the kernel offsets (seed 001).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cnnviz.engine.explain_terms import (
    Explanation,
    TermSum,
    check_unit,
    fmt,
    fmt_factor,
    idx,
    make,
    sum_text,
)

if TYPE_CHECKING:
    from cnnviz.engine.records import PassView, StepRecord


def explain_forward(st: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """Explain one unit `(n, c, i, j)` or `(n, k)` of the layer's output."""
    out = rec.values["output"]
    unit = check_unit(unit, out.shape, f"the output of {rec.name} ({rec.layer_type})")
    layer = st.net.layers[rec.layer]
    handler = _HANDLERS.get(rec.layer_type)
    if handler is None:
        raise ValueError(f"no explanation for forward steps of layer type {rec.layer_type!r}")
    return handler(st, rec, layer, unit)


def _window(cfg: dict, i: int, j: int, H: int, W: int) -> list[tuple[int, int, int, int]]:
    """(m, q, row, col) of each kernel offset whose input cell is inside the map."""
    kh, kw = cfg["kernel_size"]
    sh, sw = cfg["stride"]
    ph, pw = cfg["padding"]
    cells = []
    for m in range(kh):
        for q in range(kw):
            r, c = i * sh - ph + m, j * sw - pw + q
            if 0 <= r < H and 0 <= c < W:
                cells.append((m, q, r, c))
    return cells


def _conv(st: PassView, rec: StepRecord, layer: Any, unit: tuple) -> Explanation:
    """x[e,k,i,j] = Σ_c Σ_m Σ_n w[k,c,m,n]·o[e,c,S·i+m−P, S·j+n−P] + b[k] (eq. 7)."""
    n, o, i, j = unit
    inp = rec.values["input"].astype(np.float64)
    params = st.pass_params()
    w = params[f"{rec.layer}.weight"].astype(np.float64)
    b = float(params[f"{rec.layer}.bias"][o])
    _, C, H, W = inp.shape
    s = TermSum()
    cells: dict[str, list] = {"input": [], "weight": []}
    for c in range(C):
        for m, q, r, col in _window(layer.config, i, j, H, W):
            s.add(w[o, c, m, q], inp[n, c, r, col], f"w{idx(o, c, m, q)}", f"o{idx(c, r, col)}")
            cells["input"].append((c, r, col))
            cells["weight"].append((o, c, m, q))
    cells["bias"] = [(o,)]
    recorded = rec.values["output"][unit]
    lhs = f"x{idx(*unit)}"
    value = s.total(b)
    text = sum_text(lhs, s, b, f"b{idx(o)}", value, recorded)
    sh, sw = layer.config["stride"]
    ph, pw = layer.config["padding"]
    formula = (
        f"x[e,k,i,j] = Σ_c Σ_m Σ_n w[k,c,m,n]·o[e,c,{sh}·i+m−{ph},{sw}·j+n−{pw}] + b[k]"
        " = Σ_c (o[e,c] ⋆ w[k,c])[i,j] + b[k]"
        "   (seed 001 eq. 7; ⋆ = cross-correlation; padded cells are 0 and left out)"
    )
    return make(st, rec.name, unit, s, b, recorded, text=text, formula=formula, cells=cells)


def _dense(st: PassView, rec: StepRecord, layer: Any, unit: tuple) -> Explanation:
    """x[e,k] = Σ_c w[k,c]·o[e,c] + b[k]."""
    n, o = unit
    inp = rec.values["input"].reshape(rec.values["input"].shape[0], -1).astype(np.float64)
    params = st.pass_params()
    w = params[f"{rec.layer}.weight"].astype(np.float64)
    b = float(params[f"{rec.layer}.bias"][o])
    s = TermSum()
    for k in range(inp.shape[1]):
        s.add(w[o, k], inp[n, k], f"w{idx(o, k)}", f"o{idx(k)}")
    recorded = rec.values["output"][unit]
    text = sum_text(f"x{idx(*unit)}", s, b, f"b{idx(o)}", s.total(b), recorded)
    cells = {
        "input": [(k,) for k in range(inp.shape[1])],
        "weight": [(o, k) for k in range(inp.shape[1])],
        "bias": [(o,)],
    }
    formula = "x[e,k] = Σ_c w[k,c]·o[e,c] + b[k]"
    return make(st, rec.name, unit, s, b, recorded, text=text, formula=formula, cells=cells)


ACTIVATION_FORMULAS = {
    "relu": ("max(0, {x})", "f'(x) = 1 if x > 0 else 0"),
    "leaky_relu": ("{x} if {x} > 0 else {a}·{x}", "f'(x) = 1 if x > 0 else {a}"),
    "sigmoid": ("1 / (1 + e^(−{x}))", "f'(x) = f(x)·(1 − f(x))"),
    "tanh": ("tanh({x})", "f'(x) = 1 − f(x)²"),
}


def activation_formulas(layer_type: str, x: str, slope: float) -> tuple[str, str]:
    """(f with `x` filled in, f′ in words) of an activation, for explanation texts."""
    f_text, d_text = ACTIVATION_FORMULAS[layer_type]
    a = fmt(slope)
    return f_text.format(x=x, a=a), d_text.format(a=a)


def activation_slope(layer_type: str, x: float, o: float, slope: float) -> float:
    """f'(x) of an activation, from its input x and output o (as the backward uses)."""
    if layer_type == "relu":
        return 1.0 if x > 0 else 0.0
    if layer_type == "leaky_relu":
        return 1.0 if x > 0 else slope
    if layer_type == "sigmoid":
        return o * (1.0 - o)
    return 1.0 - o * o


def activation_value(layer_type: str, x: float, slope: float) -> float:
    """f(x) in float64."""
    if layer_type == "relu":
        return max(0.0, x)
    if layer_type == "leaky_relu":
        return x if x > 0 else slope * x
    if layer_type == "sigmoid":
        return float(1.0 / (1.0 + np.exp(-x)))
    return float(np.tanh(x))


def _activation(st: PassView, rec: StepRecord, layer: Any, unit: tuple) -> Explanation:
    """o = f(x) for one unit, with f'(x); relu and leaky relu as slope·x (piecewise linear)."""
    t = rec.layer_type
    x = float(rec.values["input"][unit])
    recorded = float(rec.values["output"][unit])
    slope = float(layer.config.get("negative_slope", 0.01))
    value = activation_value(t, x, slope)
    d = activation_slope(t, x, value, slope)
    f_num, d_text = activation_formulas(t, fmt_factor(x), slope)
    f_sym = activation_formulas(t, "x", slope)[0]
    piecewise = t in ("relu", "leaky_relu")
    terms = [(d, x)] if piecewise else []
    u = idx(*unit)
    text = (
        f"o{u} = {t}(x{u}) = {f_sym} = {f_num} = {fmt(value)}\n"
        f"{d_text}:  f'({fmt(x)}) = {fmt(d)}"
    )
    return Explanation(
        step=rec.name, layer=rec.layer, unit=unit, kind=rec.kind, terms=terms, constant=0.0,
        value=value, recorded=recorded, text=text, formula=f"o = {t}(x) = {f_sym}",
        cells={"input": [unit[1:]]}, linear=piecewise,
    )


def _maxpool(st: PassView, rec: StepRecord, layer: Any, unit: tuple) -> Explanation:
    """x[e,c,i,j] = max over the window; the winner is the recorded argmax."""
    n, c, i, j = unit
    inp = rec.values["input"]
    H, W = inp.shape[2:]
    winner = divmod(int(rec.values["argmax"][unit]), W)
    window = [(c, r, col) for _, _, r, col in _window(layer.config, i, j, H, W)]
    s = TermSum()
    s.add(1.0, float(inp[n, c, winner[0], winner[1]]), "1", f"o{idx(c, *winner)}")
    shown = ", ".join(fmt(inp[n, cc, r, col]) for cc, r, col in window[:9])
    more = f", … ({len(window) - 9} more)" if len(window) > 9 else ""
    recorded = float(rec.values["output"][unit])
    rows = (window[0][1], window[-1][1])
    cols = (window[0][2], window[-1][2])
    text = (
        f"x{idx(*unit)} = max of o[{c}, rows {rows[0]}…{rows[1]}, cols {cols[0]}…{cols[1]}]\n"
        f"{' ' * len(f'x{idx(*unit)}')} = max({shown}{more})\n"
        f"{' ' * len(f'x{idx(*unit)}')} = {fmt(s.total())}, won by o{idx(c, *winner)}"
    )
    cells = {"window": window, "winner": (c, *winner)}
    (sh, sw), (ph, pw) = layer.config["stride"], layer.config["padding"]
    formula = (f"x[e,c,i,j] = max_(m,n) o[e,c,{sh}·i+m−{ph},{sw}·j+n−{pw}]"
               "  (first maximum wins ties; padding never wins)")
    return make(st, rec.name, unit, s, 0.0, recorded, text=text, formula=formula, cells=cells)


def _avgpool(st: PassView, rec: StepRecord, layer: Any, unit: tuple) -> Explanation:
    """x[e,c,i,j] = (1/(k₁·k₂))·Σ window (padded cells count as zeros)."""
    n, c, i, j = unit
    inp = rec.values["input"].astype(np.float64)
    H, W = inp.shape[2:]
    kh, kw = layer.config["kernel_size"]
    s = TermSum()
    window = []
    for _, _, r, col in _window(layer.config, i, j, H, W):
        s.add(1.0 / (kh * kw), inp[n, c, r, col], f"1/{kh * kw}", f"o{idx(c, r, col)}")
        window.append((c, r, col))
    recorded = float(rec.values["output"][unit])
    text = sum_text(f"x{idx(*unit)}", s, 0.0, None, s.total(), recorded)
    (sh, sw), (ph, pw) = layer.config["stride"], layer.config["padding"]
    formula = (f"x[e,c,i,j] = (1/{kh * kw})·Σ_m Σ_n o[e,c,{sh}·i+m−{ph},{sw}·j+n−{pw}]"
               "  (padding counts as 0)")
    return make(
        st, rec.name, unit, s, 0.0, recorded, text=text, formula=formula,
        cells={"window": window},
    )


def _flatten(st: PassView, rec: StepRecord, layer: Any, unit: tuple) -> Explanation:
    """x[e,k] = o[e,c,i,j] with k = (c·H + i)·W + j (C order)."""
    n, k = unit
    inp = rec.values["input"]
    src = tuple(int(v) for v in np.unravel_index(k, inp.shape[1:]))
    s = TermSum()
    s.add(1.0, float(inp[(n, *src)]), "1", f"o{idx(*src)}")
    recorded = float(rec.values["output"][unit])
    dims = "·".join(str(d) for d in inp.shape[2:])
    text = (
        f"x{idx(*unit)} = o{idx(*src)}   (k = {k} = c·{dims} + … in C order)\n"
        f"{' ' * len(f'x{idx(*unit)}')} = {fmt(s.total())}"
    )
    formula = "x[e,k] = o[e,c,i,j],  k = (c·H + i)·W + j"
    return make(
        st, rec.name, unit, s, 0.0, recorded, text=text, formula=formula,
        cells={"input": [src]},
    )


_HANDLERS = {
    "conv2d": _conv,
    "dense": _dense,
    "relu": _activation,
    "leaky_relu": _activation,
    "sigmoid": _activation,
    "tanh": _activation,
    "maxpool2d": _maxpool,
    "avgpool2d": _avgpool,
    "flatten": _flatten,
}
