"""The stepper: one step at a time gives run_pass/train_step bit for bit, and undoes exactly."""

from __future__ import annotations

import numpy as np
import pytest
from engine_nets import MIXED, batch, make_net

from cnnviz.core import Network
from cnnviz.core.optim import SGD, Adam
from cnnviz.core.presets import get_preset
from cnnviz.core.spec import parse_spec
from cnnviz.engine import Selection, Session, Stepper, StepRecord, load_session, save_session
from cnnviz.engine.selection import selection_shapes


def params_equal(a: dict, b: dict) -> bool:
    """Bitwise equality of two dicts of arrays (same keys)."""
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def opt_state_equal(a: dict, b: dict) -> bool:
    """Bitwise equality of two optimizer state_dicts."""
    if a["type"] != b["type"] or a["hyperparams"] != b["hyperparams"]:
        return False
    if a["state"].keys() != b["state"].keys():
        return False
    for key, entries in a["state"].items():
        other = b["state"][key]
        if entries.keys() != other.keys():
            return False
        if not all(np.array_equal(entries[k], other[k]) for k in entries):
            return False
    return True


STRIDED_MSE = {"input": [2, 7, 9], "loss": "mse", "layers": [  # strided, padded pools; mse
    {"type": "conv2d", "out_channels": 3, "kernel_size": [3, 2], "stride": [2, 1],
     "padding": [1, 1]}, {"type": "sigmoid"},
    {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "conv2d", "out_channels": 2, "kernel_size": 2, "padding": 1},
    {"type": "avgpool2d", "kernel_size": 2, "padding": 1}, {"type": "flatten"},
    {"type": "dense", "units": 3}]}

CASES = [
    ("strided-mse", STRIDED_MSE, "float64", 3),
    ("strided-mse32", STRIDED_MSE, "float32", 1),
    ("lenet5", None, "float32", 1),
    ("lenet5", None, "float32", 3),
    ("square", None, "float32", 2),
    ("mixed", MIXED, "float64", 3),
    ("mixed32", MIXED, "float32", 2),
]


IDS = [f"{c[0]}-{c[3]}" for c in CASES]


@pytest.mark.parametrize(("name", "spec", "dtype", "n"), CASES, ids=IDS)
def test_stepping_equals_run_pass_and_train_step(name, spec, dtype, n):
    """Every tensor of a pass stepped one by one equals run_pass; U equals train_step."""
    spec = spec if spec is not None else get_preset(name)
    reference, stepped = make_net(spec, dtype), make_net(spec, dtype)
    x, y = batch(reference, n)
    p = reference.run_pass(x, y)
    st = Stepper(stepped, x, y, SGD(lr=0.05, momentum=0.9))
    while st.step() is not None:
        pass
    layers = len(stepped.layers)
    assert st.cursor == len(st.steps) == 2 * layers + 2
    for i in range(layers):
        assert np.array_equal(st.record(f"F{i}").values["output"], p.outputs[i])
        assert np.array_equal(st.record(f"B{i}").values["grad_output"], p.output_grads[i])
    assert np.array_equal(st.record("B0").values["grad_input"], p.input_grad)
    assert float(st.record("L").values["loss"]) == p.loss
    for key, grad in p.grads.items():
        index, pname = key.split(".")
        assert np.array_equal(st.record(f"B{index}").values[f"grad_{pname}"], grad)
    for i, argmax in p.pool_argmax.items():
        assert np.array_equal(st.record(f"F{i}").values["argmax"], argmax)
    trained = make_net(spec, dtype)
    loss = trained.train_step(x, y, SGD(lr=0.05, momentum=0.9))
    assert loss == p.loss
    assert params_equal(stepped.state_dict(), trained.state_dict())
    assert not params_equal(stepped.state_dict(), reference.state_dict())


def test_step_names_and_record_fields():
    """Steps F0…L…B0 U; records carry name, layer, kind, type and the documented values."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 2))
    n = len(net.layers)
    assert st.steps == [f"F{i}" for i in range(n)] + ["L"] + [
        f"B{i}" for i in reversed(range(n))
    ] + ["U"]
    assert st.cursor == 0 and st.current is None and st.next_step_name == "F0"
    st.run_all()
    f4, loss, b0, u = st.record("F4"), st.record("L"), st.record("B0"), st.record("U")
    assert isinstance(f4, StepRecord)
    assert (f4.name, f4.layer, f4.kind, f4.layer_type) == ("F4", 4, "forward", "maxpool2d")
    assert set(f4.values) == {"input", "output", "argmax"}
    assert (loss.layer, loss.kind, loss.layer_type) == (None, "loss", "cross_entropy")
    assert {"loss", "grad_logits", "probabilities", "logits"} <= set(loss.values)
    assert loss.values["loss"].shape == ()
    assert set(b0.values) == {"grad_output", "grad_input", "grad_weight", "grad_bias"}
    assert (u.layer, u.kind) == (None, "update")
    assert {"0.weight_before", "0.weight_after", "0.weight_grad", "8.bias_after"} <= set(u.values)
    assert st.next_step_name is None and st.step() is None and st.cursor == len(st.steps)


def test_default_optimizer_is_sgd_lr_001():
    """optimizer=None means SGD(lr=0.01)."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 1))
    assert st.optimizer.name == "SGD" and st.optimizer.lr == 0.01


def test_single_example_input_and_int_label():
    """x (C,H,W) and an int label make a batch of one."""
    net = make_net(MIXED)
    x, _ = batch(net, 1)
    st = Stepper(net, x[0], 2)
    assert st.x.shape == (1, 2, 9, 9) and st.y.tolist() == [2]


def test_records_are_copies_not_views():
    """Later steps and passes never change an earlier record's arrays."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 2), SGD(lr=0.5))
    st.run_all()
    kept = {r.name: {k: v.copy() for k, v in r.values.items()} for r in st.records}
    records = list(st.records)
    st.new_pass()
    st.run_all()
    net.forward(np.ones((4, 2, 9, 9)))
    for rec in records:
        for key, value in rec.values.items():
            assert np.array_equal(value, kept[rec.name][key]), (rec.name, key)
    for layer in net.layers:
        recorded = st.record(f"F{layer.index}").values.values()
        for value in layer.saved.values():
            assert not any(np.shares_memory(value, v) for v in recorded)


def test_reset_and_back_restore_everything_bit_for_bit():
    """Adam: to the end and back to the start restores params and optimizer state exactly."""
    net = make_net(MIXED)
    opt = Adam(lr=0.01)
    x, y = batch(net, 3)
    st = Stepper(net, x, y, opt)
    start = (net.state_dict(), opt.state_dict())
    st.run_all()
    first = {r.name: r.values for r in st.records}
    st.reset()
    assert st.cursor == 0
    assert params_equal(net.state_dict(), start[0]) and opt_state_equal(opt.state_dict(), start[1])
    st.run_all()
    for rec in st.records:
        for key, value in rec.values.items():
            assert np.array_equal(value, first[rec.name][key])
    # a second pass after new_pass: its U is undone by back() to the pass start
    st.new_pass(*batch(net, 3, seed=1))
    mid = (net.state_dict(), opt.state_dict())
    assert opt_state_equal(mid[1], opt.state_dict()) and mid[1]["state"]["0.weight"]["step"] == 1
    st.run_all()
    assert opt.state_dict()["state"]["0.weight"]["step"] == 2
    while st.back() is not None:
        pass
    assert st.cursor == 0
    assert params_equal(net.state_dict(), mid[0]) and opt_state_equal(opt.state_dict(), mid[1])
    assert st.back() is None


def test_back_returns_the_new_current_record():
    """back() undoes one step and returns the record now current."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 1))
    st.run_to("L")
    assert st.back().name == "F8" and st.cursor == len(net.layers)
    assert st.record("L") is None and st.next_step_name == "L"


def test_weights_change_only_at_u_and_back_over_u_restores_them():
    """Params equal the initial ones until U; back() over U restores them."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 2), SGD(lr=0.1))
    initial = net.state_dict()
    st.run_to("B0")
    assert params_equal(net.state_dict(), initial)
    after = st.step()
    assert after.name == "U" and not params_equal(net.state_dict(), initial)
    assert np.array_equal(after.values["0.weight_before"], initial["0.weight"])
    assert np.array_equal(after.values["0.weight_after"], net.params()["0.weight"])
    assert params_equal(st.pass_params(), initial)
    st.back()
    assert params_equal(net.state_dict(), initial)


def test_pass_optimizer_state_is_the_state_before_u():
    """pass_optimizer_state(): what the optimizer held when this pass started."""
    net = make_net(MIXED)
    opt = Adam(lr=0.01)
    st = Stepper(net, *batch(net, 1), opt)
    st.run_all()
    assert st.pass_optimizer_state()["state"] == {}
    st.new_pass()
    assert opt_state_equal(st.pass_optimizer_state(), opt.state_dict())
    before = opt.state_dict()
    st.run_all()
    assert opt_state_equal(st.pass_optimizer_state(), before)
    assert not opt_state_equal(opt.state_dict(), before)


def test_run_to_stops_at_breakpoints_and_resume():
    """run_to stops right after a breakpoint step ran; later calls continue."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 1))
    st.breakpoints = {"F3", "B5"}
    assert st.run_to("U").name == "F3"
    assert st.resume().name == "B5"
    assert st.resume().name == "U" and st.cursor == len(st.steps)
    st.reset()
    assert st.run_to("F2").name == "F2"
    assert st.run_to("F1").name == "F2"  # already ran: nothing changes


def test_run_all_ignores_breakpoints_and_seek_moves_both_ways():
    """run_all goes to the end; seek makes any step current, forward or back."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 1))
    st.breakpoints = {"F1"}
    assert st.run_all().name == "U"
    assert st.seek("F5").name == "F5" and st.cursor == 6
    assert st.seek("B3").name == "B3"
    with pytest.raises(ValueError, match="unknown step 'B99'"):
        st.run_to("B99")
    with pytest.raises(ValueError, match="unknown step"):
        st.record("X")


def test_backward_recovers_when_something_else_ran_forward():
    """A forward on another input between F and B (a prediction panel) changes nothing."""
    spec = get_preset("square")
    a, b = make_net(spec), make_net(spec)
    x, y = batch(a, 2)
    p = a.run_pass(x, y)
    st = Stepper(b, x, y)
    st.run_to("L")
    b.forward(np.random.default_rng(5).random((3, 1, 8, 8)))
    st.run_to("B0")
    assert np.array_equal(st.record("B0").values["grad_input"], p.input_grad)
    assert np.array_equal(st.record("B0").values["grad_weight"], p.grads["0.weight"])


def test_listeners_hear_every_change():
    """step/back/reset/new_pass events; run_to sends one "step"; removed listeners hear nothing."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 1))
    events: list[str] = []
    st.add_listener(events.append)
    st.step()
    st.back()
    st.back()  # nothing to undo: no event
    st.run_to("F3")
    st.reset()
    st.new_pass()
    assert events == ["step", "back", "step", "reset", "new_pass"]
    st.remove_listener(events.append)
    st.step()
    assert len(events) == 5


def test_new_pass_uses_new_input_and_current_weights():
    """new_pass(x, y) starts at cursor 0 on the new batch, with the updated weights."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 2), SGD(lr=0.1))
    st.run_all()
    x2, y2 = batch(net, 3, seed=9)
    st.new_pass(x2, y2)
    assert st.cursor == 0 and st.x.shape[0] == 3 and st.y.tolist() == list(y2)
    st.run_to("L")
    assert float(st.record("L").values["loss"]) == net.run_pass(x2, y2).loss


def test_summary_mentions_shapes_stats_and_loss():
    """summary(): step name, layer type, shapes, min/max/mean, gradient norms, the loss."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 2))
    st.run_to("B8")
    text = st.record("F0").summary()
    assert "F0" in text and "conv2d" in text and "2×3×5×5" in text and "min" in text
    assert f"loss={float(st.record('L').values['loss']):.6g}" in st.record("L").summary()
    assert "|·|" in st.record("B8").summary()


def test_bad_input_is_a_clear_value_error():
    """Wrong input shape or labels raise ValueError naming what was wrong."""
    net = make_net(MIXED)
    with pytest.raises(ValueError, match="input has shape"):
        Stepper(net, np.zeros((1, 3, 9, 9)), [0])
    with pytest.raises(ValueError, match="labels"):
        Stepper(net, np.zeros((2, 2, 9, 9)), [0, 7])


# -- Selection ------------------------------------------------------------------------------


def test_selection_setters_validate_and_notify():
    """Setting layer/unit/example calls listeners with the field name; bad values raise."""
    sel = Selection(shapes=[(6, 28, 28), (6, 28, 28), (10,)], batch_size=3)
    events: list[str] = []
    sel.add_listener(events.append)
    sel.layer = 0
    sel.unit = (2, 5, 7)
    sel.example = 2
    assert (sel.layer, sel.unit, sel.example) == (0, (2, 5, 7), 2)
    assert events == ["layer", "unit", "example"]
    sel.layer = 2  # the unit no longer fits: it is cleared
    assert sel.unit is None and events[-2:] == ["layer", "unit"]
    for bad in [lambda: setattr(sel, "layer", 3), lambda: setattr(sel, "unit", (10,)),
                lambda: setattr(sel, "example", 3), lambda: setattr(sel, "layer", -1),
                lambda: setattr(sel, "unit", "ab")]:
        with pytest.raises(ValueError):
            bad()
    sel.layer = 2
    assert events[-1] == "unit"  # setting the same layer again is no change


def test_selection_round_trips_through_dict():
    """to_dict/from_dict keep layer, unit and example; select() sets both at once."""
    sel = Selection(shapes=[(6, 28, 28), (10,)], batch_size=2)
    sel.select(0, (1, 2, 3))
    sel.example = 1
    d = sel.to_dict()
    assert d == {"layer": 0, "unit": [1, 2, 3], "example": 1}
    again = Selection.from_dict(d, shapes=[(6, 28, 28), (10,)], batch_size=2)
    assert (again.layer, again.unit, again.example) == (0, (1, 2, 3), 1)
    with pytest.raises(ValueError, match="select a layer"):
        Selection().unit = (1,)
    again.clear()
    assert again.layer is None and again.unit is None


def test_an_inner_layer_of_a_block_can_be_selected_with_its_own_shape():
    """inner = "body.0" selects a block's inner layer; its unit is checked against that
    layer's output; selecting the top-level layer goes back up (one "layer" event)."""
    spec = parse_spec(get_preset("mini-resnet"))
    sel = Selection.for_spec(spec, batch_size=1)
    events: list[str] = []
    sel.add_listener(events.append)
    sel.select(6, (31, 6, 6), inner="body.0")  # block 6's strided conv: 32×7×7
    assert (sel.layer, sel.inner, sel.unit) == (6, "body.0", (31, 6, 6))
    assert events == ["layer", "unit"]
    with pytest.raises(ValueError, match="not inside layer 6.body.0"):
        sel.select(6, (0, 7, 0), inner="body.0")
    assert (sel.layer, sel.inner, sel.unit) == (6, "body.0", (31, 6, 6))  # unchanged
    for bad in ("body.9", "shortcut.2", "bodies.0"):
        with pytest.raises(ValueError):
            sel.select_layer(6, bad)
    with pytest.raises(ValueError, match="no inner layer shortcut.0"):
        sel.select_layer(4, "shortcut.0")  # block 4's shortcut is the identity
    sel.select_layer(6, "shortcut.0")  # 32×7×7 as well: the unit still fits
    assert sel.unit == (31, 6, 6) and events[-1] == "layer"
    sel.layer = 6  # the block itself (its ⊕ output, 32×7×7)
    assert sel.inner is None and sel.unit == (31, 6, 6) and events[-1] == "layer"
    d = Selection.for_spec(spec).to_dict()
    assert "inner" not in d  # a top-level selection's dict is unchanged


def test_an_inner_selection_round_trips_through_dict_and_a_session(tmp_path):
    net = Network.from_spec(get_preset("mini-resnet"))
    sel = Selection.for_spec(net.spec)
    sel.select(4, (2, 3, 4), inner="body.3")
    d = sel.to_dict()
    assert d == {"layer": 4, "unit": [2, 3, 4], "example": 0, "inner": "body.3"}
    shapes, inner_shapes = selection_shapes(net.spec)
    again = Selection.from_dict(d, shapes, 1, inner_shapes)
    assert (again.layer, again.inner, again.unit) == (4, "body.3", (2, 3, 4))
    save_session(tmp_path / "s.cnnviz", Session.capture(net, selection=sel))
    restored = load_session(tmp_path / "s.cnnviz").restore().selection
    assert (restored.layer, restored.inner, restored.unit) == (4, "body.3", (2, 3, 4))


class _FailingSGD(SGD):
    """SGD that updates the first parameter, then fails (a bad gradient, say)."""

    def step(self, params, grads):
        first = next(iter(params))
        super().step({first: params[first]}, {first: grads[first]})
        raise FloatingPointError("boom")


def test_failed_update_leaves_weights_and_cursor_unchanged():
    """If the optimizer raises half-way, U is not recorded and the weights are as before."""
    net = make_net(MIXED)
    st = Stepper(net, *batch(net, 1), _FailingSGD(lr=0.1))
    events: list[str] = []
    st.add_listener(events.append)
    st.run_to("B0")
    initial = net.state_dict()
    with pytest.raises(FloatingPointError):
        st.run_all()
    assert st.cursor == len(st.steps) - 1 and st.record("U") is None
    assert params_equal(net.state_dict(), initial)
    assert events == ["step"]
