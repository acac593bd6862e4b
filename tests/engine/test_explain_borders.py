"""Explanations on a net with stride AND padding everywhere: every unit, borders included.

The maps are small, so every unit of every linear step is explained, not a random few:
the border units are where padding and stride arithmetic goes wrong.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cnnviz.core import Network
from cnnviz.core.optim import SGD, Adam
from cnnviz.engine import Stepper

# non-square kernels, strides and paddings; pools with stride and padding
STRIDED = {
    "input": [2, 7, 9],
    "layers": [
        {"type": "conv2d", "out_channels": 3, "kernel_size": [3, 2], "stride": [2, 1],
         "padding": [1, 1]},                                             # → 3×4×10
        {"type": "leaky_relu", "negative_slope": 0.2},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1},  # → 3×2×5
        {"type": "conv2d", "out_channels": 2, "kernel_size": 2, "padding": 1},  # → 2×3×6
        {"type": "avgpool2d", "kernel_size": 2, "padding": 1},          # → 2×2×4
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ],
    "loss": "cross_entropy",
}
LINEAR_FORWARD = ["F0", "F1", "F2", "F3", "F4", "F5", "F6"]
BACKWARD = [f"B{i}" for i in range(7)]


def stepped(dtype: str, optimizer=None) -> Stepper:
    """A whole pass of STRIDED on a batch of 2, with non-zero biases."""
    net = Network.from_spec(STRIDED, seed=5, dtype=dtype)
    rng = np.random.default_rng(5)
    state = net.state_dict()
    for key in state:
        if key.endswith(".bias"):
            state[key] = rng.normal(0, 0.3, state[key].shape).astype(dtype)
    net.load_state_dict(state)
    x = rng.normal(0, 1, (2, *net.spec.input_shape))
    st = Stepper(net, x, np.array([2, 0]), optimizer or SGD(lr=0.1))
    st.run_all()
    return st


@pytest.fixture(scope="module")
def st64() -> Stepper:
    return stepped("float64")


@pytest.fixture(scope="module")
def st32() -> Stepper:
    return stepped("float32")


def every_unit(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """All index tuples of an array shape."""
    return list(itertools.product(*(range(s) for s in shape)))


def test_the_net_has_the_shapes_the_test_is_about(st64):
    """Guard: the strided, padded layers give the shapes the comments claim."""
    shapes = [st64.record(f"F{i}").values["output"].shape[1:] for i in range(7)]
    assert shapes == [(3, 4, 10), (3, 4, 10), (3, 2, 5), (2, 3, 6), (2, 2, 4), (16,), (3,)]


def check(ex, recorded: float, tol: float) -> None:
    """Σ a·b + constant == value, and value == the recorded entry within tol."""
    assert ex.linear
    total = sum(a * b for a, b in ex.terms) + ex.constant
    assert total == pytest.approx(ex.value, abs=1e-12)
    assert abs(ex.value - recorded) <= tol, (ex.step, ex.unit, ex.value, recorded)
    assert ex.recorded == recorded


@pytest.mark.parametrize("step", LINEAR_FORWARD)
def test_every_forward_unit_adds_up_in_float64(st64, step):
    """conv (stride, padding), leaky relu, max/avg pool with padding, flatten, dense."""
    out = st64.record(step).values["output"]
    for unit in every_unit(out.shape):
        check(st64.explain(step, unit), float(out[unit]), 1e-12)


@pytest.mark.parametrize("step", BACKWARD)
def test_every_input_delta_adds_up_in_float64(st64, step):
    """Every δ_in, border cells included (cells only some windows cover, or none)."""
    grad_in = st64.record(step).values["grad_input"]
    for unit in every_unit(grad_in.shape):
        check(st64.explain(step, unit), float(grad_in[unit]), 1e-12)


@pytest.mark.parametrize("step", ["B0", "B3", "B6"])
def test_every_parameter_gradient_adds_up_in_float64(st64, step):
    """Every ∂E/∂w and ∂E/∂b of the strided conv, the padded conv and the dense layer."""
    rec = st64.record(step)
    for kind in ("weight", "bias"):
        grads = rec.values[f"grad_{kind}"]
        for index in every_unit(grads.shape):
            check(st64.explain(step, (kind, index)), float(grads[index]), 1e-12)


@pytest.mark.parametrize("step", ["F0", "F2", "F3", "F4", "B0", "B2", "B3", "B4"])
def test_float32_units_agree_to_float32_rounding(st32, step):
    """In a float32 net the float64 terms equal the record to float32 rounding."""
    rec = st32.record(step)
    key = "output" if step[0] == "F" else "grad_input"
    tensor = rec.values[key]
    tol = 1e-5 * max(1.0, float(np.abs(tensor).max()))
    for unit in every_unit(tensor.shape):
        check(st32.explain(step, unit), float(tensor[unit]), tol)


def test_strided_conv_corner_leaves_out_the_padding(st64):
    """F0 at (0, o, 0, 0): rows −1…1, cols −1…0 of the window; only rows 0…1, col 0 exist."""
    ex = st64.explain("F0", (1, 2, 0, 0))
    assert sorted({(r, c) for _, r, c in ex.cells["input"]}) == [(0, 0), (1, 0)]
    assert len(ex.terms) == 2 * 2  # 2 channels × 2 cells
    ex = st64.explain("F0", (0, 0, 3, 9))  # bottom-right: rows 5…7, cols 8…9
    assert sorted({(r, c) for _, r, c in ex.cells["input"]}) == [(5, 8), (6, 8)]


def test_strided_conv_backward_skips_cells_no_stride_reaches(st64):
    """B0 of a stride-2 conv: an input row is reached from the output rows (i′+p−m)/2."""
    ex = st64.explain("B0", (0, 1, 3, 4))
    for (_, i, j), (_, _, m, q) in zip(ex.cells["grad_output"], ex.cells["weight"],
                                      strict=True):
        assert 2 * i - 1 + m == 3 and j - 1 + q == 4
    # rows: m = 0, 2 reach i = 2, 1 (m = 1 falls between strides); cols: q = 0, 1; 3 channels
    assert len(ex.terms) == 3 * 2 * 2


def test_padded_max_pool_winner_is_a_real_cell(st64):
    """A padded max pool never picks the padding: every winner lies inside the map."""
    fwd = st64.record("F2")
    for unit in every_unit(fwd.values["output"].shape):
        c, r, col = st64.explain("F2", unit).cells["winner"]
        assert 0 <= r < 4 and 0 <= col < 10


@pytest.mark.parametrize("make", [lambda: SGD(lr=0.1, momentum=0.9),
                                  lambda: SGD(lr=0.1, momentum=0.9, nesterov=True),
                                  lambda: Adam(lr=0.01)], ids=["momentum", "nesterov", "adam"])
def test_update_explanation_keeps_the_numbers_of_its_step(make):
    """After U the optimizer moves on (training, a schedule): U still explains its own step."""
    opt = make()
    st = stepped("float64", opt)
    # a second update on the same optimizer, and a schedule changing the rate
    st.net.train_step(st.x, st.y, opt)
    opt.lr = 123.0
    rec = st.record("U")
    for name in ("0.weight", "3.bias", "6.weight"):
        after = rec.values[f"{name}_after"]
        for index in every_unit(after.shape)[:6]:
            ex = st.explain("U", (name, index))
            assert ex.value == pytest.approx(float(after[index]), abs=1e-12)
            assert ex.recorded == float(after[index])
            if ex.linear:
                check(ex, float(after[index]), 1e-12)
            else:
                assert "step = 1," in ex.text and "η = 0.01" in ex.text


@pytest.mark.parametrize("kw", [{}, {"amsgrad": True}, {"weight_decay": 0.1}],
                         ids=["adam", "amsgrad", "decay"])
def test_adam_explanation_recomputes_the_weight_with_its_numbers(kw):
    """Adam's last rule line with the weight's m, v, t and η comes out at the recorded w."""
    from cnnviz.engine.explain import fmt

    opt = Adam(lr=0.01, **kw)
    st = stepped("float64", opt)
    st.new_pass()
    st.run_all()  # t = 2: the bias corrections are not 1 − β
    rec = st.record("U")
    for name, index in [("0.weight", (2, 1, 0, 1)), ("3.bias", (1,)), ("6.weight", (2, 5))]:
        ex = st.explain("U", (name, index))
        last = ex.text.splitlines()[-1]
        before = float(rec.values[f"{name}_before"][index])
        assert last.startswith(f"{name}[") and f"= {fmt(before)} − 0.01/" in last
        assert last.endswith(f"= {fmt(ex.recorded)}   (t = 2)")
