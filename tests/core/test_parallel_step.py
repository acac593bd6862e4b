"""Data-parallel training steps (the trainer's): the same step as one pass over the batch.

A step in shares must give the whole batch's loss, gradients, logits and updated weights
(to rounding: the gradients are summed per share), the same bits whether the pool or the
caller runs the shares, and must not split a step that dropout couples.
`Network.train_step` itself never splits (it is run_pass plus the update, bit for bit).
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core import Network
from cnnviz.core import parallel_step as PS
from cnnviz.core.kernels import _jit
from cnnviz.core.optim import SGD, Adam
from cnnviz.core.presets import get_preset


def _split(monkeypatch, threads: int, busy: bool = False) -> None:
    monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(_jit, "thread_count", lambda: threads)
    monkeypatch.setattr(_jit, "cores_busy", lambda: busy)


def _step(preset: str, threads: int, monkeypatch, busy: bool = False, opt=None, batch=7):
    _split(monkeypatch, threads, busy)
    net = Network.from_spec(get_preset(preset), seed=3, dtype="float64")
    rng = np.random.default_rng(0)
    x = rng.random((batch, *net.spec.input_shape))
    y = rng.integers(0, net.spec.num_classes, size=batch)
    opt = opt or SGD(lr=0.05, momentum=0.9)
    losses = [PS.train_step(net, x, y, opt) for _ in range(2)]
    return net, losses


@pytest.mark.parametrize("preset", ["lenet5", "mlp", "deep-sigmoid-skip", "square"])
def test_a_step_in_shares_equals_the_whole_batch_step(monkeypatch, preset):
    whole, whole_losses = _step(preset, 1, monkeypatch)
    split, split_losses = _step(preset, 3, monkeypatch)
    assert PS.shares(split, 7) == [(0, 2), (2, 5), (5, 7)]
    np.testing.assert_allclose(split_losses, whole_losses, rtol=1e-12)
    for name, array in whole.state_dict().items():
        np.testing.assert_allclose(split.state_dict()[name], array, rtol=1e-11, atol=1e-13)
    for name, grad in whole.grads().items():
        np.testing.assert_allclose(split.grads()[name], grad, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(split.layers[-1].saved["output"],
                               whole.layers[-1].saved["output"], rtol=1e-12)


def test_shares_give_the_same_bits_on_the_pool_and_on_the_caller(monkeypatch):
    pooled, pooled_losses = _step("lenet5", 2, monkeypatch, busy=False, opt=Adam(lr=1e-3))
    serial, serial_losses = _step("lenet5", 2, monkeypatch, busy=True, opt=Adam(lr=1e-3))
    assert pooled_losses == serial_losses
    for name, array in pooled.state_dict().items():
        np.testing.assert_array_equal(serial.state_dict()[name], array)


def test_dropout_in_training_mode_keeps_the_batch_whole(monkeypatch):
    """Batch norm runs in shares that exchange its statistics (test_batchnorm_shares.py)."""
    _split(monkeypatch, 2)
    net = Network.from_spec(get_preset("lenet5-dropout"), seed=0)
    assert PS.shares(net, 64) == [(0, 64)]
    net.eval()
    assert PS.shares(net, 64) == [(0, 32), (32, 64)]


def test_kernels_inside_a_share_take_their_input_whole(monkeypatch):
    """A share already runs on a pool thread; its kernels must not wait on the pool."""
    _split(monkeypatch, 4)
    assert len(_jit.batch_chunks(64, 10**9)) == 4
    with _jit.whole_chunks():
        assert _jit.batch_chunks(64, 10**9) == [(0, 64)]
    assert len(_jit.batch_chunks(64, 10**9)) == 4


def test_a_split_step_leaves_the_logits_for_the_trainers_batch_accuracy(monkeypatch):
    from cnnviz.engine.trainer import _batch_accuracy

    net, _ = _step("lenet5", 2, monkeypatch, batch=9)
    logits = net.layers[-1].saved["output"]
    assert logits.shape == (9, 10)
    assert [layer.saved for layer in net.layers[:-1]] == [{}] * (len(net.layers) - 1)
    y = np.argmax(logits, axis=1)
    assert _batch_accuracy(net, y) == 1.0


def test_a_split_step_clears_the_saved_tensors_inside_blocks_too(monkeypatch):
    from cnnviz.core.layers import iter_layers

    _split(monkeypatch, 2)
    net = Network.from_spec(get_preset("deep-sigmoid-skip"), seed=0, dtype="float64")
    x = np.random.default_rng(0).random((6, *net.spec.input_shape))
    y = np.zeros(6, dtype=np.int64)
    net.run_pass(x, y)  # every layer, inner ones included, now holds tensors
    PS.train_step(net, x, y, SGD(lr=0.1))
    stale = [layer.key for layer in iter_layers(net.layers)[:-1] if layer.saved]
    assert stale == []


def test_network_train_step_never_splits(monkeypatch):
    """DESIGN.md: train_step is run_pass plus the update; the stepper's U equals it."""
    _split(monkeypatch, 3)
    net = Network.from_spec(get_preset("lenet5"), seed=3, dtype="float64")
    calls = []
    monkeypatch.setattr(PS, "_train_step_in_shares", lambda *a: calls.append(a))
    x = np.random.default_rng(0).random((7, 1, 28, 28))
    net.train_step(x, np.zeros(7, dtype=np.int64), SGD(lr=0.1))
    assert calls == []
    PS.train_step(net, x, np.zeros(7, dtype=np.int64), SGD(lr=0.1))
    assert len(calls) == 1
