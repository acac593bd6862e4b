"""The trainer under control: the schedule's rate is the one used, pause/resume is invisible."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cnnviz.core.network import Network
from cnnviz.core.optim import SGD
from cnnviz.data.shapes import make_shapes
from cnnviz.engine.trainer import TrainConfig, Trainer

TINY = {
    "input": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "tanh"},
        {"type": "flatten"},
        {"type": "dense", "units": 2},
    ],
    "loss": "cross_entropy",
}


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(n=160, size=8, classes=("square", "other"), seed=1)


def config(**kw) -> TrainConfig:
    base = dict(epochs=3, batch_size=16, optimizer="sgd", lr=0.5, seed=3, augment=True,
                schedule="cosine", callback_interval=0.0)
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("schedule", ["cosine", "step", "onecycle"])
def test_every_batch_updates_with_the_scheduled_rate(shapes, schedule):
    """Plain SGD: each batch moves the weights by exactly −lr_b·∂E/∂w of that batch."""
    net = Network.from_spec(TINY, seed=0, dtype="float64")
    seen = [(net.state_dict(), None, None)]

    def on_progress(p):
        seen.append((net.state_dict(), {k: g.copy() for k, g in net.grads().items()},
                     p.metrics["lr"]))

    cfg = config(schedule=schedule)
    trainer = Trainer(net, shapes, cfg, SGD(lr=cfg.lr), on_progress=on_progress)
    history = trainer.run().history
    per_batch = seen[1:]  # interval 0: one call per batch (+ forced extras)
    rates = history.batches["lr"]
    assert len(set(rates)) > 2
    k = 0
    for before, after in zip(seen, per_batch, strict=False):
        w0, (w1, grads, lr) = before[0], after
        if all(np.array_equal(w0[n], w1[n]) for n in w0):
            continue  # a forced call at an epoch end: no update in between
        assert lr == rates[k]
        for name in w0:
            np.testing.assert_allclose(w1[name], w0[name] - lr * grads[name],
                                       rtol=0, atol=1e-13)
        k += 1
    assert k == history.num_batches


def test_pause_and_resume_from_another_thread_change_nothing(shapes):
    """A run paused mid-way (no batch runs while paused) ends bit for bit like an unpaused one."""
    reference = Network.from_spec(TINY, seed=0)
    Trainer(reference, shapes, config(optimizer="adam", lr=0.01)).run()

    net = Network.from_spec(TINY, seed=0)
    reached, paused, pause_sent = threading.Event(), threading.Event(), threading.Event()

    def on_progress(p):
        if p.state == "paused":
            paused.set()
        elif p.epoch == 1 and p.batch == 4:
            reached.set()
            # hold the worker until the other thread has called pause(): on a loaded
            # machine the worker could otherwise finish the run before pause() lands
            pause_sent.wait(30)

    trainer = Trainer(net, shapes, config(optimizer="adam", lr=0.01), on_progress=on_progress)
    results = []
    worker = threading.Thread(target=lambda: results.append(trainer.run()))
    worker.start()
    try:
        assert reached.wait(30)
        trainer.pause()
        pause_sent.set()
        assert paused.wait(30)
        frozen, count = net.state_dict(), trainer.history.num_batches
        assert trainer.state == "paused" and trainer.progress().state == "paused"
        assert count < 3 * trainer.batches_per_epoch
        # the worker is blocked between batches: nothing moves until resume()
        assert trainer.history.num_batches == count
        assert all(np.array_equal(v, net.state_dict()[k]) for k, v in frozen.items())
        trainer.resume()
        worker.join(60)
    finally:
        trainer.stop()
        worker.join(30)
    assert not worker.is_alive()
    assert results[0].state == "finished" and trainer.state == "finished"
    assert results[0].history.num_batches == 3 * trainer.batches_per_epoch
    for key, value in reference.state_dict().items():
        assert np.array_equal(value, net.state_dict()[key]), key


def test_a_negative_seed_is_a_named_config_error(shapes):
    """TrainConfig(seed=-1) is refused up front, not deep inside numpy mid-run."""
    with pytest.raises(ValueError, match="training setting seed must be an integer ≥ 0"):
        Trainer(Network.from_spec(TINY), shapes, config(seed=-1))


class _FailingSGD(SGD):
    """SGD that updates half its parameters, then fails, on its third step."""

    def __init__(self, lr=0.1, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        super().__init__(lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov)
        self.count = 0

    def step(self, params, grads):
        self.count += 1
        if self.count == 3:
            first = next(iter(params))
            params[first] -= 1.0
            raise RuntimeError("the update failed")
        super().step(params, grads)


def test_an_update_that_fails_leaves_the_last_whole_batch_and_a_final_state(shapes):
    """An exception inside an update: weights roll back to after batch 2; state is not running."""
    net = Network.from_spec(TINY, seed=0)
    snaps = []
    trainer = Trainer(net, shapes, config(schedule="constant"), _FailingSGD(),
                      on_progress=lambda p: snaps.append(net.state_dict()))
    with pytest.raises(RuntimeError, match="the update failed"):
        trainer.run()
    assert trainer.state == "stopped" and trainer.history.num_batches == 2
    assert all(np.array_equal(v, net.state_dict()[k]) for k, v in snaps[-1].items())


def test_a_failure_while_starting_the_share_workers_leaves_a_final_state(shapes, monkeypatch):
    """Trainer.run starts the share workers first (parallel_step.prepare): an error there
    (a second Ctrl+C, say) must not leave the trainer "running"."""
    from cnnviz.core import parallel_step

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(parallel_step, "prepare", interrupted)
    trainer = Trainer(Network.from_spec(TINY, seed=0), shapes, config())
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    assert trainer.state == "stopped"
