"""The trainer's step with shares in worker processes (cnnviz.core.share_processes).

A share run by a worker process must give the same bits as the same share run on a
thread; a worker that dies or fails costs nothing but speed (the caller runs its share);
a worker follows the network it is given (a new network, eval mode, a larger share).
"""

# ruff: noqa: F811 - the `workers` fixture comes from share_workers

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from share_workers import workers  # noqa: F401 — the fixture

from cnnviz.core import Network
from cnnviz.core import parallel_step as PS
from cnnviz.core import share_processes as SP
from cnnviz.core.kernels import _jit
from cnnviz.core.optim import SGD, Adam
from cnnviz.core.presets import get_preset
from cnnviz.core.share_segment import Segment


def _batch(net: Network, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, *net.spec.input_shape)).astype(net.dtype)
    return x, rng.integers(0, net.spec.num_classes, size=n)


def _train(net: Network, opt, steps: int = 3, n: int = 9) -> list[float]:
    return [PS.train_step(net, *_batch(net, n, seed), opt) for seed in range(steps)]


def _same_bits(a: Network, b: Network) -> None:
    for name, array in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[name], array, err_msg=name)
    np.testing.assert_array_equal(a.layers[-1].saved["output"], b.layers[-1].saved["output"])


@pytest.mark.parametrize("preset", ["lenet5", "deep-sigmoid-skip"])
def test_a_worker_process_gives_the_same_bits_as_a_thread(workers, monkeypatch, preset):
    in_process = Network.from_spec(get_preset(preset), seed=1, dtype="float64")
    assert PS.prepare(in_process, 9, timeout=120)
    losses = _train(in_process, Adam(lr=1e-3))
    assert SP._WORKERS[0].steps == 3
    monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", "0")
    on_threads = Network.from_spec(get_preset(preset), seed=1, dtype="float64")
    assert _train(on_threads, Adam(lr=1e-3)) == losses
    _same_bits(in_process, on_threads)


def test_a_worker_process_step_equals_the_whole_batch_step(workers):
    split = Network.from_spec(get_preset("lenet5"), seed=2, dtype="float64")
    assert PS.prepare(split, 9, timeout=120)
    whole = Network.from_spec(get_preset("lenet5"), seed=2, dtype="float64")
    for seed in range(2):
        x, y = _batch(split, 9, seed)
        loss = PS.train_step(split, x, y, SGD(lr=0.1, momentum=0.9))
        assert loss == pytest.approx(whole.train_step(x, y, SGD(lr=0.1, momentum=0.9)),
                                     rel=1e-12)
    for name, array in whole.state_dict().items():
        np.testing.assert_allclose(split.state_dict()[name], array, rtol=1e-11, atol=1e-13)
    assert SP._WORKERS[0].steps == 2


def test_a_worker_that_dies_costs_nothing_but_speed_and_is_replaced(workers, monkeypatch):
    net = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float64")
    assert PS.prepare(net, 9, timeout=120)
    dead = SP._WORKERS[0]
    dead.process.kill()
    dead.process.join()
    losses = _train(net, SGD(lr=0.05))
    assert dead.state == "broken" and "ended" in dead.error
    assert SP.usable() and PS.prepare(net, 9, timeout=120)  # a new worker holds it
    assert SP._WORKERS[0] is not dead
    monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", "0")
    reference = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float64")
    assert _train(reference, SGD(lr=0.05)) == losses
    _same_bits(net, reference)


def test_after_three_failures_steps_stay_on_threads(workers):
    net = Network.from_spec(get_preset("lenet5"), seed=0)
    for _ in range(SP.MAX_FAILURES):
        assert PS.prepare(net, 9, timeout=120)
        SP._WORKERS[0].fail("broken on purpose")
    assert not PS.prepare(net, 9, timeout=1) and not SP.usable()
    assert SP.describe() == "threads (worker processes unavailable: broken on purpose)"


def test_a_share_the_worker_cannot_run_is_run_by_the_caller(workers):
    net = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float64")
    assert PS.prepare(net, 9, timeout=120)
    worker = SP._WORKERS[0]
    x, y = _batch(net, 4)
    worker.begin(net, x, y, "not a weight", 1)  # the worker's step raises
    assert worker.end(net, 4) is None
    assert worker.state == "broken" and worker.error.startswith("ValueError")
    assert not worker.process.is_alive()


def test_a_worker_follows_a_new_network_eval_mode_and_a_larger_share(workers):
    first = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float64")
    assert PS.prepare(first, 9, timeout=120)
    segment = SP._WORKERS[0].segment
    second = Network.from_spec(get_preset("mlp"), seed=0, dtype="float32")
    assert not PS.prepare(second, 9, timeout=0)  # loading it starts now
    assert PS.prepare(second, 9, timeout=120)
    assert SP._WORKERS[0].segment is not segment
    assert not PS.prepare(second.eval(), 9, timeout=0)  # the layers' modes changed
    assert PS.prepare(second, 9, timeout=120)
    assert not PS.prepare(second, 40, timeout=0)  # shares of 20 do not fit 4
    assert PS.prepare(second, 40, timeout=120)
    assert SP._WORKERS[0].segment.arrays["x"].shape[0] == 20


def test_no_workers_when_turned_off_or_for_one_share(workers, monkeypatch):
    net = Network.from_spec(get_preset("lenet5"), seed=0)
    assert not PS.prepare(net, 1, timeout=1)  # one share
    monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", "0")
    assert not PS.prepare(net, 64, timeout=1)
    assert SP._WORKERS == []


def test_shutdown_stops_the_workers_and_removes_their_memory(workers):
    net = Network.from_spec(get_preset("lenet5"), seed=0)
    assert PS.prepare(net, 9, timeout=120)
    process, name = SP._WORKERS[0].process, SP._WORKERS[0].segment.name
    SP.shutdown()
    assert not process.is_alive()
    with pytest.raises(FileNotFoundError):
        Segment.attach(name, [("x", (1,), "float64")])


def test_a_segment_is_the_same_arrays_in_both_places():
    fields = [("a", (3, 5), "float32"), ("b", (7,), "int64"), ("c", (1,), "float64")]
    mine = Segment.create(fields)
    theirs = Segment.attach(mine.name, fields)
    try:
        mine.arrays["a"][...] = np.arange(15).reshape(3, 5)
        mine.arrays["b"][...] = -np.arange(7)
        np.testing.assert_array_equal(theirs.arrays["a"], np.arange(15).reshape(3, 5))
        np.testing.assert_array_equal(theirs.arrays["b"], -np.arange(7))
        assert all(a.ctypes.data % 64 == 0 for a in mine.arrays.values())
    finally:
        theirs.close()
        mine.close()


SPIN_CPU = ("import sys, time\nwhile time.process_time() < 0.3: pass\n"
            "print('spun', flush=True)\nsys.stdin.read()")


def test_cores_busy_counts_the_workers_cpu_as_our_own():
    """A helper that has used 0.3 CPU seconds (however long that took on a busy
    machine) adds them to this process's own once counted."""
    spinner = subprocess.Popen([sys.executable, "-c", SPIN_CPU], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert spinner.stdout.readline() == "spun\n"
        alone = _jit._own_cpu_seconds()
        _jit.count_as_own(spinner.pid)
        assert _jit._own_cpu_seconds() - alone > 0.25
    finally:
        _jit.count_as_own(spinner.pid, False)
        spinner.communicate()


def test_the_trainer_runs_its_shares_in_the_worker_with_the_same_curve(workers, monkeypatch):
    from cnnviz.data.shapes import make_shapes
    from cnnviz.engine.trainer import TrainConfig, Trainer

    data = make_shapes(n=96, size=28, classes=("square", "other"), seed=0)
    config = TrainConfig(epochs=2, batch_size=16, lr=3e-3, schedule="constant",
                         callback_interval=0.0)
    runs = []
    for mode in ("1", "0"):
        monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", mode)
        net = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float32")
        assert PS.prepare(net, 16, timeout=120) is (mode == "1")
        history = Trainer(net, data, config).run().history.to_dict()
        del history["epochs"]["seconds"]
        runs.append((history, net.state_dict()))
    batches = 2 * -(-len(data.train_indices) // 16)
    assert SP._WORKERS[0].steps == batches
    assert runs[0][0] == runs[1][0]
    for name, array in runs[0][1].items():
        np.testing.assert_array_equal(runs[1][1][name], array, err_msg=name)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batch_norm_shares_in_a_worker_give_the_same_bits_as_on_threads(workers, monkeypatch,
                                                                         dtype):
    nets = []
    for mode in ("1", "0"):
        monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", mode)
        net = Network.from_spec(get_preset("mini-resnet"), seed=0, dtype=dtype)
        assert PS.prepare(net, 6, timeout=120) is (mode == "1")
        nets.append((net, _train(net, Adam(lr=1e-3), steps=2, n=6)))
    assert SP._WORKERS[0].steps == 2
    assert nets[0][1] == nets[1][1]
    _same_bits(nets[0][0], nets[1][0])  # the running statistics included


def test_a_worker_failing_mid_step_of_a_batch_norm_net_leaves_the_step_to_threads(
        workers, monkeypatch):
    net = Network.from_spec(get_preset("mini-resnet"), seed=0, dtype="float64")
    assert PS.prepare(net, 6, timeout=120)
    worker, begin = SP._WORKERS[0], SP.ShareWorker.begin

    def bad_weight(self, net, x, y, weight, index):  # fails after the forward exchanges
        begin(self, net, x, y, "not a weight", index)

    monkeypatch.setattr(SP.ShareWorker, "begin", bad_weight)
    losses = _train(net, SGD(lr=0.05), steps=1, n=6)
    assert worker.state == "broken" and "ValueError" in worker.error
    monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", "0")
    reference = Network.from_spec(get_preset("mini-resnet"), seed=0, dtype="float64")
    assert _train(reference, SGD(lr=0.05), steps=1, n=6) == losses
    _same_bits(net, reference)  # the running statistics moved once


class _LockThenStep:
    """share_processes._LOCK, but the first release lets another thread run `step` (and
    waits for it): another step taking the workers the moment a step gives them back."""

    def __init__(self, step) -> None:
        self.lock, self.step, self.stepped = threading.Lock(), step, False

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self.lock.acquire(blocking, timeout)

    def release(self) -> None:
        self.lock.release()
        if not self.stepped:
            self.stepped = True
            other = threading.Thread(target=self.step)
            other.start()
            other.join(120)

    __enter__ = acquire

    def __exit__(self, *exc) -> None:
        self.lock.release()


def test_a_step_takes_in_its_workers_results_before_another_step_may_use_them(
        workers, monkeypatch):
    """Two threads train (the compare tab): the second takes the worker as soon as the
    first lets it go, and overwrites its block with its own step's gradients."""
    net = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float64")
    assert PS.prepare(net, 9, timeout=120)
    other = Network(net.spec, seed=7, dtype="float64")  # the same spec: the worker holds it
    monkeypatch.setattr(SP, "_LOCK", _LockThenStep(
        lambda: PS.train_step(other, *_batch(other, 9, seed=5), SGD(lr=0.1))))
    loss = PS.train_step(net, *_batch(net, 9), SGD(lr=0.1))
    assert SP._WORKERS[0].steps == 2  # the other step did run in the worker
    monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", "0")
    reference = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float64")
    assert PS.train_step(reference, *_batch(reference, 9), SGD(lr=0.1)) == loss
    _same_bits(net, reference)


@pytest.mark.parametrize("preset", ["lenet5", "mini-resnet"])
def test_a_worker_that_dies_just_before_its_share_costs_nothing_but_speed(
        workers, monkeypatch, preset):
    """The worker ends after the step found it ready and before it is handed its share
    (the pipe then refuses the message): the caller runs the share, the step goes on."""
    net = Network.from_spec(get_preset(preset), seed=0, dtype="float64")
    assert PS.prepare(net, 6, timeout=120)
    worker, ready_for = SP._WORKERS[0], SP.ShareWorker.ready_for

    def ready_then_dead(self, *args):
        ready = ready_for(self, *args)
        self.process.kill()
        self.process.join()
        return ready

    monkeypatch.setattr(SP.ShareWorker, "ready_for", ready_then_dead)
    losses = _train(net, SGD(lr=0.05), steps=1, n=6)
    assert worker.state == "broken" and "ended" in worker.error
    monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", "0")
    reference = Network.from_spec(get_preset(preset), seed=0, dtype="float64")
    assert _train(reference, SGD(lr=0.05), steps=1, n=6) == losses
    _same_bits(net, reference)


def test_a_silent_worker_is_given_up_after_one_reply_timeout_in_an_exchange(
        workers, monkeypatch):
    """The worker stops answering (here: stopped) in a batch-norm step: the caller waits
    REPLY_TIMEOUT_S for its sums, not that long again for a message, then goes on."""
    net = Network.from_spec(get_preset("mini-resnet"), seed=0, dtype="float64")
    assert PS.prepare(net, 6, timeout=120)
    worker = SP._WORKERS[0]
    monkeypatch.setattr(SP, "REPLY_TIMEOUT_S", 3.0)
    os.kill(worker.process.pid, signal.SIGSTOP)
    started = time.monotonic()
    losses = _train(net, SGD(lr=0.05), steps=1, n=6)
    assert time.monotonic() - started < 6.0  # ~7 s before: the timeout twice, the join
    assert worker.state == "broken" and not worker.process.is_alive()
    monkeypatch.setenv("CNNVIZ_SHARE_PROCESSES", "0")
    reference = Network.from_spec(get_preset("mini-resnet"), seed=0, dtype="float64")
    assert _train(reference, SGD(lr=0.05), steps=1, n=6) == losses


def test_ctrl_c_reaching_a_starting_worker_does_not_end_it(workers):
    """Ctrl+C in a terminal reaches the whole process group, the worker too, even while
    it is still starting; the parent decides what to do with it."""
    import os
    import signal

    net = Network.from_spec(get_preset("lenet5"), seed=0)
    assert not PS.prepare(net, 9, timeout=0)  # spawns the worker
    first = SP._WORKERS[0]
    os.kill(first.process.pid, signal.SIGINT)  # at once: it is still starting
    assert PS.prepare(net, 9, timeout=120)
    assert SP._WORKERS[0] is first and not SP._FAILURES
    os.kill(SP._WORKERS[0].process.pid, signal.SIGINT)  # and once it is serving
    _train(net, SGD(lr=0.05), steps=2)
    assert SP._WORKERS[0].steps == 2 and SP._WORKERS[0].state == "loaded"


def _failing_in_the_caller(monkeypatch) -> None:
    """The caller's own share raises (as a floating-point error the caller asked for)."""
    def fails(*args, **kwargs):
        raise FloatingPointError("overflow in the caller's share")

    monkeypatch.setattr(PS, "run_share", fails)


def test_errors_in_the_callers_own_share_do_not_count_against_the_worker(workers, monkeypatch):
    """More errors than MAX_FAILURES in the caller's share: the worker, not to blame, took
    in its share's end each time and still serves the next step."""
    net = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float64")
    assert PS.prepare(net, 9, timeout=120)
    worker = SP._WORKERS[0]
    with monkeypatch.context() as patched:
        _failing_in_the_caller(patched)
        for _ in range(SP.MAX_FAILURES + 1):
            with pytest.raises(FloatingPointError):
                PS.train_step(net, *_batch(net, 9), SGD(lr=0.1))
    assert not SP._FAILURES and SP.usable()
    assert SP._WORKERS[0] is worker and worker.state == "loaded"
    _train(net, SGD(lr=0.1), steps=1)
    assert worker.steps == SP.MAX_FAILURES + 2  # the dropped shares, then a real one


def test_a_batch_norm_step_failing_in_the_caller_retires_its_worker_without_blame(
        workers, monkeypatch):
    """With batch statistics the worker may be waiting for an exchange: it is retired, a
    new one replaces it, and the failures count stays at zero."""
    net = Network.from_spec(get_preset("mini-resnet"), seed=0, dtype="float64")
    assert PS.prepare(net, 6, timeout=120)
    first = SP._WORKERS[0]
    with monkeypatch.context() as patched:
        _failing_in_the_caller(patched)
        with pytest.raises(FloatingPointError):
            PS.train_step(net, *_batch(net, 6), SGD(lr=0.1))
    assert first.state == "retired" and not first.process.is_alive()
    assert not SP._FAILURES and SP.usable()
    assert PS.prepare(net, 6, timeout=120) and SP._WORKERS[0] is not first
