"""The computation view's grids hold exactly the Explanation's numbers, for every step kind."""

from __future__ import annotations

import numpy as np
import pytest
from engine_nets import MIXED, batch, make_net

from cnnviz.core.optim import SGD, Adam
from cnnviz.engine import Stepper

# 3 input channels, padding, a relu before the second conv (for the seed form), mse
RGB = {
    "input": [3, 6, 6],
    "layers": [
        {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "conv2d", "out_channels": 3, "kernel_size": 2, "stride": 2},
        {"type": "sigmoid"},
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ],
    "loss": "mse",
}


def stepped(spec, optimizer) -> Stepper:
    """A whole pass of spec on a batch of 2 (float64)."""
    net = make_net(spec)
    st = Stepper(net, *batch(net, 2), optimizer)
    st.run_all()
    return st


@pytest.fixture(scope="module")
def mixed():
    return stepped(MIXED, SGD(lr=0.1, momentum=0.9))


@pytest.fixture(scope="module")
def rgb():
    return stepped(RGB, Adam(lr=0.01))


def product_cells(fig) -> list[float]:
    """The non-padded cells of every products grid (symbols with a ·), sorted."""
    found = []
    for g in fig.grids():
        if "·" in g.symbol and not g.symbol.startswith(("Σ", "∂", "δ_in")):
            keep = ~g.pad if g.pad is not None else np.ones(g.values.shape, bool)
            found += g.values[keep].ravel().tolist()
    return sorted(found)


def assert_products_are_the_terms(ex):
    """Every term a·b is a product cell, and every product cell is a term."""
    fig = ex.figures["computation"]
    assert product_cells(fig) == sorted(a * b for a, b in ex.terms)


def assert_ends_with_the_value(ex):
    """A scalar of the figure's last row is the explanation's value (exactly)."""
    rows = ex.figures["computation"].rows
    scalars = [g.values[0, 0] for row in rows[-2:] for g in row.grids() if g.values.size == 1]
    assert ex.value in scalars


CASES = [
    ("mixed", "F0", (1, 2, 0, 0)),   # stride 2, padding 1: border unit, window in the padding
    ("mixed", "F0", (0, 1, 2, 2)),
    ("rgb", "F0", (1, 1, 0, 5)),     # 3 input channels, padded corner
    ("rgb", "F2", (0, 2, 1, 1)),     # stride 2, no padding
    ("mixed", "F6", (1, 2)),         # dense
    ("mixed", "B0", (1, 1, 0, 0)),   # backward conv, stride 2 + padding, border
    ("mixed", "B0", (0, 0, 4, 3)),
    ("rgb", "B2", (1, 0, 3, 3)),     # backward conv, stride 2
    ("rgb", "B0", (0, 2, 5, 0)),     # backward to a 3-channel input
    ("mixed", "B0", ("weight", (1, 1, 0, 2))),   # batch of 2: per-example partial sums
    ("rgb", "B0", ("weight", (1, 2, 2, 2))),
    ("mixed", "B0", ("bias", (2,))),
    ("mixed", "B6", ("weight", (3, 5))),
    ("mixed", "B6", ("bias", (1,))),
    ("mixed", "B6", (1, 4)),         # dense input delta
    ("mixed", "F2", (0, 1, 0, 0)),   # average pool with padding
    ("mixed", "B2", (1, 2, 0, 0)),
    ("mixed", "B4", (0, 1, 1, 1)),   # max pool routing
    ("mixed", "F4", (1, 0, 1, 0)),
    ("mixed", "F5", (0, 7)), ("mixed", "B5", (1, 0, 1, 1)),  # flatten
    ("mixed", "F1", (0, 1, 1, 1)), ("mixed", "B1", (1, 0, 2, 3)),  # leaky relu
    ("mixed", "L", (1, 2)), ("rgb", "L", (0, 1)),  # loss gradients, ce and mse
    ("mixed", "U", ("0.weight", (1, 1, 0, 2))),  # SGD with momentum
]


@pytest.mark.parametrize(("net", "step", "unit"), CASES)
def test_figure_numbers_are_the_explanation_numbers(net, step, unit, request):
    """Products are exactly the terms; the final number is the value (= the record)."""
    st = request.getfixturevalue(net)
    ex = st.explain(step, unit)
    assert "computation" in ex.figures
    if ex.linear and any("·" in g.symbol for g in ex.figures["computation"].grids()):
        assert_products_are_the_terms(ex)
    assert_ends_with_the_value(ex)


def test_conv_forward_grids_are_the_window_and_the_kernel(mixed):
    """Per channel: the input window (padding marked), w[k,c], partial sums + b = x."""
    ex = mixed.explain("F0", (1, 2, 0, 0))
    fig = ex.figures["computation"]
    inp = mixed.record("F0").values["input"]
    w = mixed.pass_params()["0.weight"]
    for c in range(2):
        o_grid = fig.grid(f"o[1,{c}] window")
        assert o_grid.pad[0].all() and o_grid.pad[:, 0].all() and not o_grid.pad[1:, 1:].any()
        assert np.array_equal(o_grid.values[1:, 1:], inp[1, c, 0:2, 0:2])
        assert np.array_equal(fig.grid(f"w[2,{c}]").values, w[2, c])
    sums = fig.grid("Σ per channel").values[:, 0]
    assert sums.sum() + ex.constant == pytest.approx(ex.value, abs=1e-12)
    assert fig.rows[-1].grids()[-1].symbol == "o[1,2,0,0]"  # then the leaky relu


def test_backward_conv_outlines_region_q_and_rotates_the_kernel(rgb):
    """Q is outlined on δ; the kernel drawn is w turned 180°; Σ_k partials = δ_in."""
    ex = rgb.explain("B0", (0, 1, 2, 3))
    fig = ex.figures["computation"]
    w = rgb.pass_params()["0.weight"]
    for k in range(2):
        assert np.array_equal(fig.grid(f"rot180(w[{k},1])").values, w[k, 1, ::-1, ::-1])
        q = fig.grid(f"δ[0,{k}], Q outlined")
        assert q.box == (1, 3, 2, 4)  # kernel 3, padding 1: rows i′−1 … i′+1
        assert q.overview and not q.marks  # stride 1: the box is Q
    total = fig.grid("Σ per output channel").values.sum()
    assert total == pytest.approx(ex.value, abs=1e-12)


def test_seed_form_folds_in_the_activation_slope(rgb):
    """B2's δ_in times relu′(x) of F1 is what B1 records: seed 001 eq. 20."""
    ex = rgb.explain("B2", (1, 0, 3, 3))
    seed = ex.figures["seed"]
    folded = seed.rows[-2].grids()[-1]
    assert folded.symbol.startswith("δ^l")
    assert folded.values[0, 0] == pytest.approx(
        float(rgb.record("B1").values["grad_input"][1, 0, 3, 3]), abs=1e-12)
    assert any("eq. 20" in note for note in seed.notes)
    assert any("layer l" in note for note in seed.notes)


def test_weight_gradient_has_one_partial_sum_per_example(mixed):
    """Σ_e of the per-example partial sums is ∂E/∂w."""
    ex = mixed.explain("B0", ("weight", (1, 1, 0, 2)))
    partials = ex.figures["computation"].grid("Σ per example").values[:, 0]
    assert partials.size == 2
    assert partials.sum() == pytest.approx(ex.value, abs=1e-12)


def test_dense_products_are_sorted_and_complete(mixed):
    """Every term, largest |w·o| first."""
    ex = mixed.explain("F6", (0, 1))
    products = ex.figures["computation"].grid("w·o").values[:, 0]
    assert len(products) == len(ex.terms)
    assert list(np.abs(products)) == sorted(np.abs(products), reverse=True)


def test_update_figure_names_every_state_variable(rgb, mixed):
    """Adam: g, m, v, m̂, v̂, t and the hyper-parameters; momentum: v."""
    ex = rgb.explain("U", ("2.weight", (1, 0, 1, 1)))
    symbols = {g.symbol for g in ex.figures["computation"].grids()}
    assert {"g", "m", "v", "m̂", "v̂", "t", "η", "β₁", "β₂", "ε"} <= symbols
    ex = mixed.explain("U", ("0.weight", (1, 1, 0, 2)))
    symbols = {g.symbol for g in ex.figures["computation"].grids()}
    assert {"g", "v", "η", "μ"} <= symbols and "b" not in symbols
