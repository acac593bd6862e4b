"""Explanations of batch norm and dropout steps, in training and in eval mode.

Batch norm (unit u in channel c, M values of that channel in the batch):
forward `μ_B = (1/M)·Σ x`, `σ²_B = (1/M)·Σ (x − μ_B)²` (biased), `x̂ = (x − μ_B)/√(σ²_B + ε)`,
`o = γ·x̂ + β`; eval mode uses the running mean and variance instead. Backward in training
mode has three terms, because μ_B and σ²_B depend on every x of the channel:
`δ_in = γ/σ·δ − γ/(M·σ)·Σδ − γ·x̂/(M·σ)·Σ(δ·x̂)` with `σ = √(σ²_B + ε)`; in eval mode
`δ_in = γ/σ·δ`. `∂E/∂γ = Σ δ·x̂`, `∂E/∂β = Σ δ`. Dropout: `o = x·mask/(1 − p_drop)` with
the recorded mask (1 kept, 0 dropped), `δ_in = δ·mask/(1 − p_drop)`; eval mode is the
identity. The symbols are those of `notation.BLOCK_SYMBOLS`.
"""

from __future__ import annotations

import math
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
from cnnviz.engine.steps import layer_of, parse_step

if TYPE_CHECKING:
    from cnnviz.core.layers import Layer
    from cnnviz.engine.records import PassView, StepRecord

NORM_TYPES = ("batchnorm2d", "batchnorm1d", "dropout")


def explain_norm(view: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """A unit of a batch norm or dropout step: its output (F), input delta or γ/β grad (B)."""
    layer = layer_of(view.net, parse_step(rec.name))
    fwd = view.record(rec.name.replace("B", "F", 1))
    if isinstance(unit, tuple | list) and unit and isinstance(unit[0], str):
        return _bn_param(view, rec, fwd, layer, tuple(unit))
    key = "output" if rec.kind == "forward" else "grad_input"
    where = "output" if rec.kind == "forward" else "input delta"
    unit = check_unit(unit, rec.values[key].shape, f"the {where} of {rec.name} ({rec.layer_type})")
    if rec.layer_type == "dropout":
        return _dropout(view, rec, fwd, layer, unit)
    if rec.kind == "forward":
        return _bn_forward(view, rec, layer, unit)
    return _bn_backward(view, rec, fwd, layer, unit)


def gamma_beta(view: PassView, layer: Layer, c: int) -> tuple[float, float]:
    """γ[c] and β[c] as this pass used them."""
    params = view.pass_params()
    return float(params[f"{layer.key}.weight"][c]), float(params[f"{layer.key}.bias"][c])


def _channel(array: np.ndarray, c: int) -> np.ndarray:
    """Every value of channel (or feature) c over the batch and positions, float64."""
    return np.asarray(array[:, c], dtype=np.float64)


def channel_stats(fwd: StepRecord, c: int) -> tuple[float, float]:
    """The mean and variance a batch norm forward step normalised channel c with: in
    training mode the batch's (recomputed in float64, the variance biased), in eval mode
    the recorded running ones."""
    if not fwd.meta.get("training", True):
        return float(fwd.values["mean"][c]), float(fwd.values["var"][c])
    x = _channel(fwd.values["input"], c)
    mu = float(x.mean())
    return mu, float(((x - mu) ** 2).mean())


def _stats_text(fwd: StepRecord, c: int, training: bool) -> tuple[float, float, str]:
    """μ and σ² the forward step normalised with, and the lines saying where they came from."""
    mu, var = channel_stats(fwd, c)
    if not training:
        return mu, var, (f"eval mode: running_mean[{c}] = {fmt(mu)}, running_var[{c}] "
                         f"= {fmt(var)} (the running statistics, not the batch's)")
    x = _channel(fwd.values["input"], c)
    M = x.size
    dims = "·".join(str(d) for d in (fwd.values["input"].shape[0], *x.shape[1:]))
    lines = (f"μ_B[{c}] = (1/M)·Σ x = (1/{M})·{fmt_factor(x.sum())} = {fmt(mu)}"
             f"   (M = {dims} = {M} values of channel {c} in the batch)\n"
             f"σ²_B[{c}] = (1/M)·Σ (x − μ_B)² = {fmt(var)}   (biased: divided by M)")
    return mu, var, lines


def _running_text(fwd: StepRecord, c: int) -> str:
    """How the forward step moved the running statistics of channel c."""
    v = fwd.values
    parts = [f"{key}[{c}]: {fmt(v[f'{key}_before'][c])} → {fmt(v[f'{key}_after'][c])}"
             for key in ("running_mean", "running_var")]
    return ("running statistics: " + ";  ".join(parts)
            + "   (← (1 − momentum)·running + momentum·batch, the variance unbiased ·M/(M − 1))")


def _bn_forward(view: PassView, rec: StepRecord, layer: Layer, unit: tuple) -> Explanation:
    """o[u] = γ[c]·x̂[u] + β[c], x̂ from the batch's (training) or running (eval) statistics."""
    c, training = unit[1], rec.meta.get("training", True)
    mu, var, head = _stats_text(rec, c, training)
    eps = layer.config["eps"]
    x = float(rec.values["input"][unit])
    x_hat = (x - mu) / math.sqrt(var + eps)
    gamma, beta = gamma_beta(view, layer, c)
    s = TermSum()
    s.add(gamma, x_hat, f"γ{idx(c)}", f"x̂{idx(*unit)}")
    recorded = float(rec.values["output"][unit])
    mean, var_sym = ("μ_B", "σ²_B") if training else ("running_mean", "running_var")
    text = "\n".join([
        head,
        f"x̂{idx(*unit)} = (x − {mean})/√({var_sym} + ε) = "
        f"({fmt(x)} − {fmt_factor(mu)})/√({fmt(var)} + {fmt(eps)}) = {fmt(x_hat)}",
        sum_text(f"o{idx(*unit)}", s, beta, f"β{idx(c)}", s.total(beta), recorded),
    ] + ([_running_text(rec, c)] if training else []))
    formula = ("o = γ·x̂ + β,  x̂ = (x − μ_B)/√(σ²_B + ε)   (μ_B, σ²_B: mean and biased "
               "variance of the channel over the batch)" if training else
               "o = γ·(x − running_mean)/√(running_var + ε) + β   (eval mode)")
    cells = {"input": [unit[1:]], "channel": c}
    return make(view, rec.name, unit, s, beta, recorded, text=text, formula=formula, cells=cells)


def _bn_backward(view: PassView, rec: StepRecord, fwd: StepRecord, layer: Layer,
                 unit: tuple) -> Explanation:
    """The three-term batch norm backward (training), or γ/σ·δ (eval), for one input unit."""
    c, training = unit[1], fwd.meta.get("training", True)
    sigma = math.sqrt(float(fwd.values["var"][c]) + layer.config["eps"])
    gamma = gamma_beta(view, layer, c)[0]
    delta, x_hat = rec.values["grad_output"], fwd.values["x_hat"]
    d, xh = float(delta[unit]), float(x_hat[unit])
    s = TermSum()
    s.add(gamma / sigma, d, "γ/σ", f"δ{idx(*unit)}")
    var_sym = "σ²_B" if training else "running_var"
    head = f"σ = √({var_sym} + ε) = {fmt(sigma)}, γ{idx(c)} = {fmt(gamma)}"
    if training:
        M = _channel(delta, c).size
        sum_d = float(_channel(delta, c).sum())
        sum_dx = float((_channel(delta, c) * _channel(x_hat, c)).sum())
        s.add(-gamma / (M * sigma), sum_d, "(−γ/(M·σ))", "Σδ")
        s.add(-gamma * xh / (M * sigma), sum_dx, "(−γ·x̂/(M·σ))", "Σ(δ·x̂)")
        head += f", M = {M}, x̂{idx(*unit)} = {fmt(xh)}; sums over channel {c} of the batch"
    recorded = float(rec.values["grad_input"][unit])
    text = head + "\n" + sum_text(f"δ_in{idx(*unit)}", s, 0.0, None, s.total(), recorded)
    formula = ("δ_in = γ/(M·σ)·(M·δ − Σδ − x̂·Σ(δ·x̂))   (μ_B and σ²_B depend on every x "
               "of the channel)" if training else
               "δ_in = γ/σ·δ   (eval mode: running_mean and running_var are constants)")
    cells = {"grad_output": [unit[1:]], "channel": c}
    return make(view, rec.name, unit, s, 0.0, recorded, text=text, formula=formula, cells=cells)


def _bn_param(view: PassView, rec: StepRecord, fwd: StepRecord, layer: Layer,
              unit: tuple) -> Explanation:
    """∂E/∂γ[c] = Σ δ·x̂ and ∂E/∂β[c] = Σ δ over channel c of the batch."""
    if rec.kind != "backward" or rec.layer_type == "dropout" or len(unit) != 2 \
            or unit[0] not in ("weight", "bias"):
        raise ValueError(f"parameter unit {unit!r}: only B steps of batch norm have "
                         "('weight', (c,)) and ('bias', (c,)) gradients")
    key = f"grad_{unit[0]}"
    (c,) = check_unit(unit[1], rec.values[key].shape, f"{unit[0]} of layer {layer.key}")
    delta = _channel(rec.values["grad_output"], c)
    where = [(n, c, *rest) for n, *rest in np.ndindex(*delta.shape)]
    if unit[0] == "bias":
        s = TermSum(lambda k: ("1", f"δ{idx(*where[k])}"))
        s.extend(np.ones(delta.size), delta)
    else:
        s = TermSum(lambda k: (f"δ{idx(*where[k])}", f"x̂{idx(*where[k])}"))
        s.extend(delta, _channel(fwd.values["x_hat"], c))
    recorded = float(rec.values[key][c])
    symbol = "γ" if unit[0] == "weight" else "β"
    text = sum_text(f"∂E/∂{symbol}{idx(c)}", s, 0.0, None, s.total(), recorded)
    text += f"\n(sums over the {delta.size} values of channel {c} in the batch)"
    formula = "∂E/∂γ[c] = Σ δ·x̂" if unit[0] == "weight" else "∂E/∂β[c] = Σ δ"
    return make(view, rec.name, (unit[0], (c,)), s, 0.0, recorded, text=text, formula=formula,
                cells={"channel": c})


def _dropout(view: PassView, rec: StepRecord, fwd: StepRecord, layer: Layer,
             unit: tuple) -> Explanation:
    """o = x·mask/(1 − p_drop) forward, δ_in = δ·mask/(1 − p_drop) backward; the identity
    in eval mode."""
    p = layer.config["p"]
    forward = rec.kind == "forward"
    src = rec.values["input"] if forward else rec.values["grad_output"]
    lhs, sym = (f"o{idx(*unit)}", f"x{idx(*unit)}") if forward else \
        (f"δ_in{idx(*unit)}", f"δ{idx(*unit)}")
    s = TermSum()
    recorded = float(rec.values["output" if forward else "grad_input"][unit])
    if "mask" not in fwd.values:
        s.add(1.0, float(src[unit]), "1", sym)
        text = sum_text(lhs, s, 0.0, None, s.total(), recorded)
        text += "\n(eval mode: dropout passes every unit through unchanged)"
        return make(view, rec.name, unit, s, 0.0, recorded, text=text,
                    formula="o = x   (eval mode)" if forward else "δ_in = δ   (eval mode)")
    mask = float(fwd.values["mask"][unit])
    s.add(mask / (1 - p), float(src[unit]), "mask/(1 − p_drop)", sym)
    text = sum_text(lhs, s, 0.0, None, s.total(), recorded)
    state = "kept" if mask else "dropped"
    text += (f"\nmask{idx(*unit)} = {fmt(mask)}: {state} (each unit is kept with probability "
             f"1 − p_drop = {fmt(1 - p)}); kept units are scaled by 1/(1 − p_drop) = "
             f"{fmt(1 / (1 - p))}")
    formula = ("o = x·mask/(1 − p_drop)   (inverted dropout, the mask from the network's "
               "generator)" if forward else
               "δ_in = δ·mask/(1 − p_drop)   (the same mask as the forward step)")
    return make(view, rec.name, unit, s, 0.0, recorded, text=text, formula=formula,
                cells={"mask": [unit[1:]]})
