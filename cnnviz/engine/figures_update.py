"""Figures of the loss step (logits, softmax, target) and of the update step (the rule)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cnnviz.engine.figure import Figure, Grid, Row, scalar
from cnnviz.engine.notation import state_symbol, update_rule

if TYPE_CHECKING:
    from cnnviz.engine.explain_terms import Explanation
    from cnnviz.engine.records import PassView, StepRecord


def _vector(symbol: str, values: np.ndarray, mark: int | None, signed: bool = True) -> Grid:
    """A column vector over the classes k, one cell marked."""
    values = np.asarray(values, dtype=np.float64)
    base = symbol.split("[")[0]
    lead = symbol[len(base) + 1 : -1]
    grid = Grid(symbol, values[:, None], signed,
                names=[[f"{base}[{lead},{k}]"] for k in range(values.size)],
                row_labels=[f"k={k}" for k in range(values.size)])
    if mark is not None:
        grid.marks["winner"] = [(mark, 0)]
    return grid


def loss_figure(st: PassView, rec: StepRecord, ex: Explanation) -> Figure:
    """(e,): per-example losses and their mean; (e, k): (p − t)/N or (ŷ − t)/N."""
    z = rec.values["logits"].astype(np.float64)
    ce = rec.layer_type == "cross_entropy"
    e = ex.unit[0]
    y = int(st.y[e])
    t = np.eye(z.shape[1])[y]
    zs = "z" if ce else "ŷ"
    rows = [_vector(f"{zs}[{e}]", z[e], None)]
    if ce:
        p = rec.values["probabilities"].astype(np.float64)[e]
        rows += ["softmax →", _vector(f"p[{e}]", p, y, False)]
    rows += ["target", _vector(f"t[{e}]", t, y, False)]
    if len(ex.unit) == 1:
        return _loss_value(st, rec, ex, rows, z, t)
    k = ex.unit[1]
    N = z.shape[0]
    grad = rec.values["grad_logits"].astype(np.float64)[e]
    fig = Figure(f"∂E/∂{zs}[{e},{k}] = ({'p' if ce else 'ŷ'}[{e},{k}] − t[{e},{k}])/{N}")
    fig.rows.append(Row(f"example e = {e}, label y = {y} (marked)", rows))
    fig.rows.append(Row(f"({'p' if ce else 'ŷ'} − t)/N for every class; class {k} marked", [
        _vector(f"∂E/∂{zs}[{e}]", grad, k), "→", scalar(f"∂E/∂{zs}[{e},{k}]", ex.value)]))
    return fig


def _loss_value(st: PassView, rec: StepRecord, ex: Explanation, rows: list,
                z: np.ndarray, t: np.ndarray) -> Figure:
    """The mean of the per-example losses, example e's spelled out."""
    e = ex.unit[0]
    ell = np.array([b for _, b in ex.terms])
    fig = Figure(f"E = (1/{len(ell)})·Σ_e ℓ[e], with example {e}'s ℓ[{e}]")
    if rec.layer_type == "cross_entropy":
        y = int(st.y[e])
        p = float(rec.values["probabilities"][e, y])
        rows = [*rows, f"−log p[{e},{y}] =", scalar(f"ℓ[{e}]", float(ell[e]), False)]
        fig.rows.append(Row(f"example e = {e}: −log of the label's probability (p = {p:.6g})",
                            rows))
    else:
        sq = (z[e] - t) ** 2
        fig.rows.append(Row(f"example e = {e}", rows))
        fig.rows.append(Row("½·Σ_k (ŷ − t)²", [_vector(f"(ŷ−t)²[{e}]", sq, None, False),
                                                 "½·Σ =", scalar(f"ℓ[{e}]", float(ell[e]),
                                                                 False)]))
    per = Grid("ℓ per example", ell[:, None], False, names=[[f"ℓ[{n}]"] for n in range(len(ell))],
               row_labels=[f"e={n}" for n in range(len(ell))], marks={"winner": [(e, 0)]})
    fig.rows.append(Row("mean over the mini-batch", [per, "mean =", scalar("E", ex.value,
                                                                             False)]))
    return fig


def update_figure(st: PassView, rec: StepRecord, ex: Explanation, opt: Any) -> Figure:
    """Every named quantity of the optimizer's rule for one parameter entry."""
    name, index = ex.unit
    u = ",".join(map(str, index))
    hp = opt.hyperparams
    w = float(rec.values[f"{name}_before"][index])
    g = float(rec.values[f"{name}_grad"][index])
    fig = Figure(f"{name}[{u}] ← {opt.name}", notes=update_rule(opt))
    hyper = [scalar(k, float(v), False) for k, v in _hyper_symbols(opt.name, hp).items()]
    if hyper:
        fig.rows.append(Row("hyper-parameters", hyper))
    state = {k: v[index] if isinstance(v, np.ndarray) else v
             for k, v in opt.update_terms(name).items()}
    named = [scalar(state_symbol(opt.name, k), float(v), k != "step") for k, v in state.items()]
    named += _adam_hats(opt, state)
    if named:
        fig.rows.append(Row("the optimizer's state for this entry, after the step", named))
    fig.rows.append(Row("the parameter before and after", [
        scalar(f"w = {name}[{u}]", w), "g = ∂E/∂w", scalar("g", g), "→",
        scalar(f"w′ = {name}[{u}]", ex.value)]))
    return fig


def _hyper_symbols(optimizer: str, hp: dict) -> dict[str, float]:
    """The hyper-parameters a rule uses, keyed by their symbols."""
    keys = {"lr": "η", "momentum": "μ", "dampening": "τ", "weight_decay": "λ", "alpha": "α",
            "rho": "ρ", "eps": "ε", "lr_decay": "lr_decay"}
    out = {sym: float(hp[k]) for k, sym in keys.items() if k in hp and not isinstance(hp[k], bool)}
    if "betas" in hp:
        out["β₁"], out["β₂"] = (float(b) for b in hp["betas"])
    return out


def _adam_hats(opt: Any, state: dict[str, Any]) -> list[Grid]:
    """Adam's bias-corrected m̂ and v̂ for this entry."""
    if opt.name != "Adam":
        return []
    (b1, b2), t = opt.hyperparams["betas"], int(state["step"])
    v = state["max_exp_avg_sq" if opt.hyperparams["amsgrad"] else "exp_avg_sq"]
    return [scalar("m̂", float(state["exp_avg"]) / (1 - b1**t)),
            scalar("v̂", float(v) / (1 - b2**t), False)]
