"""Explanations of the loss step (softmax, loss, ∂E/∂logits) and of the update step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cnnviz.core.optim import optimizer_from_state
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
from cnnviz.engine.notation import state_symbol, update_rule

if TYPE_CHECKING:
    from cnnviz.engine.records import PassView, StepRecord


def _per_example_losses(loss: str, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ℓ[e] in float64: −log softmax(z[e])[y[e]], or ½·Σ_k (ŷ[e,k] − t[e,k])²."""
    if loss == "cross_entropy":
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -log_p[np.arange(len(y)), y]
    t = np.eye(z.shape[1])[y]
    return 0.5 * ((z - t) ** 2).sum(axis=1)


def explain_loss(st: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """(e,): the batch loss as the mean of per-example losses; (e, k): ∂E/∂z[e,k]."""
    z = rec.values["logits"].astype(np.float64)
    unit = (unit,) if isinstance(unit, int | np.integer) else tuple(unit)
    if len(unit) == 1:
        check_unit(unit, z.shape[:1], "the loss (one unit per example)")
        return _loss_value(st, rec, z, int(unit[0]))
    unit = check_unit(unit, z.shape, "the logits")
    return _loss_grad(st, rec, z, unit)


def _loss_value(st: PassView, rec: StepRecord, z: np.ndarray, n: int) -> Explanation:
    """E = (1/N)·Σ_e ℓ[e], with example n's ℓ[n] spelled out."""
    losses = _per_example_losses(rec.layer_type, z, st.y)
    N = len(losses)
    s = TermSum()
    for m, lm in enumerate(losses):
        s.add(1.0 / N, lm, f"1/{N}", f"ℓ{idx(m)}")
    y = int(st.y[n])
    if rec.layer_type == "cross_entropy":
        p = float(rec.values["probabilities"][n, y])
        detail = (
            f"ℓ{idx(n)} = −log softmax(z{idx(n)})[{y}] = −log p{idx(n, y)} = −log {fmt(p)}"
            f" = {fmt(losses[n])}"
        )
        formula = ("E = (1/N)·Σ_e ℓ[e],  ℓ[e] = −log p[e,y[e]],"
                   "  p[e,k] = exp(z[e,k]) / Σ_k′ exp(z[e,k′])")
    else:
        squares = " + ".join(f"({fmt(z[n, k])} − {int(k == y)})²" for k in range(z.shape[1]))
        if z.shape[1] > 10:
            squares = "…"
        detail = (f"ℓ{idx(n)} = ½·Σ_k (ŷ[{n},k] − t[{n},k])² with t[{n}] = onehot({y})\n"
                  f"{' ' * len(f'ℓ{idx(n)}')} = ½·({squares}) = {fmt(losses[n])}")
        formula = "E = (1/N)·Σ_e ℓ[e],  ℓ[e] = ½·Σ_k (ŷ[e,k] − t[e,k])²"
    recorded = float(rec.values["loss"])
    text = sum_text("E", s, 0.0, None, s.total(), recorded) + "\n" + detail
    cells = {"logits": [(n, k) for k in range(z.shape[1])], "target": (n, y)}
    return make(st, rec.name, (n,), s, 0.0, recorded, text=text, formula=formula, cells=cells)


def _loss_grad(st: PassView, rec: StepRecord, z: np.ndarray, unit: tuple) -> Explanation:
    """∂E/∂z[e,k] = (p[e,k] − t[e,k])/N (cross-entropy) or ∂E/∂ŷ[e,k] = (ŷ − t)/N (mse)."""
    n, k = unit
    N = z.shape[0]
    t = 1.0 if int(st.y[n]) == k else 0.0
    s = TermSum()
    if rec.layer_type == "cross_entropy":
        p = float(rec.values["probabilities"][unit])
        s.add(1.0 / N, p, f"1/{N}", f"p{idx(n, k)}")
        zn = z[n]
        detail = (
            f"p{idx(n, k)} = exp(z[{n},{k}] − max z[{n}]) / Σ_k′ exp(z[{n},k′] − max z[{n}]) = "
            f"exp({fmt(zn[k] - zn.max())}) / {fmt(np.exp(zn - zn.max()).sum())} = {fmt(p)}"
        )
        formula = "∂E/∂z[e,k] = (p[e,k] − t[e,k])/N,  p[e] = softmax(z[e]), t[e] = onehot(y[e])"
    else:
        s.add(1.0 / N, z[n, k], f"1/{N}", f"ŷ{idx(n, k)}")
        detail = f"ŷ{idx(n, k)} = {fmt(z[n, k])}"
        formula = "∂E/∂ŷ[e,k] = (ŷ[e,k] − t[e,k])/N,  t[e] = onehot(y[e])"
    recorded = float(rec.values["grad_logits"][unit])
    wrt = "z" if rec.layer_type == "cross_entropy" else "ŷ"
    text = sum_text(f"∂E/∂{wrt}{idx(*unit)}", s, -t / N, f"(−t{idx(n, k)}/{N})",
                    s.total(-t / N), recorded)
    text += f"\n{detail};  t{idx(n, k)} = {fmt(t)} (label {int(st.y[n])})"
    return make(st, rec.name, unit, s, -t / N, recorded, text=text, formula=formula,
                cells={"logits": [unit], "target": (n, int(st.y[n]))})


def explain_update(st: PassView, rec: StepRecord, unit: Any) -> Explanation:
    """(param_name, index): the optimizer's rule for one weight, with its numbers."""
    if isinstance(unit, list):
        unit = tuple(unit)
    if not (isinstance(unit, tuple) and len(unit) == 2 and isinstance(unit[0], str)):
        raise ValueError(
            "an update unit is (parameter name, index), e.g. ('0.weight', (0, 0, 1, 2)); "
            f"got {unit!r}"
        )
    name = unit[0]
    if f"{name}_after" not in rec.values:
        names = sorted({k.rsplit("_", 1)[0] for k in rec.values})
        raise ValueError(f"unknown parameter {name!r}; this network has {', '.join(names)}")
    before = rec.values[f"{name}_before"]
    index = check_unit(unit[1], before.shape, f"parameter {name}")
    w = float(before[index])
    g = float(rec.values[f"{name}_grad"][index])
    recorded = float(rec.values[f"{name}_after"][index])
    opt = optimizer_after(st, rec)
    rule = "\n".join(update_rule(opt))
    s = _linear_update(opt, name, index, w, g)
    lhs = f"{name}{idx(*index)}"
    if s is not None:
        symbol = "b" if name.endswith(".bias") else "w"
        text = sum_text(lhs, s, w, f"{symbol}{idx(*index)}", s.total(w), recorded)
        text += f"\nrule ({opt.name}): {rule.replace(chr(10), ';  ')}"
        return make(st, rec.name, (name, index), s, w, recorded, text=text, formula=rule,
                    cells={"param": [(name, index)]})
    state = {k: v[index] if isinstance(v, np.ndarray) else v
             for k, v in opt.update_terms(name).items()}
    shown = ", ".join(f"{k} = {fmt(v)}" for k, v in state.items())
    named = ", ".join(f"{state_symbol(opt.name, k)} = {fmt(v)}" for k, v in state.items())
    text = (
        f"{lhs}: {fmt(w)} → {fmt(recorded)}   (∂E/∂w = {fmt(g)}, η = {fmt(opt.lr)})\n"
        f"rule ({opt.name}): {rule.replace(chr(10), ';  ')}\n"
        f"state after the step: {shown}\n"
        f"in the rule's symbols: {named}"
    )
    numbers = _adam_numbers(opt, state, w)
    if numbers is not None:
        text += f"\n{lhs} = {numbers}"
    return Explanation(
        step=rec.name, layer=int(name.split(".")[0]), unit=(name, index), kind=rec.kind,
        terms=[], constant=w, value=recorded, recorded=recorded, text=text, formula=rule,
        cells={"param": [(name, index)]}, linear=False,
    )


def _adam_numbers(opt: Any, state: dict[str, Any], w: float) -> str | None:
    """Adam's last line with this weight's numbers, `w − η/(1 − β₁ᵗ)·m/(√v/√(1 − β₂ᵗ) + ε)`."""
    if opt.name != "Adam":
        return None
    hp = opt.hyperparams
    (beta1, beta2), t = hp["betas"], int(state["step"])
    m = float(state["exp_avg"])
    v = float(state["max_exp_avg_sq" if hp["amsgrad"] else "exp_avg_sq"])
    c1, c2 = 1 - beta1**t, 1 - beta2**t
    new = w - hp["lr"] / c1 * m / (np.sqrt(v) / np.sqrt(c2) + hp["eps"])
    return (f"{fmt(w)} − {fmt(hp['lr'])}/{fmt(c1)} · {fmt_factor(m)}/(√{fmt(v)}/√{fmt(c2)}"
            f" + {fmt(hp['eps'])}) = {fmt(new)}   (t = {t})")


def optimizer_after(st: PassView, rec: StepRecord) -> Any:
    """The optimizer as the U step left it (lr, buffers), even if it has stepped on since."""
    state = rec.meta.get("optimizer")
    if state is None:
        return st.optimizer

    try:
        return optimizer_from_state(state)
    except ValueError:  # an optimizer class the core does not know: use the live one
        return st.optimizer


def _linear_update(opt: Any, name: str, index: tuple, w: float, g: float) -> TermSum | None:
    """SGD's update as terms: w − η·g (− η·λ·w with weight decay; − η·v with momentum)."""
    if opt.name != "SGD":
        return None
    hp = opt.hyperparams
    p = "b" if name.endswith(".bias") else "w"
    lr, wd, mu = hp["lr"], hp["weight_decay"], hp["momentum"]
    s = TermSum()
    if mu == 0:
        s.add(-lr, g, "(−η)", f"∂E/∂{p}{idx(*index)}")
        if wd:
            s.add(-lr * wd, w, "(−η·λ)", f"{p}{idx(*index)}")
        return s
    buf = float(opt.update_terms(name)["momentum_buffer"][index])
    if hp["nesterov"]:
        s.add(-lr, g + wd * w, "(−η)", "g")
        s.add(-lr * mu, buf, "(−η·μ)", f"v{idx(*index)}")
    else:
        s.add(-lr, buf, "(−η)", f"v{idx(*index)}")
    return s
