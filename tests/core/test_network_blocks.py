"""Networks with residual blocks, batch norm and dropout: modes, buffers, names, masks."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core import Network
from cnnviz.core.gradcheck import gradient_check, random_batch
from cnnviz.core.optim import SGD, Adam

BN_DROP = {
    "input": [3, 7, 7],
    "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d"},
        {"type": "residual", "body": [
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "batchnorm2d", "momentum": 0.3}, {"type": "relu"},
            {"type": "dropout", "p": 0.3}]},
        {"type": "residual",
         "body": [{"type": "conv2d", "out_channels": 5, "kernel_size": 3, "stride": 2,
                   "padding": 1}],
         "shortcut": [{"type": "conv2d", "out_channels": 5, "kernel_size": 1, "stride": 2},
                      {"type": "batchnorm2d"}]},
        {"type": "flatten"},
        {"type": "batchnorm1d"},
        {"type": "dropout"},
        {"type": "dense", "units": 3},
    ],
}


def make(seed: int = 0, dtype: str = "float64") -> Network:
    """The BN_DROP network."""
    return Network.from_spec(BN_DROP, seed=seed, dtype=dtype)


def data(n: int = 4, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A seeded batch for BN_DROP."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3, 7, 7)), rng.integers(0, 3, n)


def test_names_split_parameters_from_buffers():
    net = make()
    params, buffers = net.params(), net.buffers()
    assert {"2.body.0.weight", "2.body.1.bias", "3.shortcut.0.weight", "3.shortcut.1.weight",
            "1.weight", "5.bias"} <= set(params)
    assert set(buffers) == {f"{k}.running_{s}" for k in ("1", "2.body.1", "3.shortcut.1", "5")
                            for s in ("mean", "var")}
    assert set(net.state_dict()) == set(params) | set(buffers)
    assert not set(params) & set(buffers)
    p = net.run_pass(*data())
    assert set(p.grads) == set(params)
    assert net.num_params == sum(a.size for a in params.values())


def test_batch_norm_starts_at_identity_and_buffers_at_zero_and_one():
    net = make()
    assert np.all(net.params()["1.weight"] == 1) and np.all(net.params()["1.bias"] == 0)
    assert np.all(net.buffers()["5.running_mean"] == 0)
    assert np.all(net.buffers()["5.running_var"] == 1)


def test_a_new_network_trains_and_modes_switch_every_layer():
    net = make()
    assert net.training
    assert net.eval() is net and not net.training
    block = net.layers[2]
    assert not block.training and not any(layer.training for layer in block.body)
    net.train()
    assert net.training and all(layer.training for layer in block.body)


def test_training_pass_updates_running_statistics_and_eval_uses_them():
    net = make()
    x, y = data()
    net.run_pass(x, y)
    bn = net.layers[1]
    mean, var = bn.saved["mean"], bn.saved["var"]
    m = x.shape[0] * 7 * 7
    np.testing.assert_allclose(net.buffers()["1.running_mean"], 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(net.buffers()["1.running_var"],
                               0.9 + 0.1 * var * m / (m - 1), rtol=1e-12)
    before = net.state_dict()
    net.eval()
    first = net.forward(x)
    np.testing.assert_array_equal(first, net.forward(x))  # no dropout, fixed statistics
    after = net.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_dropout_masks_are_reproducible_per_seed_and_scaled():
    nets = [make(seed=3), make(seed=3), make(seed=4)]
    x, y = data()
    outs = []
    for net in nets:
        net.run_pass(x, y)
        outs.append(net.layers[6].saved["mask"])
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])
    layer = nets[0].layers[6]
    kept = outs[0] == 1
    np.testing.assert_allclose(layer.saved["output"][kept], layer.saved["input"][kept] / 0.5)
    assert np.all(layer.saved["output"][~kept] == 0)
    assert set(np.unique(outs[0])) <= {0.0, 1.0}
    second = nets[0].run_pass(x, y)  # a new pass draws a new mask
    assert not np.array_equal(nets[0].layers[6].saved["mask"], outs[0])
    assert np.isfinite(second.loss)


def test_dropout_keeps_about_one_minus_p():
    spec = {"input": [1, 100, 100], "layers": [{"type": "flatten"}, {"type": "dropout", "p": 0.3},
                                                {"type": "dense", "units": 2}]}
    net = Network.from_spec(spec, seed=0)
    net.forward(np.ones((2, 1, 100, 100)))
    assert net.layers[1].saved["mask"].mean() == pytest.approx(0.7, abs=0.01)
    net.eval()
    x = np.random.default_rng(0).random((2, 1, 100, 100))
    out = net.layers[1].forward(x.reshape(2, -1))
    np.testing.assert_array_equal(out, x.reshape(2, -1))


def test_block_input_gradient_is_the_sum_of_both_branches():
    net = make()
    p = net.run_pass(*data())
    block = net.layers[3]
    grad_out = p.output_grads[3]
    body = block.body[0].backward(grad_out)
    shortcut = block.shortcut[0].backward(block.shortcut[1].backward(grad_out))
    np.testing.assert_allclose(p.output_grads[2], body + shortcut, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(p.outputs[3], block.saved["body_output"]
                               + block.saved["shortcut_output"])


def test_batch_norm_in_training_mode_refuses_one_value_per_channel():
    net = Network.from_spec({"input": [1, 2, 2], "layers": [
        {"type": "flatten"}, {"type": "batchnorm1d"}, {"type": "dense", "units": 2}]})
    with pytest.raises(ValueError, match=r"layer 1 \(batchnorm1d\).*more than 1 value"):
        net.forward(np.ones((1, 1, 2, 2)))
    net.eval()
    assert net.forward(np.ones((1, 1, 2, 2))).shape == (1, 2)


@pytest.mark.parametrize("make_opt", [lambda: SGD(lr=0.1, momentum=0.9), lambda: Adam(lr=1e-2)])
def test_train_step_is_run_pass_plus_an_update_of_parameters_only(make_opt):
    a, b = make(seed=2), make(seed=2)
    x, y = data()
    opt_a, opt_b = make_opt(), make_opt()
    loss = a.train_step(x, y, opt_a)
    p = b.run_pass(x, y)
    opt_b.step(b.params(), p.grads)
    assert loss == pytest.approx(p.loss, rel=1e-12)
    for name, value in a.state_dict().items():
        np.testing.assert_allclose(value, b.state_dict()[name], rtol=1e-12, atol=1e-15)
    assert set(opt_a.state_dict()["state"]) == set(a.params())


def test_state_dict_round_trip_includes_buffers_and_checks_names():
    a = make(seed=1)
    a.run_pass(*data())
    b = make(seed=9)
    b.load_state_dict(a.state_dict())
    for name, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[name], value)
    partial = {k: v for k, v in a.state_dict().items() if "running" not in k}
    with pytest.raises(ValueError, match="missing.*running_mean"):
        b.load_state_dict(partial)


def test_gradient_check_covers_blocks_batch_norm_and_dropout_in_both_modes():
    net = make()
    x, y = random_batch(net, batch=3, seed=0)
    for mode in (True, False):
        net.train(mode)
        checks = gradient_check(net, x, y, max_checks=40)
        assert {c.name for c in checks} >= set(net.params()) | {"input", "loss"}
        for check in checks:
            assert check.max_rel_error < 1e-6, check
        for check in gradient_check(net, x, y, max_checks=15, end_to_end=True):
            assert check.max_rel_error < 1e-5, check
    assert net.training is False  # the check ran on a copy


def test_float32_network_trains():
    net = make(dtype="float32")
    x, y = data(n=8)
    opt = Adam(lr=1e-2)
    losses = [net.train_step(x, y, opt) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    assert net.state_dict()["1.running_mean"].dtype == np.float32
