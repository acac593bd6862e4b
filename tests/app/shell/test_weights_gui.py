"""Weights in the window: bundled on first launch (the 7 is a 7), the user's kept weights
before them, File → Reset weights / Revert to bundled weights and Edit → Undo weights
change, and a status-bar field saying which weights these are."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from cnnviz.app.controller import AppController
from cnnviz.app.shell.main_window import MainWindow
from cnnviz.engine.bundled import bundled_state
from cnnviz.engine.userweights import save_user_weights, user_data_dir


@pytest.fixture(autouse=True)
def no_dialogs(monkeypatch):
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: None)


def make_window(qtbot, settings, preset="lenet5") -> MainWindow:
    win = MainWindow(settings=settings, preset=preset, theme="light", restore_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def menu_texts(menu) -> list[str]:
    return [a.text() for a in menu.actions()]


def test_first_launch_uses_the_bundled_weights_and_the_seven_is_a_seven(qtbot, settings):
    assert not (user_data_dir() / "weights").exists()  # a fresh data directory
    win = make_window(qtbot, settings)
    assert same(win.ctrl.network.state_dict(), bundled_state("lenet5"))
    assert win.ctrl.input_label == 7
    assert int(np.argmax(win.ctrl.probabilities())) == 7
    label = win.weight_actions.label
    assert label.isVisible() and label.text().startswith("Weights: bundled weights (mnist")


def test_the_users_kept_weights_come_before_the_bundled_ones(qtbot, settings):
    mine = AppController("lenet5", weights="fresh")
    save_user_weights("lenet5", "mnist", mine.network)
    win = make_window(qtbot, settings)
    assert same(win.ctrl.network.state_dict(), mine.network.state_dict())
    assert "your kept weights (mnist)" in win.weight_actions.label.text()


def test_reset_and_revert_are_undoable_from_the_edit_menu(qtbot, settings):
    win = make_window(qtbot, settings, "square")
    book, bundled = win.ctrl.weight_book, bundled_state("square")
    fresh = AppController("square", weights="fresh").network.state_dict()
    assert not win.weight_actions.undo_action.isEnabled()
    win.weight_actions.reset_action.trigger()
    assert same(win.ctrl.network.state_dict(), fresh)
    assert not win.ctrl.has_trained_weights()
    assert "fresh weights (seed 0)" in win.weight_actions.label.text()
    undo = win.weight_actions.undo_action
    assert undo.isEnabled() and undo.text() == "Undo reset weights"
    assert undo.shortcut().toString() == "Ctrl+Alt+Z"
    undo.trigger()
    assert same(win.ctrl.network.state_dict(), bundled)
    assert "bundled weights" in win.weight_actions.label.text()
    win.ctrl.run_pass()  # one SGD update changes the weights
    changed = win.ctrl.network.state_dict()
    win.weight_actions.bundled_action.trigger()
    assert same(win.ctrl.network.state_dict(), bundled)
    assert book.undo()
    assert same(win.ctrl.network.state_dict(), changed)
    assert not undo.isEnabled()


def test_the_file_and_edit_menus_hold_the_weight_actions(qtbot, settings):
    win = make_window(qtbot, settings, "square")
    menus = {m.title(): m for m in win.menuBar().findChildren(type(win.recent_menu))
             if m.title() in ("&File", "&Edit")}
    file_texts = menu_texts(menus["&File"])
    for text in ("Reset weights", "Revert to bundled weights", "Keep these weights",
                 "Export figure…"):
        assert text in file_texts
    assert menu_texts(menus["&Edit"]) == ["Undo weights change"]


def test_keep_makes_the_next_window_open_with_these_weights(qtbot, settings):
    win = make_window(qtbot, settings, "square")
    win.ctrl.weight_book.reset()
    path = win.ctrl.weight_book.keep()
    assert path == user_data_dir() / "weights" / "square" / "shapes-8x8-2.npz"
    again = AppController("square")
    assert same(again.network.state_dict(), win.ctrl.network.state_dict())
    assert again.weight_book.source == "your kept weights (shapes-8x8-2)"


def test_a_spec_without_bundled_weights_cannot_revert(qtbot, settings):
    win = make_window(qtbot, settings, "square")
    errors = []
    win.ctrl.error_raised.connect(lambda title, text: errors.append(title))
    spec = win.ctrl.spec.to_dict()
    spec["layers"][0]["out_channels"] = 2
    assert win.ctrl.set_spec(spec)
    win.weight_actions.refresh()
    assert not win.weight_actions.bundled_action.isEnabled()
    assert not win.ctrl.weight_book.revert_to_bundled()
    assert errors == ["No bundled weights"]


def test_a_preset_switch_says_which_weights_it_opened(qtbot, settings):
    win = make_window(qtbot, settings, "square")
    messages = []
    win.ctrl.status_changed.connect(messages.append)
    assert win.ctrl.load_preset("square-seed")
    assert messages[-1].startswith("square-seed: bundled weights (shapes")
    assert float(win.ctrl.network.state_dict()["0.weight"][0, 0, 1, 2]) == pytest.approx(0.99)
