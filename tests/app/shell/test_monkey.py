"""The monkey test (issue 13): a seeded random user drives the real main window for a few
hundred actions. It fails on any exception that reaches the event loop (pytest-qt turns
those into failures), on any Qt critical or fatal message, and on an inconsistent state
after any action. Modal dialogs are answered automatically."""

from __future__ import annotations

import time

import pytest
from gui_helpers import preset_window
from monkey import Monkey, answer_dialogs, check_state
from PySide6.QtCore import QtMsgType

from cnnviz.core.presets import preset_names

SECONDS = 40  # the budget of the random walk; the whole test stays under 60 s in CI
MAX_ACTIONS = 600
# Presets a random switch may pick: all but the slowest to compile and run (mini-resnet's
# first pass alone compiles its batch-norm kernels for seconds; it has its own tests).
PRESETS = [name for name in preset_names() if name != "mini-resnet"]


@pytest.fixture
def window(qtbot, settings, monkeypatch):
    """The main window on `square`, shown and active, every dialog answered."""
    answer_dialogs(monkeypatch)
    win = preset_window(qtbot, settings, "square", active=True)
    yield win
    win.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_a_random_user_finds_no_crash_and_no_inconsistent_state(window, qtbot, qtlog, seed):
    monkey = Monkey(window, seed, PRESETS)
    deadline = time.monotonic() + SECONDS / 2
    while time.monotonic() < deadline and len(monkey.log) < MAX_ACTIONS // 2:
        done = monkey.act()
        qtbot.wait(1)  # let queued signals and repaints run, as between real events
        problems = check_state(window) if not window.ctrl.busy else []
        assert problems == [], f"after action {len(monkey.log)} ({done}): {problems}\n" \
                               + "\n".join(monkey.log[-15:])
    panel = window.panels["training"]
    panel.shutdown()  # a run started by the monkey ends before the checks
    assert not panel.is_running()
    assert len(monkey.log) >= 50, "the monkey hardly got to act"
    bad = [r.message for r in qtlog.records
           if r.type in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)]
    assert bad == []
    assert check_state(window) == []


def test_the_monkey_tries_every_kind_of_action(window):
    """The random walk is not lopsided: each kind of action comes up in 300 draws."""
    monkey = Monkey(window, 3, PRESETS)
    kinds = set()
    for _ in range(300):
        action = monkey.rng.choices([a for _, a in monkey.actions],
                                    [w for w, _ in monkey.actions])[0]
        kinds.add(action.__name__)
    assert kinds == {a.__name__ for _, a in monkey.actions}


@pytest.mark.parametrize("preset", ["deep-sigmoid-skip", "lenet5-dropout"])
def test_a_short_random_walk_on_a_block_network(window, qtbot, qtlog, preset):
    """Blocks, batch norm and dropout under the same random user (a few seconds each); the
    train/eval switch is flipped now and then between the monkey's actions."""
    window.ctrl.load_preset(preset)
    monkey = Monkey(window, 7, [preset])
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and len(monkey.log) < 120:
        done = monkey.act()
        if monkey.rng.random() < 0.05 and not window.ctrl.busy:
            window.mode_switch.action.trigger()
            done += " + train/eval switch"
        qtbot.wait(1)
        problems = check_state(window) if not window.ctrl.busy else []
        assert problems == [], f"after action {len(monkey.log)} ({done}): {problems}\n" \
                               + "\n".join(monkey.log[-15:])
    window.panels["training"].shutdown()
    assert len(monkey.log) >= 15, "the monkey hardly got to act"
    assert [r.message for r in qtlog.records
            if r.type in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)] == []
    assert check_state(window) == []
