"""The stepper on networks with residual blocks, batch norm and dropout: inner steps,
equality with run_pass plus the update, exact undo, and no second statistics update or mask.
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_nets import BLOCKS, NETS, block_batch, build, same_records, same_snapshot, snapshot

from cnnviz.core.optim import Adam
from cnnviz.engine import Stepper
from cnnviz.engine.steps import param_step, parse_step, step_names


def test_the_inner_steps_are_named_as_design_fixes_them():
    net = build("blocks", BLOCKS, "float64")
    st = Stepper(net, *block_batch(net))
    assert st.steps == [
        "F0", "F1", "F2.0", "F2.1", "F2.2", "F2", "F3.0", "F3.s0", "F3.s1", "F3", "F4", "F5",
        "L", "B5", "B4", "B3", "B3.s1", "B3.s0", "B3.0", "B2", "B2.2", "B2.1", "B2.0", "B1",
        "B0", "U"]
    assert parse_step("B3.s1").inner == "shortcut.1" and parse_step("F2.0").inner == "body.0"
    assert step_names(build("lenet5", None, "float32").spec) == [
        *[f"F{i}" for i in range(12)], "L", *[f"B{i}" for i in reversed(range(12))], "U"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "spec"), NETS, ids=[n for n, _ in NETS])
def test_a_stepped_pass_equals_run_pass_and_the_update(name, spec, dtype):
    stepped, direct = build(name, spec, dtype), build(name, spec, dtype)
    x, y = block_batch(stepped)
    st = Stepper(stepped, x, y, Adam(lr=0.01))
    st.run_all()
    p = direct.run_pass(x, y)  # the same seed: the same dropout masks
    for i, layer in enumerate(direct.layers):
        np.testing.assert_array_equal(st.record(f"F{i}").values["output"], p.outputs[i])
        np.testing.assert_array_equal(st.record(f"B{i}").values["grad_output"], p.output_grads[i])
        for inner, sub in layer.inner() if layer.type == "residual" else []:
            rec = st.record(f"F{i}.{inner.replace('body.', '').replace('shortcut.', 's')}")
            assert rec.inner == inner and rec.layer == i and rec.layer_type == sub.type
            for key in ("output", "mask", "mean", "var", "x_hat"):
                if key in sub.saved:
                    np.testing.assert_array_equal(rec.values[key], sub.saved[key])
    first = "B0.0" if direct.layers[0].type == "residual" else "B0"
    grad_in = st.record(first).values["block_grad_input" if "." in first else "grad_input"]
    np.testing.assert_array_equal(grad_in, p.input_grad)
    Adam(lr=0.01).step(direct.params(), p.grads)
    for key, value in direct.state_dict().items():  # weights and running statistics
        np.testing.assert_array_equal(stepped.state_dict()[key], value, err_msg=key)
    assert stepped.rng.bit_generator.state == direct.rng.bit_generator.state


def test_batch_norm_and_dropout_records_hold_statistics_and_masks():
    net = build("blocks", BLOCKS, "float64")
    st = Stepper(net, *block_batch(net))
    start = net.state_dict()
    st.run_to("F3")
    bn = st.record("F1").values
    assert {"mean", "var", "x_hat", "running_mean_before", "running_var_before",
            "running_mean_after", "running_var_after"} <= bn.keys()
    np.testing.assert_array_equal(bn["running_mean_before"], start["1.running_mean"])
    np.testing.assert_array_equal(bn["running_var_after"], net.state_dict()["1.running_var"])
    x = st.record("F1").values["input"]
    np.testing.assert_allclose(bn["mean"], x.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(bn["var"], x.var(axis=(0, 2, 3)), rtol=1e-12)
    drop = st.record("F2.2")
    assert set(np.unique(drop.values["mask"])) <= {0.0, 1.0} and "rng_before" in drop.meta
    np.testing.assert_array_equal(drop.values["output"],
                                  drop.values["input"] * drop.values["mask"] / 0.6)
    add = st.record("F2").values
    np.testing.assert_array_equal(add["output"], add["body_output"] + add["input"])
    assert st.record("F3").values["shortcut_output"] is not None


@pytest.mark.parametrize(("name", "spec"), NETS[:4], ids=[n for n, _ in NETS[:4]])
def test_back_restores_statistics_and_masks_so_stepping_again_is_bit_identical(name, spec):
    net = build(name, spec, "float32")
    st = Stepper(net, *block_batch(net), Adam(lr=0.01))
    start = snapshot(st)
    st.run_all()
    first, end = list(st.records), snapshot(st)
    for k in range(len(st.steps) - 1, -1, -1):  # back one step at a time to the start
        st.back()
        if st.steps[k] == "F0":
            assert same_snapshot(snapshot(st), start)
    assert st.cursor == 0 and same_snapshot(snapshot(st), start)
    st.run_all()
    assert same_records(st.records, first) and same_snapshot(snapshot(st), end)
    st.seek("F2")  # back and forth in the middle
    st.seek(st.steps[-3])
    st.run_all()
    assert same_records(st.records, first) and same_snapshot(snapshot(st), end)


def test_backward_replays_forwards_without_moving_statistics_or_drawing_masks():
    """A prediction between F and B overwrites what layers saved; B replays it exactly."""
    stepped, direct = build("blocks", BLOCKS, "float64"), build("blocks", BLOCKS, "float64")
    x, y = block_batch(stepped)
    st = Stepper(stepped, x, y)
    st.run_to("L")
    stepped.forward(np.ones_like(x))  # moves the statistics and draws masks (training mode)
    stepped.eval()  # and the mode changes too
    after_prediction = snapshot(st)
    st.run_to("B0")
    assert same_snapshot(snapshot(st), after_prediction)
    p = direct.run_pass(x, y)
    for key, grad in p.grads.items():
        step, name = param_step(key)
        np.testing.assert_array_equal(st.record(step).values[f"grad_{name}"], grad, err_msg=key)
    np.testing.assert_array_equal(st.record("B0").values["grad_input"], p.input_grad)


def test_eval_mode_steps_use_running_statistics_and_no_mask():
    stepped, direct = build("blocks", BLOCKS, "float64"), build("blocks", BLOCKS, "float64")
    for net in (stepped, direct):
        net.eval()
    x, y = block_batch(stepped, 2)
    st = Stepper(stepped, x, y)
    st.run_to("B0")
    p = direct.run_pass(x, y)
    np.testing.assert_array_equal(st.record("F5").values["output"], p.outputs[5])
    assert "mask" not in st.record("F2.2").values
    rec = st.record("F1").values
    np.testing.assert_array_equal(rec["running_mean_before"], rec["running_mean_after"])
    np.testing.assert_array_equal(st.record("B0").values["grad_input"], p.input_grad)
