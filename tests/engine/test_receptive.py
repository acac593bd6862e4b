"""Receptive fields: by hand on LeNet-5, and empirically by perturbing input pixels."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core import Network
from cnnviz.core.presets import get_preset
from cnnviz.engine import Stepper, receptive_field
from cnnviz.engine.receptive import region_size

# smooth and without max pooling, so that every pixel inside the field moves the unit
SMOOTH = {
    "input": [2, 13, 13],
    "layers": [
        {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "tanh"},
        {"type": "avgpool2d", "kernel_size": 3, "stride": 1, "padding": 1},
        {"type": "conv2d", "out_channels": 2, "kernel_size": 2},
        {"type": "leaky_relu"},
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ],
    "loss": "cross_entropy",
}


def test_lenet5_conv2_unit_sees_14x14_of_the_input():
    """Layer 3 (conv2, 5×5 on the pooled 14×14 map) unit (0, 4, 5), worked out by hand.

    pool output rows 4…8 (5 rows) → conv1 output rows 8…17 (2×2 pool) → input rows
    8−2 … 17−2+4 = 6…19 (5×5 kernel, padding 2): 14 rows; columns likewise from 5.
    """
    field = receptive_field(get_preset("lenet5"), 3, (0, 4, 5))
    assert set(field) == {"input", 0, 1, 2}
    assert field[2]["box"] == (4, 9, 5, 10) and field[2]["channels"] == tuple(range(6))
    assert field[1]["box"] == field[0]["box"] == (8, 18, 10, 20)
    assert field["input"]["box"] == (6, 20, 8, 22) and field["input"]["channels"] == (0,)
    assert region_size(field["input"]) == 14 * 14


def test_regions_are_clipped_at_the_border():
    """A corner unit's field stops at the map's edge (padding is not part of the map)."""
    field = receptive_field(get_preset("lenet5"), 3, (2, 0, 0))
    assert field["input"]["box"] == (0, 12, 0, 12)


def test_dense_sees_everything_and_flatten_maps_back():
    """A dense unit depends on the whole input; a flatten unit on one (c, i, j) cell."""
    spec = get_preset("lenet5")
    dense = receptive_field(spec, 7, (3,))
    assert dense[6]["range"] == (0, 400) and dense[5]["box"] == (0, 5, 0, 5)
    assert dense["input"]["box"] == (0, 28, 0, 28)
    flat = receptive_field(spec, 6, (0, 27))  # example 0, flat index 27 = (1, 0, 2)
    assert flat[5]["channels"] == (1,) and flat[5]["box"] == (0, 1, 2, 3)


def test_accepts_network_stepper_and_rejects_bad_units():
    """Works on a Network or through the Stepper; bad layer or unit raises ValueError."""
    net = Network.from_spec(SMOOTH, dtype="float64")
    st = Stepper(net, np.zeros((2, 13, 13)), 0)
    assert st.receptive_field(3, (1, 2, 2)) == receptive_field(SMOOTH, 3, (1, 2, 2))
    with pytest.raises(ValueError, match="layer 9 does not exist"):
        receptive_field(net, 9, (0,))
    with pytest.raises(ValueError, match="not inside"):
        receptive_field(net, 3, (0, 7, 7))


def unit_responses(net, layer, unit, x):
    """The unit's value for a batch of inputs, through layers 0…layer."""
    out = x
    for lay in net.layers[: layer + 1]:
        out = lay.forward(out)
    return out[(slice(None), *unit)]


def perturbed_batch(x):
    """One copy of x per input pixel (all channels), that pixel raised by 0.5."""
    _, H, W = x.shape
    xs = np.repeat(x[None], H * W, axis=0)
    rows, cols = np.divmod(np.arange(H * W), W)
    xs[np.arange(H * W), :, rows, cols] += 0.5
    return xs, rows, cols


@pytest.mark.parametrize(("spec", "layer", "unit"), [
    (SMOOTH, 3, (1, 2, 3)), (SMOOTH, 3, (0, 0, 0)), (SMOOTH, 2, (2, 6, 1)),
    (get_preset("lenet5"), 3, (5, 4, 5)), (get_preset("lenet5"), 3, (1, 9, 0)),
])
def test_pixels_outside_never_move_the_unit(spec, layer, unit):
    """Empirically (float64): outside the field nothing changes; inside, the unit moves."""
    net = Network.from_spec(spec, seed=2, dtype="float64")
    x = np.random.default_rng(1).random(net.spec.input_shape)
    base = unit_responses(net, layer, unit, x[None])[0]
    xs, rows, cols = perturbed_batch(x)
    moved = unit_responses(net, layer, unit, xs) != base
    i0, i1, j0, j1 = receptive_field(net, layer, unit)["input"]["box"]
    inside = (rows >= i0) & (rows < i1) & (cols >= j0) & (cols < j1)
    assert not moved[~inside].any()
    if spec is SMOOTH:
        assert moved[inside].all()
    else:  # relu and max pooling can hide a pixel; most still matter
        assert moved[inside].mean() > 0.5


def test_stride_and_padding_by_hand():
    """SMOOTH layer 3 unit (1, 2, 3), worked back through a padded pool and a strided conv.

    conv 2×2 → pool-output rows 2…3, cols 3…4; avg pool 3×3, stride 1, padding 1 → rows
    1…4, cols 2…5 of the tanh/conv output; conv 3×3, stride 2, padding 1 → input rows
    2·1−1 … 2·4−1+2 = 1…9 and cols 3…11, on both input channels.
    """
    field = receptive_field(SMOOTH, 3, (1, 2, 3))
    assert field[2]["box"] == (2, 4, 3, 5) and field[2]["channels"] == (0, 1, 2)
    assert field[1]["box"] == field[0]["box"] == (1, 5, 2, 6)
    assert field["input"]["box"] == (1, 10, 3, 12) and field["input"]["channels"] == (0, 1)
    corner = receptive_field(SMOOTH, 3, (0, 0, 0))  # the padding is cut off at each step
    assert corner[0]["box"] == (0, 3, 0, 3) and corner["input"]["box"] == (0, 6, 0, 6)


POOLED = {
    "input": [1, 11, 12],
    "layers": [
        {"type": "conv2d", "out_channels": 2, "kernel_size": [3, 2], "stride": [2, 1],
         "padding": [1, 0]},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "avgpool2d", "kernel_size": 2, "padding": 1},      # → 2×2×4
        {"type": "flatten"},
        {"type": "dense", "units": 2},
    ],
    "loss": "mse",
}


@pytest.mark.parametrize("unit", [(0, 0, 0), (1, 1, 2), (1, 1, 3)])
def test_padded_pools_with_stride_bound_the_field(unit):
    """Max/avg pools with stride and padding after a strided conv: nothing outside moves."""
    net = Network.from_spec(POOLED, seed=2, dtype="float64")
    x = np.random.default_rng(3).random(net.spec.input_shape)
    base = unit_responses(net, 2, unit, x[None])[0]
    xs, rows, cols = perturbed_batch(x)
    moved = unit_responses(net, 2, unit, xs) != base
    i0, i1, j0, j1 = receptive_field(net, 2, unit)["input"]["box"]
    inside = (rows >= i0) & (rows < i1) & (cols >= j0) & (cols < j1)
    assert not moved[~inside].any()
    assert moved[inside].any()  # max pooling hides most pixels, but not all


# -- residual blocks: both paths, and units of inner layers ------------------------------------

def inner_responses(net, layer, inner, unit, x):
    """The value of a unit of a block's inner layer (branch, j) for a batch of inputs."""
    out = x
    for lay in net.layers[:layer]:
        out = lay.forward(out)
    branch, j = inner.split(".")
    for lay in getattr(net.layers[layer], branch)[: int(j) + 1]:
        out = lay.forward(out)
    return out[(slice(None), *unit)]


def test_a_block_is_walked_back_along_both_paths_and_names_its_inner_maps():
    """mini-resnet layer 7 (relu after the strided block 6): the body's two 3×3 convs, one
    of stride 2, need input rows 3…9 of block 6's input; the 1×1 stride-2 projection only
    row 6 — the union is the body's box. Inner maps are keyed by their step names."""
    field = receptive_field(get_preset("mini-resnet"), 7, (0, 3, 3))
    assert field[6]["box"] == field["6.4"]["box"] == field["6.s1"]["box"] == (3, 4, 3, 4)
    assert field["6.2"]["box"] == (2, 5, 2, 5) and len(field["6.2"]["channels"]) == 32
    assert field["6.s0"]["box"] == (3, 4, 3, 4)
    assert field[5]["box"] == (3, 10, 3, 10)  # body: 2·2−1 … 2·4−1+3; shortcut: 6…7
    assert set(field) >= {"4.0", "4.4", "6.0", "6.s0", 3, "input"}


def test_a_unit_of_an_inner_layer_walks_back_through_its_branch_only():
    field = receptive_field(get_preset("mini-resnet"), 6, (1, 2, 2), inner="shortcut.1")
    assert field["6.s0"]["box"] == (2, 3, 2, 3)
    assert not any(str(key).startswith("6.") and ".s" not in str(key) for key in field)
    assert field[5]["box"] == (4, 5, 4, 5)  # the 1×1 stride-2 projection
    body = receptive_field(get_preset("mini-resnet"), 4, (0, 5, 5), inner="body.3")
    assert body["4.2"]["box"] == (4, 7, 4, 7) and body[3]["box"] == (3, 8, 3, 8)
    assert "4.3" not in body and "4.4" not in body
    with pytest.raises(ValueError, match="no inner layer body.9"):
        receptive_field(get_preset("mini-resnet"), 4, (0, 0, 0), inner="body.9")


@pytest.mark.parametrize(("layer", "inner", "unit"), [
    (7, None, (3, 3, 3)), (7, None, (3, 0, 6)), (4, "body.3", (2, 5, 9)),
    (6, "shortcut.1", (1, 2, 2)), (6, "body.0", (5, 6, 0)),
])
def test_pixels_outside_never_move_a_unit_behind_or_inside_a_block(layer, inner, unit):
    """Empirically, in eval mode (batch norm then works unit by unit): pixels outside the
    field never move the unit, through both paths of a block and inside one."""
    net = Network.from_spec(get_preset("mini-resnet"), seed=2, dtype="float64")
    net.eval()
    x = np.random.default_rng(1).random(net.spec.input_shape)
    if inner is None:
        respond = lambda batch: unit_responses(net, layer, unit, batch)  # noqa: E731
    else:
        respond = lambda batch: inner_responses(net, layer, inner, unit, batch)  # noqa: E731
    base = respond(x[None])[0]
    xs, rows, cols = perturbed_batch(x)
    # one image and a batch may take kernels that sum in different orders (a tap matrix
    # and BLAS for one 7×7 image, the nine-tap loops for a batch): rounding apart, a
    # pixel outside the field must not move the unit (a +0.5 pixel inside moves it by
    # far more than 1e-9)
    moved = np.abs(respond(xs) - base) > 1e-9 * max(1.0, abs(base))
    i0, i1, j0, j1 = receptive_field(net, layer, unit, inner)["input"]["box"]
    inside = (rows >= i0) & (rows < i1) & (cols >= j0) & (cols < j1)
    assert not moved[~inside].any()
    assert moved[inside].mean() > 0.3
