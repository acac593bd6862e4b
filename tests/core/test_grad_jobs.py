"""One-share steps with the convolutions' weight gradients in the share worker
(cnnviz.core.grad_jobs): the same bits as `Network.train_step`, and a worker that fails
or a pass that raises costs nothing but speed.
"""

# ruff: noqa: F811 - the `workers` fixture comes from share_workers

from __future__ import annotations

import numpy as np
import pytest
from share_workers import workers  # noqa: F401 — the fixture

from cnnviz.core import Network
from cnnviz.core import grad_jobs as GJ
from cnnviz.core import kernels as K
from cnnviz.core import parallel_step as PS
from cnnviz.core import share_processes as SP
from cnnviz.core.kernels import _jit
from cnnviz.core.layers import iter_layers
from cnnviz.core.optim import SGD, Adam
from cnnviz.core.presets import get_preset


def _example(net: Network, seed: int, n: int = 1):
    rng = np.random.default_rng(seed)
    x = rng.random((n, *net.spec.input_shape)).astype(net.dtype)
    return x, rng.integers(0, net.spec.num_classes, size=n)


def _same_state(a: Network, b: Network) -> None:
    for name, array in a.state_dict().items():
        assert b.state_dict()[name].tobytes() == array.tobytes(), name


@pytest.mark.parametrize(("preset", "dtype"), [("mini-resnet", "float32"),
                                               ("mini-resnet", "float64"),
                                               ("lenet5", "float32"),
                                               ("deep-sigmoid-skip", "float64")])
def test_a_one_share_step_with_the_worker_gives_train_steps_bits(workers, preset, dtype):
    net = Network.from_spec(get_preset(preset), seed=3, dtype=dtype)
    reference = Network.from_spec(get_preset(preset), seed=3, dtype=dtype)
    assert PS.prepare(net, 1, timeout=120)
    opt, reference_opt = Adam(lr=1e-3), Adam(lr=1e-3)
    for seed in range(3):
        x, y = _example(net, seed)
        assert PS.train_step(net, x, y, opt) == reference.train_step(x, y, reference_opt)
        for name, grad in reference.grads().items():
            assert net.grads()[name].tobytes() == grad.tobytes(), name
    _same_state(net, reference)
    assert SP._WORKERS[0].grad_steps == 3
    block = list(SP._WORKERS[0].grads.segment.arrays.values())
    for layer in iter_layers(net.layers):  # copies: nothing points into the worker's block
        for grad in layer.grads.values():
            assert not any(np.shares_memory(grad, array) for array in block), layer.key


def test_a_pass_that_raises_leaves_the_worker_ready_for_the_next_step(workers, monkeypatch):
    net = Network.from_spec(get_preset("mini-resnet"), seed=0)
    reference = Network.from_spec(get_preset("mini-resnet"), seed=0)
    assert PS.prepare(net, 1, timeout=120)
    worker = SP._WORKERS[0]
    with monkeypatch.context() as patched:  # the loss fails after the forward pass
        patched.setattr(Network, "compute_loss", lambda *a: (_ for _ in ()).throw(
            FloatingPointError("overflow in the loss")))
        with pytest.raises(FloatingPointError):
            PS.train_step(net, *_example(net, 0), SGD(lr=0.1))
    reference.load_state_dict(net.state_dict())  # the failed pass moved the running stats
    x, y = _example(net, 1)
    assert PS.train_step(net, x, y, SGD(lr=0.1)) == reference.train_step(x, y, SGD(lr=0.1))
    _same_state(net, reference)
    assert SP._WORKERS[0] is worker and worker.grad_steps == 1 and not SP._FAILURES


def test_a_worker_that_dies_mid_step_costs_nothing_but_speed(workers, monkeypatch):
    """The worker ends after the first job is posted: the caller computes the gradients
    itself, the same bits, and the worker is replaced."""
    net = Network.from_spec(get_preset("mini-resnet"), seed=0, dtype="float64")
    reference = Network.from_spec(get_preset("mini-resnet"), seed=0, dtype="float64")
    assert PS.prepare(net, 1, timeout=120)
    worker, post = SP._WORKERS[0], GJ.Jobs.post

    def post_then_die(self, *args):
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        return post(self, *args)

    monkeypatch.setattr(GJ.Jobs, "post", post_then_die)
    x, y = _example(net, 0)
    assert PS.train_step(net, x, y, SGD(lr=0.1)) == reference.train_step(x, y, SGD(lr=0.1))
    _same_state(net, reference)
    assert worker.state == "broken" and len(SP._FAILURES) <= 1
    monkeypatch.setattr(GJ.Jobs, "post", post)
    assert PS.prepare(net, 1, timeout=120) and SP._WORKERS[0] is not worker


def test_no_worker_for_what_has_no_weight_gradient_to_hand_over(workers, monkeypatch):
    mlp = Network.from_spec(get_preset("mlp"), seed=0)  # no convolutions
    assert not GJ.has_jobs(mlp) and not PS.prepare(mlp, 1, timeout=1)
    lenet = Network.from_spec(get_preset("lenet5"), seed=0)
    assert [layer.key for layer in GJ.offloaded(lenet)] == ["3"]  # not the first layer
    monkeypatch.setattr(_jit, "cores_busy", lambda: True)  # the other core is taken
    assert PS.prepare(lenet, 1, timeout=120)
    PS.train_step(lenet, *_example(lenet, 0), SGD(lr=0.1))
    assert SP._WORKERS[0].grad_steps == 0
    monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", "0")
    assert not PS.prepare(lenet, 1, timeout=1)


def test_the_block_follows_a_new_network_and_a_larger_batch(workers):
    first = Network.from_spec(get_preset("lenet5"), seed=0)
    assert PS.prepare(first, 1, timeout=120)
    block = SP._WORKERS[0].grads
    second = Network.from_spec(get_preset("lenet5-dropout"), seed=0)  # steps never split
    assert not PS.prepare(second, 1, timeout=0)  # loading it starts now
    assert PS.prepare(second, 1, timeout=120) and block.key[0] is second.spec
    assert not PS.prepare(second, 5, timeout=0)  # 5 examples do not fit a block for 1
    assert PS.prepare(second, 5, timeout=120)
    assert block.segment.arrays["x0"].shape[0] == 5
    reference = Network.from_spec(get_preset("lenet5-dropout"), seed=0)
    x, y = _example(second, 0, n=5)
    assert PS.train_step(second, x, y, SGD(lr=0.1)) == reference.train_step(x, y, SGD(lr=0.1))
    _same_state(second, reference)
    assert SP._WORKERS[0].grad_steps == 1


@pytest.mark.parametrize("preset", ["mini-resnet", "lenet5", "tinyvgg", "rgb-shapes"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_gradients_without_the_forward_cache_have_the_same_bits(preset, dtype):
    """The worker computes them from the input and δ alone; the caller reuses what its
    forward pass left (padded planes, tap matrices): every path must agree bit for bit."""
    net = Network.from_spec(get_preset(preset), seed=1, dtype=np.dtype(dtype).name)
    rng = np.random.default_rng(2)
    for n in (1, 3):
        x = rng.standard_normal((n, *net.spec.input_shape)).astype(dtype)
        net.run_pass(x, rng.integers(0, net.spec.num_classes, size=n))
        for layer in iter_layers(net.layers):
            if layer.type != "conv2d":
                continue
            delta = rng.standard_normal(layer.saved["output"].shape).astype(dtype)
            args = (layer.saved["input"], delta, layer.params["weight"].shape,
                    layer.config["stride"], layer.config["padding"])
            cached = K.conv2d_backward_params(*args, layer._taps)
            alone = K.conv2d_backward_params(*args)
            for a, b in zip(cached, alone, strict=True):
                assert a.tobytes() == b.tobytes(), (preset, layer.key, n)
