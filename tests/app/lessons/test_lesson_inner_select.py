"""A lesson's `select` names an inner layer of a residual block the way the window does
("4.body.1", "6.shortcut.0"): in the real window the inspector, the status bar and the
pipeline follow it; a bad name is a problem line naming the layer and what is wrong."""

from __future__ import annotations

import json

import pytest
from gui_helpers import preset_window
from PySide6.QtWidgets import QApplication

from cnnviz.app.lessons.runner import check_lesson
from cnnviz.cli import main
from cnnviz.engine.lessons import parse_lesson

LESSON = {
    "name": "inner", "title": "Inside a block", "summary": "inner layers",
    "steps": [
        {"title": "Into the block", "narration": "o = {{value F4.1 0,2,5,6}}",
         "actions": [{"preset": "mini-resnet", "weights": "fresh"}, {"input": "default"},
                     {"run_to": "F4.1"},
                     {"select": {"layer": "4.body.1", "unit": [2, 5, 6]}}, {"tab": "maps"}]},
        {"title": "A projection's weight", "narration": "w",
         "actions": [{"run_to": "B4.0"},
                     {"select": {"layer": "6.shortcut.0", "weight": [0, 1, 0, 0]}}]},
        {"title": "A layer that is not there", "narration": "x",
         "actions": [{"select": {"layer": "4.body.9", "unit": [0, 0, 0]}}]},
    ],
}
BAD = "actions[0] select: layer '4.body.9': block 4 has no body layer 9"


@pytest.fixture
def window(qtbot, settings):
    """The window on square; the lesson loads mini-resnet itself."""
    win = preset_window(qtbot, settings, "square", restore_layout=False)
    return win


def test_the_window_follows_a_lessons_inner_selection(window, qtbot, tmp_path):
    path = tmp_path / "inner.json"
    path.write_text(json.dumps(LESSON), encoding="utf-8")
    window.open_lesson(str(path))
    dock, ctrl = window.lessons, window.ctrl
    QApplication.processEvents()
    assert dock.problems == []
    sel = ctrl.selection
    assert (sel.layer, sel.inner, sel.unit) == (4, "body.1", (2, 5, 6))
    title = window.panels["inspector"].title.text()
    assert "Layer 4.body.1 batchnorm2d" in title and "F4.1, B4.1" in title
    assert "layer 4.body.1 unit [2,5,6]" in window.unit_label.text()
    assert window.panels["pipeline"].column("4.1").thumbs.marks == [(2, 5, 6)]
    dock.next()
    assert dock.problems == []
    assert (ctrl.selection.layer, ctrl.selection.inner) == (6, "shortcut.0")
    assert ctrl.weight_focus == (6, (0, 1, 0, 0))
    assert "Layer 6.shortcut.0 conv2d" in window.panels["inspector"].title.text()
    dock.next()  # a bad name: the dock says so in red, the selection stays
    assert len(dock.problems) == 1 and BAD in dock.problems[0]
    assert dock.problem_label.isVisible() and BAD in dock.problem_label.text()
    assert (ctrl.selection.layer, ctrl.selection.inner) == (6, "shortcut.0")


def test_the_check_and_the_cli_name_the_bad_layer(tmp_path, capsys):
    problems = check_lesson(parse_lesson(LESSON, "inner.json"))
    assert len(problems) == 1
    assert "step 3 ('A layer that is not there')" in problems[0] and BAD in problems[0]
    assert "4.body.0…4.body.4" in problems[0]
    path = tmp_path / "inner.json"
    path.write_text(json.dumps(LESSON), encoding="utf-8")
    assert main(["lesson", str(path), "--check"]) == 1
    out = capsys.readouterr().out
    assert BAD in out
