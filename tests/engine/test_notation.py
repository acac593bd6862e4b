"""Notation: every step kind of every layer type, every optimizer rule, checked against the
one symbol table (no symbol with two meanings, ⋆ for cross-correlation, * only where true)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from engine_nets import BLOCKS, MIXED, batch, make_net
from test_figures import RGB

from cnnviz.core.optim import make_optimizer
from cnnviz.engine import Stepper
from cnnviz.engine.notation import INDEX_ROLES, OPTIMIZER_SYMBOLS, markdown_table, update_rule

EXAMPLE_FIRST = {"o", "x", "δ", "δ_in", "z", "ŷ", "p", "t", "ℓ"}  # first index: the example
BRACKET = re.compile(r"(δ_in|δ↑\d|∂E/∂[a-zŷ]|[A-Za-zδŷℓ])\[([^\[\]]*)\]")
LETTER = re.compile(r"[a-zA-Z]′?")


def explanations(st: Stepper) -> list:
    """One explanation of every unit kind of every executed step of a pass."""
    found = []
    for rec in st.records:
        if rec.kind == "forward":
            found.append(st.explain(rec.name, (0,) * rec.values["output"].ndim))
        elif rec.kind == "loss":
            found += [st.explain("L", (0,)), st.explain("L", (1, 1))]
        elif rec.kind == "backward":
            delta = rec.values.get("grad_input", rec.values["grad_output"])  # an addition's:
            found.append(st.explain(rec.name, (1,) + (0,) * (delta.ndim - 1)))  # same shape
            for p in ("weight", "bias"):
                if f"grad_{p}" in rec.values:
                    found.append(st.explain(rec.name, (p, (0,) * rec.values[f"grad_{p}"].ndim)))
        else:
            name = next(k[: -len("_after")] for k in rec.values if k.endswith("_after"))
            found.append(st.explain("U", (name, (0,) * rec.values[f"{name}_after"].ndim)))
    return found


def every_formula() -> list[tuple[str, object]]:
    """(label, explanation) for networks that hold every layer type and both losses, and
    residual blocks, batch norm and dropout."""
    out = []
    for label, spec in (("mixed", MIXED), ("rgb", RGB), ("blocks", BLOCKS)):
        net = make_net(spec)
        st = Stepper(net, *batch(net, 2), make_optimizer("momentum", lr=0.1))
        st.run_all()
        out += [(f"{label}:{ex.step}:{ex.unit}", ex) for ex in explanations(st)]
    return out


FORMULAS = every_formula()


def index_letters(formula: str) -> tuple[set[str], set[str], list[str]]:
    """(letters used as indices, tensor names, problems) of a formula's brackets."""
    letters, tensors, problems = set(), set(), []
    for name, inside in BRACKET.findall(formula):
        tensors.add(name)
        parts = [p.strip() for p in inside.split(",")]
        used = {t for p in parts for t in LETTER.findall(p)} - {"S", "P"}
        letters |= used
        first = parts[0]
        example_slot = name in EXAMPLE_FIRST and len(parts) >= 2 and LETTER.fullmatch(first)
        if example_slot and first != "e":
            problems.append(f"{name}[{inside}]: the example index must be e, not {first}")
    return letters, tensors, problems


@pytest.mark.parametrize(("label", "ex"), FORMULAS, ids=[f[0] for f in FORMULAS])
def test_no_symbol_has_two_meanings(label, ex):
    """Index letters come from the table, are never tensor names, and e is the example."""
    letters, tensors, problems = index_letters(ex.formula)
    assert not problems, problems
    unknown = {t for t in letters if t not in INDEX_ROLES and t not in ("y",)}
    assert not unknown, f"{ex.formula}: index letters {unknown} are not in the symbol table"
    clash = letters & {t for t in tensors if len(t) == 1}
    assert not clash, f"{ex.formula}: {clash} is both an index and a tensor"


@pytest.mark.parametrize(("label", "ex"), FORMULAS, ids=[f[0] for f in FORMULAS])
def test_star_means_true_convolution_only(label, ex):
    """`*` only in the backward conv's δ * w; cross-correlations are written ⋆."""
    if "*" in ex.formula:
        assert ex.kind == "backward" and not isinstance(ex.unit[0], str), ex.formula
        assert "* rot180" not in ex.formula and re.search(r"δ(↑\d)?\[e,k\] \* w\[k,c\]",
                                                          ex.formula)
    if ex.kind == "forward" and ex.step in ("F0",) and "Σ_c Σ_m" in ex.formula:
        assert "⋆" in ex.formula


@pytest.mark.parametrize(("label", "ex"), FORMULAS, ids=[f[0] for f in FORMULAS])
def test_loss_gradient_symbol_follows_the_loss(label, ex):
    """∂E/∂z for logits (cross-entropy), ∂E/∂ŷ for outputs (mse), in formula and text."""
    if ex.kind != "loss" or len(ex.unit) != 2:
        return
    mse = label.startswith("rgb")
    wrong, right = ("∂E/∂z", "∂E/∂ŷ") if mse else ("∂E/∂ŷ", "∂E/∂z")
    assert right in ex.formula and right in ex.text
    assert wrong not in ex.formula and wrong not in ex.text


def test_the_backward_conv_claim_is_true():
    """δ_in = Σ_k (δ[k] * w[k,c])[i′+P, j′+P] with * the true convolution (seed 001 eq. 2)."""
    net = make_net(RGB)
    st = Stepper(net, *batch(net, 2))
    st.run_all()
    delta = st.record("B0").values["grad_output"][1]
    w = st.pass_params()["0.weight"]
    K, Ho, Wo = delta.shape
    kh, kw, P = 3, 3, 1
    full = np.zeros((3, Ho + kh - 1, Wo + kw - 1))
    for c in range(3):
        for k in range(K):
            for a in range(full.shape[1]):
                for b in range(full.shape[2]):
                    full[c, a, b] += sum(delta[k, a - m, b - n] * w[k, c, m, n]
                                         for m in range(kh) for n in range(kw)
                                         if 0 <= a - m < Ho and 0 <= b - n < Wo)
    got = full[:, P : P + 6, P : P + 6]
    assert np.allclose(got, st.record("B0").values["grad_input"][1], atol=1e-12)


RULE_LETTERS = set("gwvmsdGuΔtηλμταρε") | {"β₁", "β₂", "m̂", "v̂", "ḡ", "v_max", "E"}


@pytest.mark.parametrize("kw", [("sgd", {}), ("momentum", {}), ("nesterov", {}),
                                ("sgd", {"weight_decay": 0.1, "momentum": 0.5,
                                         "dampening": 0.1}),
                                ("rmsprop", {"momentum": 0.9, "centered": True}),
                                ("adagrad", {}), ("adadelta", {}), ("adam", {}),
                                ("adam", {"amsgrad": True})])
def test_update_rules_use_the_table_and_never_b(kw):
    """No `b` in a rule (b is the bias); every symbol of a rule is in the table."""
    opt = make_optimizer(kw[0], **kw[1])
    for line in update_rule(opt):
        tokens = set(re.findall(r"v_max|lr_decay|β[₁₂]|[A-Za-z]+̂?|[α-ωΔ]|ḡ", line))
        tokens -= {"lr_decay", "first", "step", "max"}
        assert "b" not in tokens, line
        assert tokens <= RULE_LETTERS, f"{line}: {tokens - RULE_LETTERS}"
    for symbol in ("v", "m", "m̂, v̂", "G", "u", "Δ"):
        assert symbol in OPTIMIZER_SYMBOLS


def test_the_table_is_in_the_docs():
    """docs/debugger.md prints the very table of cnnviz.engine.notation."""
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "debugger.md").read_text(encoding="utf-8")
    assert markdown_table() in docs
