"""Sliding-window animations: the frames fill the recorded map cell by cell, in order."""

from __future__ import annotations

import numpy as np
import pytest
from engine_nets import MIXED, batch, make_net
from test_figures import RGB

from cnnviz.engine import Stepper
from cnnviz.engine.animation import animation_for


def stepped(spec) -> Stepper:
    """A whole pass on a batch of 2 (float64)."""
    net = make_net(spec)
    st = Stepper(net, *batch(net, 2))
    st.run_all()
    return st


@pytest.fixture(scope="module")
def mixed():
    return stepped(MIXED)


@pytest.fixture(scope="module")
def rgb():
    return stepped(RGB)


def assert_fills_in_order(anim, recorded: np.ndarray, accumulate: bool = False):
    """Frame t writes cell t (row order) with the recorded number; earlier cells stay."""
    H, W = recorded.shape
    if not accumulate:
        assert [f.cell for f in anim.frames] == [(i, j) for i in range(H) for j in range(W)]
    for t, frame in enumerate(anim.frames):
        if not accumulate:
            assert frame.value == pytest.approx(recorded[frame.cell], abs=1e-12)
            filled = ~np.isnan(frame.target)
            assert filled.sum() == t + 1
            assert np.allclose(frame.target[filled], recorded[filled], atol=1e-12)
    assert np.allclose(anim.frames[-1].target, recorded, atol=1e-12)


@pytest.mark.parametrize(("net", "step", "key"), [
    ("mixed", "F0", "output"),       # stride 2, padding 1, 2 input channels
    ("rgb", "F0", "output"),         # 3 input channels, padding 1
    ("rgb", "F2", "output"),         # stride 2
    ("mixed", "B0", "grad_input"),   # δ↑2 zero-padded, rot180(w)
    ("rgb", "B2", "grad_input"),
    ("rgb", "B0", "grad_input"),
    ("mixed", "F4", "output"),       # max pool
])
def test_frames_reproduce_the_record(net, step, key, request):
    """Every example and map of the step: the frames rebuild the recorded tensor."""
    st = request.getfixturevalue(net)
    rec = st.record(step)
    for e in range(2):
        for c in range(rec.values[key].shape[1]):
            anim = animation_for(st, rec, e, c)
            assert_fills_in_order(anim, rec.values[key][e, c])


def test_max_pool_backward_routes_each_delta_to_its_winner(mixed):
    """One frame per δ cell, in order; δ_in accumulates to the record."""
    rec, fwd = mixed.record("B4"), mixed.record("F4")
    anim = animation_for(mixed, rec, 1, 2)
    delta = rec.values["grad_output"][1, 2]
    W = fwd.values["input"].shape[3]
    for frame, (i, j) in zip(anim.frames, np.ndindex(*delta.shape), strict=True):
        assert frame.box == (i, i, j, j)
        assert frame.cell == divmod(int(fwd.values["argmax"][1, 2, i, j]), W)
    assert_fills_in_order(anim, rec.values["grad_input"][1, 2], accumulate=True)


def test_max_pool_forward_marks_the_recorded_winner(mixed):
    """The marked cell holds the window's maximum (the padded plane has no padding here)."""
    anim = animation_for(mixed, mixed.record("F4"), 0, 1)
    for frame in anim.frames:
        assert anim.source[frame.winner] == frame.value


def test_products_are_kernel_times_window(rgb):
    """The products of a frame are the drawn kernel ⊙ the window, summed over channels."""
    rec = rgb.record("F0")
    anim = animation_for(rgb, rec, 1, 1)
    w = rgb.pass_params()["0.weight"][1]
    x = np.pad(rec.values["input"][1], ((0, 0), (1, 1), (1, 1)))
    frame = anim.frames[9]  # output cell (1, 3)
    expected = (x[:, 1:4, 3:6] * w).sum(axis=0)
    assert np.allclose(frame.products, expected, atol=1e-14)


def test_true_convolution_flips_the_kernel_and_changes_the_numbers(rgb):
    """Mode 'convolution' slides rot180(w): o * w, not the layer's o ⋆ w (eq. 1–3)."""
    rec = rgb.record("F0")
    corr = animation_for(rgb, rec, 0, 0, "correlation")
    conv = animation_for(rgb, rec, 0, 0, "convolution")
    assert np.array_equal(conv.kernel, corr.kernel[::-1, ::-1])
    assert not np.allclose(conv.frames[-1].target, rec.values["output"][0, 0])
    assert any("NOT" in note for note in conv.notes)


def test_steps_without_a_window_raise_value_errors(mixed):
    """Dense, activation and loss steps, and a map out of range."""
    for step in ("F6", "F1", "B5"):
        with pytest.raises(ValueError, match="slides no window"):
            animation_for(mixed, mixed.record(step), 0, 0)
    with pytest.raises(ValueError, match="out of range"):
        animation_for(mixed, mixed.record("F0"), 0, 3)
