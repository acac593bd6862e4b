"""The computation figures of residual blocks, their inner layers, batch norm and dropout:
every grid cell is the recorded tensor entry or the Explanation's number."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from block_nets import random_spec
from engine_nets import BLOCKS, block_batch, build, make_net
from test_figures import assert_products_are_the_terms

from cnnviz.engine import Stepper, notation

# a stem, then a block whose body and 1×1 projection shortcut both have stride 2
PROJECTION = {"input": [2, 7, 7], "layers": [
    {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1}, {"type": "relu"},
    {"type": "residual",
     "body": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1},
              {"type": "batchnorm2d"}, {"type": "relu"},
              {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1}],
     "shortcut": [{"type": "conv2d", "out_channels": 4, "kernel_size": 1, "stride": 2},
                  {"type": "batchnorm2d"}]},
    {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 3}]}
SPECIAL = ("residual", "batchnorm2d", "batchnorm1d", "dropout")


def stepped(name: str, spec: dict | None, to: str | None = None, eval_mode: bool = False,
            random: bool = False) -> Stepper:
    """A float64 stepper on a batch of 2, run to `to` (the whole pass without one)."""
    net = make_net(spec) if random else build(name, spec, "float64")
    if eval_mode:
        net.eval()
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, *net.spec.input_shape)) if random else block_batch(net, 2)[0]
    st = Stepper(net, x, np.array([0, 2]))
    if to is None:
        st.run_all()
    else:
        st.run_to(to)
    return st


@pytest.fixture(scope="module")
def resnet():
    return stepped("mini-resnet", None)


@pytest.fixture(scope="module")
def resnet_eval():
    return stepped("mini-resnet", None, eval_mode=True)


@pytest.fixture(scope="module")
def projection():
    return stepped("projection", PROJECTION, random=True)


def assert_shows_the_value(ex) -> None:
    """A scalar grid of the figure is the explanation's value, exactly (the maps that give
    orientation come after the numbers, so it need not be in the last row)."""
    grids = ex.figures["computation"].grids()
    assert ex.value in [g.values[0, 0] for g in grids if g.values.size == 1]


def figure(st: Stepper, step: str, unit) -> tuple:
    """(explanation, its computation figure)."""
    ex = st.explain(step, unit)
    assert "computation" in ex.figures, f"{step} {unit}: no computation figure"
    return ex, ex.figures["computation"]


def cells(fig, symbol: str) -> np.ndarray:
    """The values of the grid with this symbol (a 1×1 grid as a float)."""
    values = fig.grid(symbol).values
    return float(values[0, 0]) if values.size == 1 else values


def unit_tensor(st: Stepper, rec) -> np.ndarray:
    """The tensor a unit of this step indexes: its output (F) or input delta (B)."""
    if rec.kind == "forward":
        return rec.values["output"]
    if rec.layer_type == "residual":
        joined = st.record(f"B{rec.layer}.0")
        return rec.values["grad_output"] if joined is None else joined.values["block_grad_input"]
    return rec.values["grad_input"]


# ----- every step kind inside and around blocks -------------------------------------------

NETS = [("mini-resnet", None, False), ("projection", PROJECTION, True), ("blocks", BLOCKS, False),
        ("random1", random_spec(1), False), ("lenet5-dropout", None, False)]


@pytest.mark.parametrize("eval_mode", [False, True], ids=["train", "eval"])
@pytest.mark.parametrize(("name", "spec", "random"), NETS, ids=[n[0] for n in NETS])
def test_every_block_step_has_grids_that_show_its_value(name, spec, random, eval_mode):
    """Inner layers, additions, batch norm and dropout: a figure whose products are the terms
    and whose last rows hold the value, for random units and every parameter gradient."""
    st = stepped(name, spec, to="B0", eval_mode=eval_mode, random=random)
    rng = np.random.default_rng(0)
    checked = [rec for rec in st.records if rec.kind in ("forward", "backward")
               and (rec.inner is not None or rec.layer_type in SPECIAL)]
    assert checked
    for rec in checked:
        tensor = unit_tensor(st, rec)
        units = [tuple(int(rng.integers(0, s)) for s in tensor.shape) for _ in range(2)]
        units += [(p, (int(rng.integers(0, rec.values[f"grad_{p}"].shape[0])),)
                   + (0,) * (rec.values[f"grad_{p}"].ndim - 1))
                  for p in ("weight", "bias") if f"grad_{p}" in rec.values]
        for unit in units:
            ex, fig = figure(st, rec.name, unit)
            assert rec.name in fig.title or rec.inner is None
            if ex.linear and any("·" in g.symbol for g in fig.grids()):
                assert_products_are_the_terms(ex)
            assert_shows_the_value(ex)
            assert ex.value == pytest.approx(ex.recorded, abs=1e-9)


def test_block_figure_symbols_come_from_the_notation_table(resnet):
    """Every tensor symbol a block, batch norm or dropout grid names is in notation.py."""
    allowed = {"o", "x", "w", "b", "δ", "δ_in", "rot180(w"}
    for key in (*notation.BLOCK_SYMBOLS, *notation.TENSORS):
        allowed |= set(key.split(", "))
    used = set()
    for rec in resnet.records:
        if rec.kind in ("forward", "backward") and (rec.inner is not None
                                                     or rec.layer_type in SPECIAL):
            unit = tuple(s // 2 for s in unit_tensor(resnet, rec).shape)
            fig = figure(resnet, rec.name, unit)[1]
            for g in fig.grids():
                named = g.names is not None and g.values.size == 1
                text = g.symbol + (" " + g.name(0, 0) if named else "")
                used |= set(re.findall(r"([^\s\[\]()·×÷/+−=]+)\[", text))
    used = {u.lstrip("∂") for u in used} - set(notation.INDEX_ROLES)
    assert {"body", "o_in", "shortcut", "δ_in,body", "μ_B", "σ²_B", "x̂", "γ",
            "β", "running_mean", "running_var"} <= used
    assert used <= allowed, used - allowed


# ----- inner layers through the ordinary builders ----------------------------------------


@pytest.mark.parametrize(("net", "step", "key", "unit"), [
    ("resnet", "F6.s0", "6.shortcut.0", (1, 5, 3, 2)),     # 1×1, stride 2
    ("resnet", "F4.3", "4.body.3", (0, 2, 0, 13)),         # padded corner
    ("projection", "F2.0", "2.body.0", (1, 3, 0, 3)),      # stride 2 and padding
    ("projection", "F2.s0", "2.shortcut.0", (0, 1, 2, 1)),
])
def test_inner_conv_forward_grids_are_the_window_and_the_inner_kernel(net, step, key, unit,
                                                                      request):
    st = request.getfixturevalue(net)
    ex, fig = figure(st, step, unit)
    e, k, i, j = unit
    rec = st.record(step)
    layer_cfg = st.net.layers[rec.layer]
    inner = getattr(layer_cfg, rec.inner.split(".")[0])[int(rec.inner.split(".")[1])].config
    (kh, kw), (sh, sw), (ph, pw) = inner["kernel_size"], inner["stride"], inner["padding"]
    inp, w = rec.values["input"], st.pass_params()[f"{key}.weight"]
    assert step in fig.title and rec.inner in fig.title and f"{key}.weight" in fig.notes[0]
    for c in range(inp.shape[1]):
        grid = fig.grid(f"o[{e},{c}] window")
        for m, n in np.ndindex(kh, kw):
            r, q = i * sh - ph + m, j * sw - pw + n
            inside = 0 <= r < inp.shape[2] and 0 <= q < inp.shape[3]
            assert grid.pad[m, n] == (not inside)
            assert grid.values[m, n] == (inp[e, c, r, q] if inside else 0.0)
        assert np.array_equal(fig.grid(f"w[{k},{c}]").values, w[k, c])
    total = fig.grid("Σ per channel").values.sum() + cells(fig, f"b[{k}]")
    assert cells(fig, f"b[{k}]") == st.pass_params()[f"{key}.bias"][k]
    assert total == pytest.approx(float(rec.values["output"][unit]), abs=1e-12)
    assert cells(fig, f"x{list(unit)}".replace(" ", "")) == ex.value


def test_inner_conv_backward_rotates_the_inner_kernel_and_folds_the_inner_relu(resnet):
    """B4.3 comes after the body's relu (F4.2): its seed form multiplies by that relu′."""
    ex, fig = figure(resnet, "B4.3", (1, 2, 5, 0))
    w = resnet.pass_params()["4.body.3.weight"]
    for k in range(w.shape[0]):
        assert np.array_equal(fig.grid(f"rot180(w[{k},2])").values, w[k, 2, ::-1, ::-1])
    assert fig.grid("Σ per output channel").values.sum() == pytest.approx(
        float(resnet.record("B4.3").values["grad_input"][1, 2, 5, 0]), abs=1e-12)
    seed = ex.figures["seed"]
    folded = seed.rows[-2].grids()[-1]
    assert folded.values[0, 0] == pytest.approx(
        float(resnet.record("B4.2").values["grad_input"][1, 2, 5, 0]), abs=1e-12)
    captions = " ".join(row.caption for row in seed.rows)
    assert "B4.2" in captions and "F4.2" in captions and "B4.3" in seed.title


def test_a_first_inner_conv_has_no_seed_form_and_its_weight_gradient_sums_per_example(resnet):
    """B6.0's input delta is only the body's share of the block input's: no one formula."""
    ex, fig = figure(resnet, "B6.0", (0, 3, 4, 4))
    assert "seed" not in ex.figures
    assert fig.grid("Σ per output channel").values.sum() == pytest.approx(
        float(resnet.record("B6.0").values["grad_input"][0, 3, 4, 4]), abs=1e-12)
    ex, fig = figure(resnet, "B6.s0", ("weight", (7, 3, 0, 0)))
    partials = fig.grid("Σ per example").values[:, 0]
    assert partials.size == 2 and partials.sum() == pytest.approx(
        float(resnet.record("B6.s0").values["grad_weight"][7, 3, 0, 0]), abs=1e-12)
    assert "6.shortcut.0.weight" in fig.notes[0]


# ----- the addition ------------------------------------------------------------------------


@pytest.mark.parametrize(("net", "step", "unit", "body", "short"), [
    ("resnet", "F6", (1, 9, 3, 5), "F6.4", "F6.s1"),
    ("resnet", "F4", (0, 3, 13, 0), "F4.4", None),
    ("projection", "F2", (1, 2, 3, 1), "F2.3", "F2.s1"),
])
def test_addition_forward_grids_are_both_branches_and_their_sum(net, step, unit, body, short,
                                                                request):
    st = request.getfixturevalue(net)
    ex, fig = figure(st, step, unit)
    e, c = unit[:2]
    v = st.record(step).values
    short_sym = "shortcut" if short else "o_in"
    short_src = st.record(short).values["output"] if short else v["input"]
    assert np.array_equal(cells(fig, f"body[{e},{c}]"), st.record(body).values["output"][e, c])
    assert np.array_equal(cells(fig, f"{short_sym}[{e},{c}]"), short_src[e, c])
    assert np.array_equal(cells(fig, f"o[{e},{c}]"), v["output"][e, c])
    assert fig.grid(f"o[{e},{c}]").marks["winner"] == [tuple(unit[2:])]
    u = ",".join(map(str, unit))
    assert cells(fig, f"body[{u}]") == v["body_output"][unit]
    assert cells(fig, f"{short_sym}[{u}]") == short_src[unit]
    assert cells(fig, f"o[{u}]") == ex.value == pytest.approx(float(v["output"][unit]), abs=0)


def test_addition_backward_copies_delta_then_sums_the_branches():
    st = stepped("mini-resnet", None, to="B6")
    ex, fig = figure(st, "B6", (1, 30, 6, 2))  # a unit of the block's output: the copy
    v = st.record("B6").values
    for symbol, key in (("δ", "grad_output"), ("δ_body", "grad_body_output"),
                        ("δ_shortcut", "grad_shortcut_output")):
        assert np.array_equal(cells(fig, f"{symbol}[1,30]"), v[key][1, 30])
        assert cells(fig, f"{symbol}[1,30,6,2]") == v["grad_output"][1, 30, 6, 2]
    st.run_to("B6.0")
    ex, fig = figure(st, "B6", (0, 15, 13, 1))  # now a unit of the block's input: the join
    body = st.record("B6.0").values["grad_input"]
    short = st.record("B6.s0").values["grad_input"]
    total = st.record("B6.0").values["block_grad_input"]
    assert np.array_equal(cells(fig, "δ_in,body[0,15]"), body[0, 15])
    assert np.array_equal(cells(fig, "δ_in,shortcut[0,15]"), short[0, 15])
    assert np.array_equal(cells(fig, "δ_in[0,15]"), total[0, 15])
    assert cells(fig, "δ_in,body[0,15,13,1]") + cells(fig, "δ_in,shortcut[0,15,13,1]") == \
        pytest.approx(cells(fig, "δ_in[0,15,13,1]"), abs=1e-15)
    assert cells(fig, "δ_in[0,15,13,1]") == pytest.approx(float(total[0, 15, 13, 1]), abs=1e-15)
    st.step()  # B5 takes the sum as its δ
    assert np.array_equal(st.record("B5").values["grad_output"][0, 15], total[0, 15])


def test_identity_join_adds_delta_itself(resnet):
    ex, fig = figure(resnet, "B4", (1, 4, 2, 9))
    assert np.array_equal(cells(fig, "δ[1,4]"),
                          resnet.record("B4").values["grad_shortcut_output"][1, 4])
    assert np.array_equal(cells(fig, "δ_in,body[1,4]"),
                          resnet.record("B4.0").values["grad_input"][1, 4])
    assert "identity" in " ".join(row.caption for row in fig.rows)


# ----- batch norm ------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "unit"), [("F1", (1, 5, 20, 3)), ("F4.1", (0, 11, 2, 7)),
                                            ("F6.s1", (1, 30, 6, 0))])
def test_batch_norm_forward_in_training_mode(resnet, step, unit):
    """Each example's map, Σ per example, μ_B, σ²_B, the running statistics, x̂ and o."""
    ex, fig = figure(resnet, step, unit)
    rec = resnet.record(step)
    v, c = rec.values, unit[1]
    x = v["input"][:, c]
    for e in range(2):
        assert np.array_equal(cells(fig, f"x[{e},{c}]"), x[e])
    assert np.allclose(fig.grid("Σ x per example").values[:, 0], x.sum(axis=(1, 2)), atol=1e-12)
    assert cells(fig, f"μ_B[{c}]") == pytest.approx(float(v["mean"][c]), abs=1e-12)
    assert cells(fig, f"σ²_B[{c}]") == pytest.approx(float(v["var"][c]), abs=1e-12)
    assert cells(fig, f"σ²_B[{c}]") == pytest.approx(float(x.var()), abs=1e-12)
    for key in ("running_mean", "running_var"):  # before × (1 − momentum) + … = after
        row = next(r for r in fig.rows if r.caption.startswith(f"{key}[{c}]"))
        before, _, after = row.grids()
        assert before.values[0, 0] == v[f"{key}_before"][c] and "before" in before.name(0, 0)
        assert after.values[0, 0] == v[f"{key}_after"][c] and key in after.name(0, 0)
    sigma = math.sqrt(float(v["var"][c]) + 1e-5)
    assert cells(fig, f"σ[{c}]") == pytest.approx(sigma, abs=1e-12)
    u = ",".join(map(str, unit))
    assert cells(fig, f"x[{u}]") == v["input"][unit]
    assert cells(fig, f"x̂[{u}]") == pytest.approx(float(v["x_hat"][unit]), abs=1e-12)
    key = resnet.net.layers[rec.layer].key if rec.inner is None else \
        f"{rec.layer}.{rec.inner}"
    assert cells(fig, f"γ[{c}]") == resnet.pass_params()[f"{key}.weight"][c]
    assert cells(fig, f"β[{c}]") == resnet.pass_params()[f"{key}.bias"][c]
    assert cells(fig, f"o[{u}]") == ex.value == pytest.approx(float(v["output"][unit]), abs=1e-12)


def test_batch_norm_forward_in_eval_mode_uses_the_running_statistics(resnet_eval):
    ex, fig = figure(resnet_eval, "F4.4", (1, 6, 3, 3))
    v = resnet_eval.record("F4.4").values
    running = resnet_eval.net.layers[4].body[4].buffers
    assert cells(fig, "running_mean[6]") == v["mean"][6] == running["running_mean"][6]
    assert cells(fig, "running_var[6]") == v["var"][6] == running["running_var"][6]
    with pytest.raises(KeyError):
        fig.grid("μ_B[6]")
    assert cells(fig, "x̂[1,6,3,3]") == pytest.approx(float(v["x_hat"][1, 6, 3, 3]), abs=1e-12)
    assert cells(fig, "o[1,6,3,3]") == pytest.approx(float(v["output"][1, 6, 3, 3]), abs=1e-12)


def test_batchnorm1d_forward_lists_the_feature_over_the_batch():
    st = stepped("random1", random_spec(1))
    step = next(r.name for r in st.records if r.layer_type == "batchnorm1d" and r.kind == "forward")
    ex, fig = figure(st, step, (1, 4))
    x = st.record(step).values["input"][:, 4]
    assert np.array_equal(fig.grid("x[:,4]").values[:, 0], x)
    assert cells(fig, "μ_B[4]") == pytest.approx(float(x.mean()), abs=1e-12)


@pytest.mark.parametrize("step", ["B1", "B4.1", "B6.s1"])
def test_batch_norm_backward_in_training_mode_has_three_terms(resnet, step):
    unit = (1, 3, 5, 2)
    ex, fig = figure(resnet, step, unit)
    rec, fwd = resnet.record(step), resnet.record("F" + step[1:])
    delta, x_hat = rec.values["grad_output"][:, 3], fwd.values["x_hat"][:, 3]
    for e in range(2):
        assert np.array_equal(cells(fig, f"δ[{e},3]"), delta[e])
        assert np.array_equal(cells(fig, f"x̂[{e},3]"), x_hat[e])
        assert np.allclose(cells(fig, f"δ×x̂[{e},3]"), delta[e] * x_hat[e], atol=1e-15)
    assert cells(fig, "Σδ") == pytest.approx(float(delta.sum()), abs=1e-12)
    assert cells(fig, "Σ(δ·x̂)") == pytest.approx(float((delta * x_hat).sum()), abs=1e-12)
    assert list(fig.grid("factor").values[:, 0]) == [b for _, b in ex.terms]
    assert list(fig.grid("coefficient").values[:, 0]) == [a for a, _ in ex.terms]
    sigma = math.sqrt(float(fwd.values["var"][3]) + 1e-5)
    assert cells(fig, "σ[3]") == pytest.approx(sigma, abs=1e-12)
    assert ex.terms[0][0] == pytest.approx(cells(fig, "γ[3]") / sigma, abs=1e-12)
    assert cells(fig, "δ_in[1,3,5,2]") == ex.value == pytest.approx(
        float(rec.values["grad_input"][unit]), abs=1e-12)


def test_batch_norm_backward_in_eval_mode_is_gamma_over_sigma(resnet_eval):
    ex, fig = figure(resnet_eval, "B4.4", (0, 2, 1, 1))
    running_var = resnet_eval.record("F4.4").values["var"][2]
    assert cells(fig, "running_var[2]") == running_var
    assert fig.grid("coefficient").values.shape == (1, 1)
    assert cells(fig, "coefficient") == pytest.approx(
        cells(fig, "γ[2]") / math.sqrt(running_var + 1e-5), abs=1e-12)
    assert cells(fig, "δ_in[0,2,1,1]") == pytest.approx(
        float(resnet_eval.record("B4.4").values["grad_input"][0, 2, 1, 1]), abs=1e-12)


@pytest.mark.parametrize("param", ["weight", "bias"])
def test_batch_norm_gamma_and_beta_gradients_sum_per_example(resnet, param):
    ex, fig = figure(resnet, "B8.7", (param, (19,)))
    rec = resnet.record("B8.7")
    delta, x_hat = rec.values["grad_output"][:, 19], resnet.record("F8.7").values["x_hat"][:, 19]
    what = delta * x_hat if param == "weight" else delta
    assert np.allclose(fig.grid("Σ per example").values[:, 0], what.sum(axis=(1, 2)), atol=1e-15)
    symbol = "γ" if param == "weight" else "β"
    assert cells(fig, f"∂E/∂{symbol}[19]") == pytest.approx(
        float(rec.values[f"grad_{param}"][19]), abs=1e-12)


# ----- dropout -----------------------------------------------------------------------------


def test_dropout_forward_and_backward_show_the_recorded_mask():
    st = stepped("blocks", BLOCKS)
    fwd, back = st.record("F2.2").values, st.record("B2.2").values
    mask = fwd["mask"]
    for state, value in (("kept", 1), ("dropped", 0)):
        unit = tuple(int(v) for v in np.argwhere(mask == value)[0])
        e, c = unit[:2]
        u = ",".join(map(str, unit))
        ex, fig = figure(st, "F2.2", unit)
        assert np.array_equal(cells(fig, f"x[{e},{c}]"), fwd["input"][e, c])
        assert np.array_equal(cells(fig, f"mask[{e},{c}]"), mask[e, c])
        assert np.array_equal(cells(fig, f"o[{e},{c}]"), fwd["output"][e, c])
        assert cells(fig, "1 − p_drop") == pytest.approx(0.6)
        assert cells(fig, f"mask[{u}]") == value
        assert state in " ".join(row.caption for row in fig.rows)
        assert cells(fig, f"o[{u}]") == ex.value == pytest.approx(float(fwd["output"][unit]))
        ex, fig = figure(st, "B2.2", unit)
        assert np.array_equal(cells(fig, f"δ[{e},{c}]"), back["grad_output"][e, c])
        assert np.array_equal(cells(fig, f"mask[{e},{c}]"), mask[e, c])
        assert np.array_equal(cells(fig, f"δ_in[{e},{c}]"), back["grad_input"][e, c])
        assert cells(fig, f"δ_in[{u}]") == ex.value == pytest.approx(
            float(back["grad_input"][unit]))


def test_dropout_in_eval_mode_is_the_identity():
    st = stepped("lenet5-dropout", None, eval_mode=True)
    step = next(r.name for r in st.records if r.layer_type == "dropout")
    ex, fig = figure(st, step, (1, 7))
    assert "eval" in fig.title and not any(g.symbol.startswith("mask") for g in fig.grids())
    assert cells(fig, "x[1,7]") == cells(fig, "o[1,7]") == st.record(step).values["output"][1, 7]
