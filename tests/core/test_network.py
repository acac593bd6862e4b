"""Network: the public interface of DESIGN.md, initialisation, state dicts, train steps."""

import hashlib
import json

import numpy as np
import pytest

from cnnviz.core import Network, SpecError, transfer_matching_weights
from cnnviz.core.optim import SGD, Adam
from cnnviz.core.presets import get_preset

SMALL = {
    "input": [2, 9, 8],
    "layers": [
        {
            "type": "conv2d",
            "out_channels": 3,
            "kernel_size": [3, 2],
            "stride": [2, 1],
            "padding": 1,
        },
        {"type": "leaky_relu", "negative_slope": 0.1},
        {"type": "maxpool2d", "kernel_size": 2, "stride": 1, "padding": 1},
        {"type": "avgpool2d", "kernel_size": [2, 3], "stride": 2},
        {"type": "tanh"},
        {"type": "flatten"},
        {"type": "dense", "units": 5},
        {"type": "sigmoid"},
        {"type": "dense", "units": 3},
    ],
    "loss": "cross_entropy",
}


def batch(net, n=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, *net.spec.input_shape)), rng.integers(0, net.spec.num_classes, n)


def test_from_spec_accepts_dict_json_string_and_path(tmp_path):
    path = tmp_path / "small.json"
    path.write_text(json.dumps(SMALL))
    nets = [Network.from_spec(s, seed=3) for s in (SMALL, json.dumps(SMALL), path, str(path))]
    for net in nets[1:]:
        for name, array in net.state_dict().items():
            np.testing.assert_array_equal(array, nets[0].state_dict()[name])


def test_bad_spec_raises_spec_error():
    with pytest.raises(SpecError):
        Network.from_spec({"input": [1, 4, 4], "layers": []})


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_run_pass_records_every_tensor_with_the_right_shapes(dtype):
    net = Network.from_spec(get_preset("lenet5"), seed=0, dtype=dtype)
    x, y = batch(net, n=2)
    p = net.run_pass(x, y)
    assert isinstance(p.loss, float) and np.isfinite(p.loss)
    assert len(p.outputs) == len(p.output_grads) == len(net.layers) == 12
    for layer, out, grad in zip(net.layers, p.outputs, p.output_grads, strict=True):
        assert out.shape == (2, *layer.out_shape) and out.dtype == np.dtype(dtype)
        assert grad.shape == out.shape
    assert p.outputs[-1].shape == (2, 10)
    assert p.input_grad.shape == (2, 1, 28, 28)
    assert set(p.grads) == set(net.state_dict())
    assert sorted(p.pool_argmax) == [2, 5]
    assert p.pool_argmax[2].shape == (2, 6, 14, 14) and p.pool_argmax[2].dtype == np.int64
    np.testing.assert_array_equal(net.forward(x), p.outputs[-1])


def test_pool_argmax_points_at_the_winning_input_cell():
    net = Network.from_spec(get_preset("lenet5"), seed=1, dtype="float64")
    x, y = batch(net, n=2)
    p = net.run_pass(x, y)
    pool_in = p.outputs[1].reshape(2, 6, -1)
    winners = np.take_along_axis(pool_in, p.pool_argmax[2].reshape(2, 6, -1), axis=2)
    np.testing.assert_array_equal(winners.reshape(p.outputs[2].shape), p.outputs[2])


def test_parameter_names_and_shapes_follow_pytorch_sequential():
    net = Network.from_spec(get_preset("lenet5"))
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    assert shapes == {
        "0.weight": (6, 1, 5, 5), "0.bias": (6,),
        "3.weight": (16, 6, 5, 5), "3.bias": (16,),
        "7.weight": (120, 400), "7.bias": (120,),
        "9.weight": (84, 120), "9.bias": (84,),
        "11.weight": (10, 84), "11.bias": (10,),
    }  # fmt: skip


def test_same_seed_same_weights_on_every_machine():
    """A checksum of the seed-0 LeNet-5 weights: PCG64 streams are platform-independent."""
    net = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float64")
    digest = hashlib.sha256()
    for name, array in sorted(net.state_dict().items()):
        digest.update(name.encode() + array.tobytes())
    again = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float64")
    assert all(np.array_equal(a, again.state_dict()[k]) for k, a in net.state_dict().items())
    assert digest.hexdigest()[:16] == LENET5_SEED0_DIGEST
    other = Network.from_spec(get_preset("lenet5"), seed=1, dtype="float64")
    assert not np.array_equal(other.state_dict()["0.weight"], net.state_dict()["0.weight"])


LENET5_SEED0_DIGEST = "3b242163c27ce46b"  # measured once; must never change


def test_initialisation_is_he_before_relu_and_glorot_otherwise():
    net = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float64")
    w7 = net.state_dict()["7.weight"]  # dense 400→120, followed by relu: He, std √(2/400)
    assert w7.std() == pytest.approx(np.sqrt(2 / 400), rel=0.05)
    w11 = net.state_dict()["11.weight"]  # dense 84→10, last layer: Glorot uniform
    limit = np.sqrt(6 / (84 + 10))
    assert np.abs(w11).max() <= limit and w11.std() == pytest.approx(limit / np.sqrt(3), rel=0.1)
    assert all(np.all(net.state_dict()[f"{i}.bias"] == 0) for i in (0, 3, 7, 9, 11))


def test_state_dict_returns_copies_and_load_checks_shapes():
    net = Network.from_spec(SMALL, seed=0)
    state = net.state_dict()
    state["0.weight"][...] = 7
    assert not np.any(net.state_dict()["0.weight"] == 7)
    net.load_state_dict(state)
    assert np.all(net.state_dict()["0.weight"] == 7)
    bad = dict(state, **{"0.weight": np.zeros((1, 2, 3))})
    with pytest.raises(ValueError, match="0.weight"):
        net.load_state_dict(bad)
    with pytest.raises(ValueError, match="missing"):
        net.load_state_dict({k: v for k, v in state.items() if k != "6.bias"})


@pytest.mark.parametrize("make_opt", [lambda: SGD(lr=0.1), lambda: Adam(lr=0.01)])
def test_train_step_is_run_pass_plus_optimizer_step(make_opt):
    a = Network.from_spec(SMALL, seed=2, dtype="float64")
    b = Network.from_spec(SMALL, seed=2, dtype="float64")
    x, y = batch(a)
    opt_a, opt_b = make_opt(), make_opt()
    for _ in range(2):
        loss = a.train_step(x, y, opt_a)
        p = b.run_pass(x, y)
        opt_b.step(b.params(), p.grads)
        assert loss == p.loss
    for name, array in a.state_dict().items():
        np.testing.assert_array_equal(array, b.state_dict()[name])


def test_training_lowers_the_loss():
    net = Network.from_spec(SMALL, seed=0, dtype="float32")
    x, y = batch(net, n=8)
    opt = Adam(lr=0.01)
    first = net.train_step(x, y, opt)
    for _ in range(60):
        last = net.train_step(x, y, opt)
    assert last < 0.5 * first


def test_prepare_input_accepts_one_image_and_rejects_wrong_shapes():
    net = Network.from_spec(SMALL)
    assert net.prepare_input(np.zeros((2, 9, 8))).shape == (1, 2, 9, 8)
    with pytest.raises(ValueError, match="takes"):
        net.prepare_input(np.zeros((1, 2, 8, 9)))
    with pytest.raises(ValueError, match="labels"):
        net.run_pass(np.zeros((2, 2, 9, 8)), [0, 5])


def test_transfer_keeps_weights_of_unchanged_layers():
    old = Network.from_spec(get_preset("lenet5"), seed=0)
    spec = get_preset("lenet5")
    spec["layers"][7]["units"] = 100  # dense 120 → 100 changes layers 7 and 9
    new = Network.from_spec(spec, seed=5)
    kept = transfer_matching_weights(old, new)
    assert kept == [0, 3, 11]
    np.testing.assert_array_equal(new.state_dict()["3.weight"], old.state_dict()["3.weight"])
    assert new.state_dict()["9.weight"].shape == (84, 100)


def test_matches_pytorch_gradients():
    """Every tensor and gradient of a pass equals PyTorch's for the same weights (float64);
    with residual blocks and batch norm too (the model `cnnviz bench` times)."""
    torch = pytest.importorskip("torch")
    from cnnviz.benchmark import _torch_model

    for spec in (get_preset("lenet5"), SMALL, get_preset("mini-resnet"),
                 get_preset("deep-sigmoid-skip")):
        net = Network.from_spec(spec, seed=4, dtype="float64")
        x, y = batch(net, n=3)
        model = _torch_model(net, torch).double()  # before the pass moves running statistics
        p = net.run_pass(x, y)
        tx = torch.from_numpy(x).requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(tx), torch.from_numpy(y))
        loss.backward()
        assert p.loss == pytest.approx(loss.item(), rel=1e-12)
        for name, param in model.named_parameters():
            np.testing.assert_allclose(p.grads[name], param.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(p.input_grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
        buffers = dict(model.named_buffers())
        for name, value in net.buffers().items():  # one training-mode pass moved them alike
            np.testing.assert_allclose(value, buffers[name].numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_a_bad_seed_is_refused_with_a_clear_message(seed):
    with pytest.raises(ValueError, match="seed must be a whole number"):
        Network.from_spec(SMALL, seed=seed)
