"""The trainer: determinism, learning, the divergence guard, pause/stop, callbacks, schedules."""

from __future__ import annotations

import dataclasses
import math
import threading

import numpy as np
import pytest

from cnnviz.core.network import Network
from cnnviz.core.optim import SGD, Adam, make_optimizer
from cnnviz.core.schedules import make_schedule
from cnnviz.data.shapes import make_shapes
from cnnviz.engine.augment import augment_batch, random_shifts, shift_images
from cnnviz.engine.metrics import History, evaluate, tensor_norm
from cnnviz.engine.trainer import TrainConfig, Trainer

TINY = {
    "input": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 2},
    ],
    "loss": "cross_entropy",
}


@pytest.fixture(scope="module")
def shapes():
    """A small 2-class 8×8 problem: squares against other shapes."""
    return make_shapes(n=240, size=8, classes=("square", "other"), seed=0)


def tiny_net(seed: int = 0, dtype: str = "float32") -> Network:
    return Network.from_spec(TINY, seed=seed, dtype=dtype)


def config(**kw) -> TrainConfig:
    base = dict(epochs=2, batch_size=16, optimizer="adam", lr=1e-2, seed=0, augment=True,
                schedule="constant", callback_interval=0.0)
    base.update(kw)
    return TrainConfig(**base)


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def opt_states_equal(a: dict, b: dict) -> bool:
    if a["type"] != b["type"] or a["hyperparams"] != b["hyperparams"]:
        return False
    if a["state"].keys() != b["state"].keys():
        return False
    for p in a["state"]:
        sa, sb = a["state"][p], b["state"][p]
        if sa.keys() != sb.keys():
            return False
        if not all(np.array_equal(sa[k], sb[k]) for k in sa):
            return False
    return True


# ----- determinism and learning -----

def test_same_seed_gives_the_same_curve_bit_for_bit(shapes):
    runs = []
    for _ in range(2):
        net = tiny_net()
        result = Trainer(net, shapes, config(schedule="onecycle")).run()
        curve = result.history.to_dict()
        del curve["epochs"]["seconds"]            # wall-clock time, the only thing that varies
        runs.append((curve, net.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert states_equal(runs[0][1], runs[1][1])
    other = tiny_net()
    Trainer(other, shapes, config(schedule="onecycle", seed=1)).run()
    assert not states_equal(other.state_dict(), runs[0][1])


def test_learning_happens_loss_falls_and_accuracy_beats_chance(shapes):
    net = tiny_net()
    result = Trainer(net, shapes, config(epochs=6, augment=False)).run()
    losses = result.history.batches["loss"]
    assert result.state == "finished"
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])
    assert result.test_accuracy > 0.8
    assert result.history.num_epochs == 6
    assert result.epochs_completed == 6


def test_history_records_every_batch_and_epoch(shapes):
    net = tiny_net()
    trainer = Trainer(net, shapes, config(eval_every=5))
    result = trainer.run()
    h = result.history
    bpe = trainer.batches_per_epoch
    assert bpe == math.ceil(len(shapes.train_indices) / 16)
    assert h.batches["step"] == list(range(2 * bpe))
    assert h.batches["epoch"] == [1] * bpe + [2] * bpe
    assert set(h.grad_norms) == set(net.params()) == set(h.update_ratios)
    assert all(len(v) == 2 * bpe for v in h.grad_norms.values())
    # evaluations every 5 batches plus one per epoch end
    assert len(h.evals["step"]) == (2 * bpe) // 5 + 2
    loss, acc, _ = evaluate(net, *shapes.test())
    assert h.epochs["test_loss"][-1] == pytest.approx(loss, rel=1e-6)
    assert result.test_accuracy == acc


def test_gradient_norms_and_update_ratios_are_the_real_ones(shapes):
    """One full-batch SGD step: ‖g‖ from run_pass, ‖Δw‖/‖w‖ = η‖g‖/‖w‖."""
    x, y = shapes.train()
    twin = tiny_net(dtype="float64")
    p = twin.run_pass(x, y)
    before = twin.state_dict()
    net = tiny_net(dtype="float64")
    cfg = config(epochs=1, batch_size=len(x), optimizer="sgd", lr=0.5, augment=False)
    h = Trainer(net, shapes, cfg).run().history
    for name, g in p.grads.items():
        assert h.grad_norms[name][0] == pytest.approx(tensor_norm(g), rel=1e-12)
        w = tensor_norm(before[name])
        if w > 0:
            assert h.update_ratios[name][0] == pytest.approx(0.5 * tensor_norm(g) / w, rel=1e-9)
    assert h.batches["loss"][0] == pytest.approx(p.loss, rel=1e-12)


# ----- the divergence guard -----

def test_huge_learning_rate_diverges_restores_last_finite_weights(shapes):
    net = tiny_net()
    opt = SGD(lr=1e30)
    snaps = [(net.state_dict(), opt.state_dict())]
    trainer = Trainer(net, shapes, config(optimizer="sgd", lr=1e30, augment=False), opt,
                      on_progress=lambda p: snaps.append((net.state_dict(), opt.state_dict())))
    result = trainer.run()
    assert result.state == "diverged" == trainer.state
    assert result.diverged
    assert "became" in result.message and "lr 1e+30 is probably too high" in result.message
    assert "restored the weights from before that batch" in result.message
    assert all(np.isfinite(v).all() for v in net.state_dict().values())
    assert states_equal(net.state_dict(), snaps[-1][0])
    batches_done = result.history.num_batches
    assert f"batch {batches_done % trainer.batches_per_epoch + 1}" in result.message


class _PoisonedAdam(Adam):
    """Adam that writes inf into a weight on its third step (non-finite weights, finite loss)."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        self.count = 0

    def step(self, params, grads):
        super().step(params, grads)
        self.count += 1
        if self.count == 3:
            params["0.weight"].flat[0] = np.inf


def test_non_finite_weights_restore_weights_and_optimizer_state(shapes):
    net = tiny_net()
    opt = _PoisonedAdam(lr=1e-2)
    snaps = []
    trainer = Trainer(net, shapes, config(augment=False), opt,
                      on_progress=lambda p: snaps.append((net.state_dict(), opt.state_dict())))
    result = trainer.run()
    assert result.state == "diverged"
    assert "the weights 0.weight became non-finite at epoch 1, batch 3" in result.message
    assert result.history.num_batches == 2
    assert states_equal(net.state_dict(), snaps[-1][0])
    assert opt_states_equal(opt.state_dict(), snaps[-1][1])


# ----- pause, resume, stop from another thread -----

def test_pause_and_stop_from_another_thread_leave_a_consistent_model(shapes):
    net = tiny_net()
    opt = make_optimizer("adam", lr=1e-2)
    snaps: list = []
    reached, paused = threading.Event(), threading.Event()

    def on_progress(p):
        snaps.append((p.state, net.state_dict(), opt.state_dict(), p.batch))
        if len(snaps) == 3:
            reached.set()
        if p.state == "paused":
            paused.set()

    trainer = Trainer(net, shapes, config(epochs=50), opt, on_progress=on_progress)
    results = []
    worker = threading.Thread(target=lambda: results.append(trainer.run()))
    worker.start()
    try:
        assert reached.wait(30)
        trainer.pause()
        assert paused.wait(30)
        assert trainer.state == "paused"
        frozen = net.state_dict()
        n_batches = trainer.history.num_batches
        trainer.resume()
        trainer.stop()
    finally:
        trainer.stop()
        worker.join(30)
    assert not worker.is_alive()
    result = results[0]
    assert result.state == "stopped" == trainer.state
    assert trainer.history.num_batches >= n_batches
    assert states_equal(frozen, snaps[[s[0] for s in snaps].index("paused")][1])
    # after stop: the weights and optimizer state are those after the last full batch
    assert states_equal(net.state_dict(), snaps[-1][1])
    assert opt_states_equal(opt.state_dict(), snaps[-1][2])
    assert opt.state_dict()["state"]["0.weight"]["step"] == result.history.num_batches


def test_states_from_idle_to_finished(shapes):
    trainer = Trainer(tiny_net(), shapes, config(epochs=1))
    seen = []
    trainer.on_progress = lambda p: seen.append((p.state, trainer.state))
    assert trainer.state == "idle"
    trainer.pause()
    assert trainer.state == "paused"
    trainer.resume()
    assert trainer.state == "idle"
    assert trainer.run().state == "finished" == trainer.state
    assert {s for s, _ in seen[:-1]} == {"running"} and seen[-1] == ("finished", "finished")


def test_stop_before_run_trains_nothing(shapes):
    net = tiny_net()
    before = net.state_dict()
    trainer = Trainer(net, shapes, config())
    trainer.stop()
    result = trainer.run()
    assert result.state == "stopped"
    assert result.history.num_batches == 0
    assert states_equal(before, net.state_dict())
    with pytest.raises(RuntimeError, match="runs once"):
        trainer.run()


# ----- callbacks -----

def test_progress_callbacks_are_rate_bounded_and_the_last_one_is_the_end(shapes):
    calls = []
    cfg = config(epochs=3, batch_size=1, callback_interval=0.05)
    trainer = Trainer(tiny_net(), shapes, cfg, on_progress=calls.append,
                      on_epoch_end=lambda row: calls.append(("epoch", row)))
    result = trainer.run()
    progress = [c for c in calls if not isinstance(c, tuple)]
    epochs = [c[1] for c in calls if isinstance(c, tuple)]
    assert [row["epoch"] for row in epochs] == [1, 2, 3]
    forced = cfg.epochs + 1           # every epoch end and the finish
    assert len(progress) <= result.seconds / cfg.callback_interval + 1 + forced
    assert len(progress) < result.history.num_batches / 4
    last = progress[-1]
    assert (last.epoch, last.batch, last.state) == (3, trainer.batches_per_epoch, "finished")
    assert last.examples_seen == 3 * len(shapes.train_indices)
    assert last.fraction == 1.0 and last.eta == 0.0
    assert last.metrics["test_accuracy"] == result.test_accuracy


# ----- schedules and augmentation -----

@pytest.mark.parametrize("name", ["onecycle", "cosine", "step"])
def test_the_schedule_sets_the_learning_rate_of_every_batch(shapes, name):
    cfg = config(schedule=name, lr=0.02, epochs=3)
    trainer = Trainer(tiny_net(), shapes, cfg)
    h = trainer.run().history
    total = 3 * trainer.batches_per_epoch
    kw = {"steps_per_epoch": trainer.batches_per_epoch} if name == "step" else {}
    schedule = make_schedule(name, 0.02, total, **kw)
    assert h.batches["lr"] == [schedule.lr_at(s) for s in range(total)]
    assert trainer.optimizer.lr == h.batches["lr"][-1]
    assert len(set(h.batches["lr"])) > 1


def test_shift_images_moves_content_with_zero_fill():
    x = np.zeros((2, 1, 6, 6), np.float32)
    x[:, 0, 2, 3] = 1.0
    out = shift_images(x, np.array([[2, -1], [-2, 2]]))
    assert out[0, 0, 4, 2] == 1.0 and out[0].sum() == 1.0
    assert out[1, 0, 0, 5] == 1.0 and out[1].sum() == 1.0
    full = np.ones((1, 1, 5, 5), np.float32)
    moved = shift_images(full, np.array([[1, 2]]))
    assert moved[0, 0, 0].sum() == 0 and moved[0, 0, :, :2].sum() == 0
    assert moved[0, 0, 1:, 2:].min() == 1.0


def test_augmentation_shifts_stay_within_two_pixels():
    rng = np.random.default_rng(5)
    shifts = random_shifts(4000, rng)
    assert shifts.min() == -2 and shifts.max() == 2
    assert len({tuple(s) for s in shifts}) == 25
    x = np.random.default_rng(0).random((20, 1, 9, 9)).astype(np.float32)
    out = augment_batch(x, np.random.default_rng(1))
    for i in range(len(x)):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.array_equal(out[i], shift_images(x[i:i + 1], np.array([[dy, dx]]))[0])]
        assert len(matches) == 1


# ----- evaluate, History, config -----

def test_evaluate_in_chunks_matches_one_forward(shapes):
    net = tiny_net(dtype="float64")
    x, y = shapes.test()
    loss, acc, pred = evaluate(net, x, y, batch_size=7)
    logits = net.forward(x)
    full_loss, _ = net.compute_loss(logits, y)
    assert loss == pytest.approx(full_loss, rel=1e-12)
    assert np.array_equal(pred, np.argmax(logits, axis=1))
    assert acc == np.mean(pred == y)


def test_history_round_trips_and_writes_csv(shapes, tmp_path):
    h = Trainer(tiny_net(), shapes, config(epochs=1)).run().history
    h.batches["loss"][0] = float("nan")
    again = History.from_dict(h.to_dict())
    assert again.to_dict() == h.to_dict()
    assert again.batches["loss"][0] is None
    h.to_csv(tmp_path / "epochs.csv")
    lines = (tmp_path / "epochs.csv").read_text().splitlines()
    assert lines[0].split(",") == ["epoch", "train_loss", "train_accuracy", "test_loss",
                                   "test_accuracy", "lr", "seconds"]
    assert len(lines) == 2
    h.to_csv(tmp_path / "batches.csv", table="batches")
    header = (tmp_path / "batches.csv").read_text().splitlines()[0]
    assert "grad_norm[0.weight]" in header and "update_ratio[4.bias]" in header
    with pytest.raises(ValueError, match="history.batches.loss"):
        History.from_dict({"batches": {"loss": ["x"]}})


def test_bad_config_and_mismatched_data_are_named(shapes):
    with pytest.raises(ValueError, match="lr must be a positive number"):
        Trainer(tiny_net(), shapes, config(lr=-1.0))
    with pytest.raises(ValueError, match="batch_size"):
        Trainer(tiny_net(), shapes, config(batch_size=0))
    big = make_shapes(n=20, size=12, classes=("square", "other"))
    with pytest.raises(ValueError, match=r"shape \(1, 12, 12\).*expects.*\(1, 8, 8\)"):
        Trainer(tiny_net(), big, config())
    three = make_shapes(n=30, size=8, classes=("square", "circle", "cross"))
    with pytest.raises(ValueError, match="only 2 outputs"):
        Trainer(tiny_net(), three, config())
    empty = dataclasses.replace(shapes, train_indices=np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="training split is empty"):
        Trainer(tiny_net(), empty, config())


def test_history_snapshot_holds_whole_rows_only(shapes):
    h = Trainer(tiny_net(), shapes, config(epochs=1)).run().history
    n = h.num_batches
    # a row half-written by the training thread: every column but the key one appended
    for name in ("epoch", "loss", "accuracy", "lr"):
        h.batches[name].append(0.0)
    h.grad_norms["0.weight"].append(0.0)
    h.epochs["train_loss"].append(0.0)
    snap = h.snapshot()
    assert {len(v) for v in snap.batches.values()} == {n}
    assert {len(v) for v in snap.grad_norms.values()} == {n}
    assert {len(v) for v in snap.epochs.values()} == {1}
    assert snap.batches["loss"] is not h.batches["loss"]
