"""Explanations: the terms of every linear step add up to the recorded number."""

from __future__ import annotations

import numpy as np
import pytest
from engine_nets import MIXED, batch, make_net

from cnnviz.core.optim import SGD, Adam
from cnnviz.engine import Explanation, Stepper

TOL = 1e-9


# relu, 2×2 max pool, a plain conv, mse: the seeds' kind of network
PLAIN = {
    "input": [2, 8, 8],
    "layers": [
        {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "conv2d", "out_channels": 2, "kernel_size": 2, "stride": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ],
    "loss": "mse",
}


def stepped(spec, optimizer=None, n=3):
    """A float64 stepper on spec that has run the whole pass."""
    net = make_net(spec, "float64")
    st = Stepper(net, *batch(net, n), optimizer or SGD(lr=0.1))
    st.run_all()
    return st


@pytest.fixture(scope="module")
def mixed():
    return stepped(MIXED)


@pytest.fixture(scope="module")
def plain():
    return stepped(PLAIN)


def random_units(shape, count, seed):
    """`count` random index tuples into an array of `shape`."""
    rng = np.random.default_rng(seed)
    return [tuple(int(rng.integers(0, s)) for s in shape) for _ in range(count)]


def assert_adds_up(ex: Explanation, recorded: float):
    """Σ a·b + constant == value == the recorded entry (float64, tolerance 1e-9)."""
    assert ex.linear
    total = sum(a * b for a, b in ex.terms) + ex.constant
    assert total == pytest.approx(ex.value, abs=TOL)
    assert ex.value == pytest.approx(recorded, abs=TOL)
    assert ex.recorded == recorded


LINEAR_FORWARD = [("mixed", "F0"), ("mixed", "F1"), ("mixed", "F2"), ("mixed", "F4"),
                  ("mixed", "F5"), ("mixed", "F6"), ("mixed", "F8"), ("plain", "F0"),
                  ("plain", "F1"), ("plain", "F2"), ("plain", "F3"), ("plain", "F5")]


@pytest.mark.parametrize(("net", "step"), LINEAR_FORWARD)
def test_forward_terms_add_up(net, step, request):
    """conv, dense, avg/max pool, flatten, relu/leaky relu forward: Σ terms == output."""
    st = request.getfixturevalue(net)
    out = st.record(step).values["output"]
    for unit in random_units(out.shape, 6, seed=len(step)):
        ex = st.explain(step, unit)
        assert (ex.step, ex.unit, ex.kind) == (step, unit, "forward")
        assert_adds_up(ex, float(out[unit]))


LINEAR_BACKWARD = [("mixed", f"B{i}") for i in range(9)] + [("plain", f"B{i}") for i in range(6)]


@pytest.mark.parametrize(("net", "step"), LINEAR_BACKWARD)
def test_backward_input_delta_terms_add_up(net, step, request):
    """Every backward step's input delta: Σ terms == grad_input (incl. sigmoid/tanh δ·f′)."""
    st = request.getfixturevalue(net)
    grad_in = st.record(step).values["grad_input"]
    for unit in random_units(grad_in.shape, 6, seed=int(step[1:])):
        assert_adds_up(st.explain(step, unit), float(grad_in[unit]))


@pytest.mark.parametrize(("net", "step"), [("mixed", "B0"), ("mixed", "B6"), ("mixed", "B8"),
                                           ("plain", "B0"), ("plain", "B3"), ("plain", "B5")])
def test_parameter_gradient_terms_add_up(net, step, request):
    """∂E/∂w (δ ⋆ o for conv, δ·oᵀ for dense) and ∂E/∂b summed over the batch."""
    st = request.getfixturevalue(net)
    rec = st.record(step)
    for kind in ("weight", "bias"):
        grads = rec.values[f"grad_{kind}"]
        for index in random_units(grads.shape, 5, seed=7):
            ex = st.explain(step, (kind, index))
            assert ex.unit == (kind, index)
            assert_adds_up(ex, float(grads[index]))
            assert len(ex.cells["grad_output"]) == len(ex.terms)


def test_conv_weight_gradient_pairs_delta_with_the_shifted_input(plain):
    """Each term of ∂E/∂w[o,c,m,n] is δ[n,o,i,j]·o[n,c,i+m−p,j+n−p], named in cells and text."""
    delta = plain.record("B0").values["grad_output"]
    o_in = plain.record("F0").values["input"]
    ex = plain.explain("B0", ("weight", (2, 1, 0, 2)))
    assert len(ex.terms) == 3 * 7 * 7  # batch 3; padding 1 cuts one row and one column
    for (a, b), d_cell, o_cell in zip(ex.terms, ex.cells["grad_output"], ex.cells["input"],
                                      strict=True):
        n, o, i, j = d_cell
        assert o_cell == (n, 1, i - 1, j + 1)
        assert (a, b) == (delta[d_cell], o_in[o_cell])
    n, o, i, j = next(d for (a, b), d in zip(ex.terms, ex.cells["grad_output"], strict=True)
                      if a * b != 0)
    assert f"δ[{n},{o},{i},{j}]·o[{n},1,{i - 1},{j + 1}]" in ex.text


def test_units_may_be_lists(mixed):
    """JSON-loaded units (lists) explain the same as tuples."""
    as_list = mixed.explain("B0", ["weight", [1, 0, 2, 1]])
    assert as_list == mixed.explain("B0", ("weight", (1, 0, 2, 1)))
    assert mixed.explain("F0", [0, 1, 2, 3]) == mixed.explain("F0", (0, 1, 2, 3))
    assert mixed.explain("U", ["6.bias", [2]]).unit == ("6.bias", (2,))


def test_conv_forward_has_bias_constant_and_cells(mixed):
    """eq. 7: products w·o plus b; padded cells are skipped; cells name input and weights."""
    rec = mixed.record("F0")
    ex = mixed.explain("F0", (1, 2, 0, 0))  # top-left corner: padding cuts the window
    assert ex.constant == pytest.approx(float(mixed.pass_params()["0.bias"][2]))
    assert len(ex.terms) == 2 * 2 * 2  # 2 channels × the 2×2 in-bounds part of a 3×3 window
    assert len(ex.cells["input"]) == len(ex.cells["weight"]) == len(ex.terms)
    assert all(0 <= i < 9 and 0 <= j < 9 for _, i, j in ex.cells["input"])
    w = mixed.pass_params()["0.weight"]
    first = ex.cells["weight"][0]
    c, i, j = ex.cells["input"][0]
    assert ex.terms[0] == (w[first], rec.values["input"][1, c, i, j])
    assert "x[1,2,0,0] = w[2,0,1,1]·o[0,0,0]" in ex.text and "b[2]" in ex.text


def test_conv_backward_uses_rot180_region(plain):
    """δ_in of a stride-1 conv sums δ over (i′−k+1 … i′) × (j′−k+1 … j′) per output channel."""
    ex = plain.explain("B0", (0, 1, 4, 4))
    assert "rot180(w)" in ex.text
    rows = {i for _, i, _ in ex.cells["grad_output"]}
    cols = {j for _, _, j in ex.cells["grad_output"]}
    # kernel 3, padding 1: output rows i′+1−m for m = 0, 1, 2
    assert rows == {3, 4, 5} and cols == {3, 4, 5}
    assert len(ex.terms) == 3 * 3 * 3


def test_maxpool_forward_names_window_and_winner(plain):
    """The window, the winner (from the recorded argmax) and its value."""
    rec = plain.record("F2")
    ex = plain.explain("F2", (2, 1, 3, 2))
    c, i, j = ex.cells["winner"]
    assert (c, i, j) in ex.cells["window"] and len(ex.cells["window"]) == 4
    assert rec.values["input"][2, c, i, j] == rec.values["output"][2, 1, 3, 2]
    assert f"won by o[{c},{i},{j}]" in ex.text


def test_maxpool_backward_routes_to_the_winner_only(plain):
    """A cell that won no window gets 0 and no term; a winner gets its window's δ."""
    fwd, bwd = plain.record("F2"), plain.record("B2")
    argmax = fwd.values["argmax"][0, 0]
    winners = {divmod(int(a), 8) for a in argmax.ravel()}
    loser = next((i, j) for i in range(8) for j in range(8) if (i, j) not in winners)
    ex = plain.explain("B2", (0, 0, *loser))
    assert ex.terms == [] and ex.value == 0.0 and bwd.values["grad_input"][(0, 0, *loser)] == 0
    winner = sorted(winners)[0]
    ex = plain.explain("B2", (0, 0, *winner))
    assert len(ex.terms) == 1 and ex.cells["grad_output"]


def test_avgpool_terms_are_one_over_k_squared(mixed):
    """Average pooling: terms (1/(k·k), o) forward and (1/(k·k), δ) backward."""
    for step in ("F2", "B2"):
        ex = mixed.explain(step, (0, 1, 1, 1))
        assert ex.terms and all(a == 0.25 for a, _ in ex.terms)


@pytest.mark.parametrize("net", ["mixed", "plain"])
def test_loss_gradient_and_value(net, request):
    """∂E/∂z[n,k] = (p_k − t_k)/N or (ŷ_k − t_k)/N; (n,) explains the batch loss E."""
    st = request.getfixturevalue(net)
    rec = st.record("L")
    for unit in [(0, 0), (1, int(st.y[1])), (2, 2)]:
        ex = st.explain("L", unit)
        assert_adds_up(ex, float(rec.values["grad_logits"][unit]))
    ex = st.explain("L", (1,))
    assert ex.value == pytest.approx(float(rec.values["loss"]), abs=TOL)
    assert "ℓ[1] = " in ex.text


@pytest.mark.parametrize("opt", [SGD(lr=0.1), SGD(lr=0.1, weight_decay=0.01),
                                 SGD(lr=0.1, momentum=0.9), SGD(lr=0.1, momentum=0.9,
                                                                nesterov=True)],
                         ids=["sgd", "decay", "momentum", "nesterov"])
def test_sgd_update_terms_add_up(opt):
    """SGD's update w − η·g (and its decay/momentum forms) as terms with constant w."""
    st = stepped(PLAIN, opt, n=2)
    rec = st.record("U")
    for name in ("0.weight", "3.bias", "5.weight"):
        for index in random_units(rec.values[f"{name}_after"].shape, 4, seed=1):
            ex = st.explain("U", (name, index))
            assert ex.constant == float(rec.values[f"{name}_before"][index])
            assert_adds_up(ex, float(rec.values[f"{name}_after"][index]))
    assert "w ← w − η" in ex.text


def test_plain_sgd_update_is_exact():
    """Without momentum or decay: terms [(−η, g)], constant w, bit for bit."""
    st = stepped(PLAIN, SGD(lr=0.1), n=1)
    ex = st.explain("U", ("0.weight", (1, 0, 2, 1)))
    g = st.record("U").values["0.weight_grad"][1, 0, 2, 1]
    assert ex.terms == [(-0.1, g)]
    assert ex.value == ex.recorded


@pytest.mark.parametrize(("step", "layer"), [("F3", 3), ("F7", 7)])
def test_nonlinear_forward_reports_the_recorded_value(mixed, step, layer):
    """tanh and sigmoid: not linear, but value is f(x) and equals the recorded output."""
    out = mixed.record(step).values["output"]
    for unit in random_units(out.shape, 4, seed=3):
        ex = mixed.explain(step, unit)
        assert not ex.linear and ex.layer == layer
        assert ex.value == pytest.approx(float(out[unit]), abs=TOL)
        assert "f'(x)" in ex.text


@pytest.mark.parametrize("name", ["rmsprop", "adagrad", "adadelta", "adam"])
def test_other_optimizers_explain_their_rule(name):
    """Every optimizer's U explanation names its rule and reports the weight after U."""
    from cnnviz.core.optim import make_optimizer

    opt = make_optimizer(name)
    st = stepped(PLAIN, opt, n=1)
    ex = st.explain("U", ("5.bias", (1,)))
    assert ex.value == ex.recorded == float(st.record("U").values["5.bias_after"][1])
    assert opt.describe_rule().splitlines()[-1] in ex.text and opt.name in ex.text


def test_adam_update_reports_the_recorded_value():
    """A non-linear rule: the text has the rule; value is the weight after the step."""
    st = stepped(PLAIN, Adam(lr=0.01), n=2)
    ex = st.explain("U", ("3.weight", (1, 2, 0, 1)))
    assert not ex.linear
    assert ex.value == float(st.record("U").values["3.weight_after"][1, 2, 0, 1])
    assert "m ← β₁·m" in ex.text and "exp_avg" in ex.text


def test_long_sums_are_elided_in_text_but_complete_in_data(mixed):
    """A 2-channel 3×3 window sum (+ b) shows a few terms and '… (N more terms)'."""
    ex = mixed.explain("F0", (0, 1, 2, 2))
    assert len(ex.terms) == 2 * 3 * 3
    assert "… (13 more terms)" in ex.text and "b[1]" in ex.text  # 18 = 4 + 13 + 1
    assert len(ex.text.splitlines()[0]) < 200


def test_zero_products_are_counted_not_shown(plain):
    """Terms that are exactly 0 (dead relu deltas) are left out of the text and counted."""
    ex = plain.explain("B0", ("weight", (1, 0, 1, 1)))
    zeros = sum(1 for a, b in ex.terms if a * b == 0)
    assert 0 < zeros < len(ex.terms)
    assert f"({zeros} of the {len(ex.terms)} products are 0 and not shown)" in ex.text


def test_bad_units_and_unexecuted_steps_raise_value_errors():
    """Out of range, wrong length, a step not run yet, a wrong parameter: ValueError."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 2))
    st.run_to("B5")
    cases = [
        (("F0", (0, 3, 0, 0)), "out of range"),
        (("F0", (0, 0, 0)), "needs 4 indices"),
        (("F0", (2, 0, 0, 0)), "out of range"),
        (("B4", (0, 0, 0, 0)), "has not been executed"),
        (("B5", ("weight", (0, 0))), "no parameters"),
        (("L", (5,)), "out of range"),
        (("X9", (0,)), "unknown step"),
    ]
    for (step, unit), message in cases:
        with pytest.raises(ValueError, match=message):
            st.explain(step, unit)
    st.run_all()
    with pytest.raises(ValueError, match="unknown parameter"):
        st.explain("U", ("1.weight", (0, 0)))
    with pytest.raises(ValueError, match="out of range"):
        st.explain("B6", ("weight", (4, 0)))


def test_mse_loss_spells_out_every_squared_difference(plain):
    """The seeds' ½·Σ(ŷ − t)² with the numbers: one (ŷ_k − t_k)² per class, and their value."""
    from cnnviz.engine.explain import fmt

    n = 1
    z = plain.record("L").values["logits"][n]
    y = int(plain.y[n])
    ex = plain.explain("L", (n,))
    for k, value in enumerate(z):
        assert f"({fmt(value)} − {int(k == y)})²" in ex.text
    ell = 0.5 * float(((z - np.eye(len(z))[y]) ** 2).sum())
    assert ex.text.rstrip().endswith(f"= {fmt(ell)}")
