"""Explanations of blocks, their inner layers, batch norm and dropout: the value equals the
recorded tensor entry at random units (batch 2, training and eval mode)."""

from __future__ import annotations

import numpy as np
import pytest
from block_nets import random_spec
from engine_nets import BLOCKS, block_batch, build

from cnnviz.engine import Stepper

SPECIAL = ("residual", "batchnorm2d", "batchnorm1d", "dropout")


def stepped(name: str, spec: dict | None, eval_mode: bool = False, to: str = "B0") -> Stepper:
    """A float64 stepper on a batch of 2, run to `to`."""
    net = build(name, spec, "float64")
    if eval_mode:
        net.eval()
    st = Stepper(net, *block_batch(net, 2))
    st.run_to(to)
    return st


def recorded_tensor(st: Stepper, rec) -> np.ndarray:
    """The tensor a unit of this step indexes: its output (F) or input delta (B)."""
    if rec.kind == "forward":
        return rec.values["output"]
    if rec.layer_type == "residual":
        joined = st.record(f"B{rec.layer}.0")
        return rec.values["grad_body_output"] if joined is None else \
            joined.values["block_grad_input"]
    return rec.values["grad_input"]


def check_units(st: Stepper, rec, rng: np.random.Generator, count: int = 3) -> None:
    """Random units of one step: value == recorded entry == Σ terms + constant."""
    tensor = recorded_tensor(st, rec)
    for _ in range(count):
        unit = tuple(int(rng.integers(0, s)) for s in tensor.shape)
        ex = st.explain(rec.name, unit)
        assert ex.step == rec.name and ex.layer == rec.layer
        assert ex.linear or rec.layer_type in ("sigmoid", "tanh")
        assert ex.recorded == float(tensor[unit])
        assert abs(ex.value - ex.recorded) <= 1e-9 * (1 + abs(ex.recorded)), (rec.name, unit)
        if ex.linear:
            total = sum(a * b for a, b in ex.terms) + ex.constant
            scale = 1e-12 * (1 + sum(abs(a * b) for a, b in ex.terms) + abs(ex.constant))
            assert abs(total - ex.value) <= scale, (rec.name, unit, total, ex.value)


@pytest.mark.parametrize("eval_mode", [False, True], ids=["train", "eval"])
@pytest.mark.parametrize(("name", "spec"), [("blocks", BLOCKS), ("mini-resnet", None),
                                            ("lenet5-dropout", None), ("random", random_spec(1))])
def test_every_block_batchnorm_dropout_and_inner_step_explains_its_recorded_value(
        name, spec, eval_mode):
    st = stepped(name, spec, eval_mode)
    rng = np.random.default_rng(0)
    checked = [rec for rec in st.records if rec.kind in ("forward", "backward")
               and (rec.inner is not None or rec.layer_type in SPECIAL)]
    assert checked
    for rec in checked:
        check_units(st, rec, rng)


def test_the_addition_copies_delta_then_sums_the_branches():
    st = stepped("blocks", BLOCKS, to="B3.s0")
    copy = st.explain("B3", (1, 1, 2, 3))
    assert "δ_body" in copy.text and "both branches" in copy.text
    assert copy.value == st.record("B3").values["grad_output"][1, 1, 2, 3]
    st.run_to("B3.0")
    join = st.explain("B3", (1, 2, 4, 5))  # now a unit of the block's input (3 channels)
    body = st.record("B3.0").values["grad_input"][1, 2, 4, 5]
    short = st.record("B3.s0").values["grad_input"][1, 2, 4, 5]
    assert join.terms == [(1.0, body), (1.0, short)] and "sum" in join.text
    forward = st.explain("F2", (0, 0, 1, 1))
    assert "identity shortcut" in forward.text and len(forward.terms) == 2


def test_batch_norm_texts_show_the_statistics_and_the_three_terms():
    st = stepped("blocks", BLOCKS)
    fwd = st.explain("F1", (1, 2, 3, 4))
    for symbol in ("μ_B", "σ²_B", "x̂", "γ", "β", "running_mean"):
        assert symbol in fwd.text + fwd.formula, symbol
    back = st.explain("B1", (1, 2, 3, 4))
    assert len(back.terms) == 3 and "Σ(δ·x̂)" in back.text
    gamma = st.explain("B1", ("weight", (2,)))
    assert gamma.recorded == st.record("B1").values["grad_weight"][2]
    assert abs(gamma.value - gamma.recorded) < 1e-12
    beta = st.explain("B3.s1", ("bias", (1,)))
    assert abs(beta.value - beta.recorded) < 1e-12 and len(beta.terms) == 2 * 6 * 6
    st_eval = stepped("blocks", BLOCKS, eval_mode=True)
    assert "running" in st_eval.explain("F1", (0, 0, 0, 0)).text
    assert len(st_eval.explain("B1", (0, 0, 0, 0)).terms) == 1


def test_dropout_texts_show_the_mask_and_the_scale():
    st = stepped("blocks", BLOCKS)
    mask = st.record("F2.2").values["mask"]
    kept = tuple(int(v) for v in np.argwhere(mask == 1)[0])
    dropped = tuple(int(v) for v in np.argwhere(mask == 0)[0])
    assert "kept" in st.explain("F2.2", kept).text
    ex = st.explain("B2.2", dropped)
    assert "dropped" in ex.text and ex.value == 0 and ex.terms[0][0] == 0
    assert st.explain("F2.2", kept).terms[0][0] == pytest.approx(1 / 0.6)


def test_bad_units_are_value_errors():
    st = stepped("blocks", BLOCKS)
    with pytest.raises(ValueError, match="out of range"):
        st.explain("F2", (0, 9, 0, 0))
    with pytest.raises(ValueError, match="batch norm"):
        st.explain("B2.2", ("weight", (0,)))
