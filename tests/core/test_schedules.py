"""Learning-rate schedules: hand values, bad options, onecycle against torch's OneCycleLR."""

import math

import pytest

from cnnviz.core.schedules import SCHEDULE_NAMES, make_schedule


def close(a, b):
    assert a == pytest.approx(b, rel=1e-12, abs=0)


def test_names():
    assert SCHEDULE_NAMES == ("constant", "step", "cosine", "onecycle")


def test_constant():
    s = make_schedule("Constant", 0.05, 100, steps_per_epoch=10)
    assert [s.lr_at(i) for i in (0, 50, 99, 500)] == [0.05] * 4


def test_step_drops_by_gamma_every_step_size_epochs():
    s = make_schedule("step", 0.1, 60, steps_per_epoch=10, step_size=2, gamma=0.5)
    assert [s.lr_at(i) for i in (0, 19)] == [0.1, 0.1]
    assert [s.lr_at(i) for i in (20, 39)] == [0.05, 0.05]
    assert s.lr_at(40) == 0.025


def test_step_needs_steps_per_epoch():
    with pytest.raises(ValueError, match="steps_per_epoch"):
        make_schedule("step", 0.1, 60)


def test_cosine_goes_from_base_lr_towards_zero():
    s = make_schedule("cosine", 0.2, 100)
    close(s.lr_at(0), 0.2)
    close(s.lr_at(25), 0.2 * (1 + math.cos(math.pi / 4)) / 2)
    close(s.lr_at(50), 0.1)
    close(s.lr_at(99), 0.2 * (1 + math.cos(math.pi * 0.99)) / 2)
    assert s.lr_at(99) < 1e-4
    lrs = [s.lr_at(i) for i in range(100)]
    assert all(a > b for a, b in zip(lrs, lrs[1:], strict=False))
    assert s.lr_at(1000) == s.lr_at(99)


def test_onecycle_hand_values():
    # max 0.1, initial 0.1/25 = 0.004, final 0.004/1e4; warm-up ends at 0.3·100 − 1 = 29
    s = make_schedule("onecycle", 0.1, 100)
    close(s.lr_at(0), 0.004)
    close(s.lr_at(10), 0.1 + (0.004 - 0.1) / 2 * (math.cos(math.pi * 10 / 29) + 1))
    close(s.lr_at(29), 0.1)
    close(s.lr_at(64), (0.1 + 4e-7) / 2)  # halfway from step 29 to step 99
    close(s.lr_at(99), 4e-7)
    assert s.lr_at(500) == s.lr_at(99)


@pytest.mark.parametrize(
    ("name", "kw", "field"),
    [
        ("step", {"steps_per_epoch": 0}, "steps_per_epoch"),
        ("step", {"steps_per_epoch": 10, "step_size": 1.5}, "step_size"),
        ("step", {"steps_per_epoch": 10, "gamma": -1}, "gamma"),
        ("onecycle", {"pct_start": 1.5}, "pct_start"),
        ("onecycle", {"div_factor": 0}, "div_factor"),
        ("cosine", {"gamma": 0.5}, "gamma"),
    ],
)
def test_bad_options_name_the_field(name, kw, field):
    with pytest.raises(ValueError, match=f"{name}.*{field}"):
        make_schedule(name, 0.1, 100, **kw)


def test_bad_arguments():
    with pytest.raises(ValueError, match="constant, step, cosine, onecycle"):
        make_schedule("linear", 0.1, 100)
    with pytest.raises(ValueError, match="base_lr"):
        make_schedule("cosine", -0.1, 100)
    with pytest.raises(ValueError, match="total_steps"):
        make_schedule("cosine", 0.1, 0)
    with pytest.raises(ValueError, match="step must be >= 0"):
        make_schedule("cosine", 0.1, 10).lr_at(-1)


@pytest.mark.parametrize(
    ("total", "kw"),
    [
        (100, {}),
        (7, {}),
        (1, {}),
        (2, {}),
        (250, {"pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0}),
    ],
)
def test_onecycle_matches_torch(total, kw):
    torch = pytest.importorskip("torch")
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.1, total_steps=total, cycle_momentum=False, **kw
    )
    ours = make_schedule("onecycle", 0.1, total, **kw)
    for step in range(total):
        close(ours.lr_at(step), opt.param_groups[0]["lr"])
        opt.step()
        sched.step()


def test_cosine_matches_torch():
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40)
    ours = make_schedule("cosine", 0.3, 40)
    for step in range(40):
        assert ours.lr_at(step) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9)
        opt.step()
        sched.step()
