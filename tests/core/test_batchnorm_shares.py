"""Batch norm in a data-parallel step: shares that exchange their batch statistics.

A trainer's step in shares (`parallel_step.train_step`) of a network with batch norm in
training mode must equal `Network.train_step` over the whole batch to rounding — loss,
gradients, parameters after the update, running statistics — and give the same bits
whether its shares run concurrently on the pool or in turns (a busy machine). The
exchange itself (`batch_sync.ThreadExchange`) adds in share order and never hangs when a
share fails.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cnnviz.core import Network
from cnnviz.core import batch_sync as BS
from cnnviz.core import parallel_step as PS
from cnnviz.core.kernels import _jit
from cnnviz.core.optim import SGD, Adam
from cnnviz.core.presets import get_preset


def _split(monkeypatch, threads: int, busy: bool = False) -> None:
    monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(_jit, "thread_count", lambda: threads)
    monkeypatch.setattr(_jit, "cores_busy", lambda: busy)


def _conv(out: int, k: int = 3, stride: int = 1, padding: int = 1) -> dict:
    return {"type": "conv2d", "out_channels": out, "kernel_size": k, "stride": stride,
            "padding": padding}


def _random_spec(seed: int) -> dict:
    """A small random network with batchnorm2d (also in a block's body and projection
    shortcut) and batchnorm1d, or a dense-only one with batchnorm1d."""
    rng = np.random.default_rng(seed)
    bn2 = lambda: {"type": "batchnorm2d", "momentum": float(rng.choice([0.1, 0.5]))}  # noqa: E731
    act = lambda: {"type": str(rng.choice(["relu", "tanh", "sigmoid"]))}  # noqa: E731
    c, h = int(rng.integers(1, 4)), int(rng.integers(5, 9))
    k, units, classes = (int(v) for v in rng.integers(2, 6, size=3))
    head = [{"type": "flatten"}, {"type": "dense", "units": units},
            {"type": "batchnorm1d", "eps": 1e-3}, act(), {"type": "dense", "units": classes}]
    loss = str(rng.choice(["cross_entropy", "mse"]))
    if rng.random() < 0.25:
        return {"input": [c, h, h], "layers": head, "loss": loss}
    if rng.random() < 0.5:  # identity shortcut
        block = {"type": "residual", "body": [_conv(k), bn2(), act(), _conv(k), bn2()]}
    else:  # downsampling, with a 1×1 projection and batch norm on the shortcut
        block = {"type": "residual", "body": [_conv(k + 1, stride=2), bn2(), act()],
                 "shortcut": [_conv(k + 1, k=1, stride=2, padding=0), bn2()]}
    layers = [_conv(k), bn2(), act(), block, {"type": "relu"}, *head]
    return {"input": [c, h, h], "layers": layers, "loss": loss}


def _batch(net: Network, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, *net.spec.input_shape)) * 2 + 0.5).astype(net.dtype)
    return x, rng.integers(0, net.spec.num_classes, size=n)


def _train(spec: dict, opt_factory, in_shares: bool, n: int = 7, steps: int = 2,
           dtype: str = "float64") -> tuple[Network, list[float]]:
    net = Network.from_spec(spec, seed=3, dtype=dtype)
    x, y = _batch(net, n)
    opt = opt_factory()
    step = PS.train_step if in_shares else (lambda *a: a[0].train_step(*a[1:]))
    return net, [float(step(net, x, y, opt)) for _ in range(steps)]


def _noise_keys(net: Network) -> set[str]:
    """Parameters whose gradient is 0 in exact arithmetic (a bias right before batch norm):
    theirs is rounding noise (~1e-17), which Adam divides by its eps (1e-8). The two
    computations' noise differs, so these parameters, and the running means they shift,
    agree only to ~1e-9 after Adam steps."""
    keys = {name for name, grad in net.grads().items() if np.abs(grad).max() < 1e-12}
    return keys | {name for name in net.buffers() if name.endswith("running_mean")}


def _assert_same_step(split: Network, whole: Network, losses: list, whole_losses: list,
                      noisy: set[str] = frozenset()) -> None:
    """Loss, gradients, logits, parameters and buffers equal to rounding (float64)."""
    np.testing.assert_allclose(losses, whole_losses, rtol=1e-12)
    for what in ("state_dict", "grads"):
        got_all = getattr(split, what)()
        for name, want in getattr(whole, what)().items():
            atol = 1e-8 if name in noisy else 1e-12 * max(1.0, np.abs(want).max())
            np.testing.assert_allclose(got_all[name], want, rtol=1e-11, atol=atol,
                                       err_msg=f"{what} {name}")
    np.testing.assert_allclose(split.layers[-1].saved["output"],
                               whole.layers[-1].saved["output"], rtol=1e-11, atol=1e-12)


SPECS = {"mini-resnet": get_preset("mini-resnet"), "rgb-shapes": get_preset("rgb-shapes")}
SPECS.update({f"random-{seed}": _random_spec(seed) for seed in range(6)})


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_batch_norm_step_in_shares_equals_the_whole_batch_step_sgd(monkeypatch, name, threads):
    _split(monkeypatch, threads)
    spec = SPECS[name]
    whole, whole_losses = _train(spec, lambda: SGD(lr=0.05, momentum=0.9), False, steps=3)
    split, losses = _train(spec, lambda: SGD(lr=0.05, momentum=0.9), True, steps=3)
    assert len(PS.shares(split, 7)) == threads and PS.synced(split)
    _assert_same_step(split, whole, losses, whole_losses)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_batch_norm_step_in_shares_equals_the_whole_batch_step_adam(monkeypatch, name):
    _split(monkeypatch, 3)
    whole, whole_losses = _train(SPECS[name], lambda: Adam(lr=1e-3), False)
    split, losses = _train(SPECS[name], lambda: Adam(lr=1e-3), True)
    _assert_same_step(split, whole, losses, whole_losses, noisy=_noise_keys(whole))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("name", "threads"), [("mini-resnet", 2), ("random-1", 3),
                                               ("random-4", 2), ("rgb-shapes", 3)])
def test_shares_give_the_same_bits_concurrently_and_in_turns(monkeypatch, name, threads, dtype):
    runs = []
    for busy in (False, True):
        _split(monkeypatch, threads, busy)
        runs.append(_train(SPECS[name], lambda: Adam(lr=1e-3), True, n=9, dtype=dtype))
    (pooled, pooled_losses), (turns, turns_losses) = runs
    assert pooled_losses == turns_losses
    for name_, array in pooled.state_dict().items():
        np.testing.assert_array_equal(turns.state_dict()[name_], array, err_msg=name_)


def test_share_zero_alone_moves_the_running_statistics(monkeypatch):
    """The replicas share the buffer arrays: one update, with the whole batch's m."""
    _split(monkeypatch, 3)
    spec = {"input": [1, 1, 4], "layers": [{"type": "flatten"},
                                           {"type": "batchnorm1d", "momentum": 1.0},
                                           {"type": "dense", "units": 2}]}
    net = Network.from_spec(spec, seed=0, dtype="float64")
    x = np.arange(24.0).reshape(6, 4) ** 1.5
    PS.train_step(net, x.reshape(6, 1, 1, 4), np.zeros(6, dtype=np.int64), SGD(lr=0.0))
    np.testing.assert_allclose(net.buffers()["1.running_mean"], x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(net.buffers()["1.running_var"], x.var(axis=0, ddof=1),
                               rtol=1e-13)


def test_dropout_still_keeps_the_batch_whole_and_eval_mode_needs_no_exchange(monkeypatch):
    _split(monkeypatch, 2)
    assert PS.shares(Network.from_spec(get_preset("lenet5-dropout"), seed=0), 64) == [(0, 64)]
    net = Network.from_spec(get_preset("mini-resnet"), seed=0)
    assert PS.shares(net, 64) == [(0, 32), (32, 64)] and PS.synced(net)
    net.eval()
    assert PS.shares(net, 64) == [(0, 32), (32, 64)] and not PS.synced(net)


def test_batch_norm_outside_a_share_never_exchanges(monkeypatch):
    """Network.train_step (the stepper's U) computes its statistics itself, as before."""
    assert BS.current_share() is None
    monkeypatch.setattr(BS, "batch_moments", lambda *a: pytest.fail("exchanged"))
    net = Network.from_spec(get_preset("mini-resnet"), seed=0, dtype="float64")
    net.train_step(*_batch(net, 4), SGD(lr=0.1))


# --- the exchange ----------------------------------------------------------------------


def _run(task, count: int, busy: bool, monkeypatch) -> list:
    _split(monkeypatch, count, busy)
    return BS.run_shares(task, [(k, k + 1) for k in range(count)])


@pytest.mark.timeout(30)
@pytest.mark.parametrize("busy", [False, True])
def test_all_sum_adds_in_share_order_and_gives_every_share_the_total(monkeypatch, busy):
    """1 + 1e16 rounds back to 1e16: (1, 1e16, −1e16) in share order add up to 0, in any
    order that adds 1 last to 1."""
    values = [1.0, 1e16, -1e16]
    assert (values[0] + values[1]) + values[2] == 0.0 != (values[2] + values[1]) + values[0]

    def task(start, stop):
        share = BS.current_share()
        assert share.index == start
        return share.sync.all_sum((np.array([values[start]]), np.array([start, 1])))

    results = _run(task, 3, busy, monkeypatch)
    for total, ones in results:
        assert total[0] == 0.0 and list(ones) == [3, 3]
    assert results[0][0] is not results[1][0]  # each share its own copy


@pytest.mark.timeout(30)
def test_in_turns_the_shares_run_one_at_a_time_in_share_order(monkeypatch):
    events = []

    def task(start, stop):
        events.append(("before", start))
        BS.current_share().sync.all_sum((np.zeros(1),))
        events.append(("after", start))

    _run(task, 3, True, monkeypatch)
    assert events == [("before", 0), ("before", 1), ("before", 2),
                      ("after", 0), ("after", 1), ("after", 2)]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("busy", [False, True])
def test_a_failing_share_stops_the_others_and_its_error_is_raised(monkeypatch, busy):
    def task(start, stop):
        if start == 1:
            raise ArithmeticError("share 1 broke")
        BS.current_share().sync.all_sum((np.zeros(1),))

    with pytest.raises(ArithmeticError, match="share 1 broke"):
        _run(task, 3, busy, monkeypatch)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("busy", [False, True])
def test_a_share_that_skips_an_exchange_breaks_the_step_instead_of_hanging(monkeypatch, busy):
    def task(start, stop):
        for _ in range(1 if start == 2 else 2):
            BS.current_share().sync.all_sum((np.zeros(1),))

    with pytest.raises(BS.ShareAbortedError):
        _run(task, 3, busy, monkeypatch)


@pytest.mark.timeout(30)
def test_shares_find_threads_when_the_pool_is_smaller_than_the_step(monkeypatch):
    """A pool made for 2 threads, then a 5-share step: every share needs its own thread."""
    _split(monkeypatch, 2)
    _jit.run_chunks(lambda a, b: None, [(0, 1), (1, 2)])  # the pool exists
    monkeypatch.setattr(_jit, "thread_count", lambda: 5)
    threads = BS.run_shares(lambda a, b: (BS.current_share().sync.all_sum((np.ones(1),)),
                                          threading.get_ident())[1],
                            [(k, k + 1) for k in range(5)])
    assert len(set(threads)) == 5
