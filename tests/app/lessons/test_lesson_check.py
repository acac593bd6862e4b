"""Every lesson passes its check; a broken one fails with a clear message (in-process)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from cnnviz.app.debugger.inspector import TABS
from cnnviz.app.lessons.runner import check_lesson
from cnnviz.cli import main
from cnnviz.engine.lessons import INSPECTOR_TABS, lesson_paths, load_lesson, parse_lesson


@pytest.mark.parametrize("name", [p.stem for p in lesson_paths()])
def test_every_lesson_passes_its_check(name):
    """Every action works and every number in the narration agrees with the app."""
    assert check_lesson(load_lesson(name)) == []


def test_the_validator_knows_the_inspectors_tabs():
    assert tuple(key for key, _ in TABS) == INSPECTOR_TABS


def _neuron_with(change) -> dict:
    path = Path(load_lesson("neuron").path)
    data = copy.deepcopy(json.loads(path.read_text(encoding="utf-8")))
    change(data)
    return data


def test_a_wrong_number_fails_the_check_naming_step_and_values():
    def wrong(data):
        data["steps"][0]["narration"] = ["x = {{value F1 0,0 = 0.90}}"]
    problems = check_lesson(parse_lesson(_neuron_with(wrong), "neuron.json"))
    assert len(problems) == 1
    assert "step 1 ('A neuron adds up its inputs')" in problems[0]
    assert "the app computes 0.8, the narration says 0.9" in problems[0]


def test_a_failing_action_fails_the_check():
    def bad(data):
        data["steps"][1]["actions"].insert(0, {"run_to": "F9"})
        data["steps"][2]["actions"].insert(0, {"weights": "bundled"})  # a spec: no preset
    problems = check_lesson(parse_lesson(_neuron_with(bad), "neuron.json"))
    assert any("step 2" in p and "actions[0] run_to: no step 'F9'" in p for p in problems)
    assert any("step 3" in p and "actions[0] weights: no bundled weights" in p
               for p in problems)


def test_cli_check_exits_non_zero_with_one_line_per_problem(tmp_path, capsys):
    def wrong(data):
        data["steps"][0]["narration"] = ["{{value F1 0,0 = 0.90}} and {{loss = 7}}"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(_neuron_with(wrong)), encoding="utf-8")
    assert main(["lesson", str(path), "--check"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and all("step 1" in line for line in out)


def test_cli_lists_the_lessons(capsys):
    assert main(["lesson", "--list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows][:2] == ["neuron", "square-detector"]
    assert main(["lesson", "no-such-lesson", "--check"]) == 2
    assert "no lesson named 'no-such-lesson'" in capsys.readouterr().err


def test_export_writes_one_full_hd_slide_per_step(tmp_path, qapp):
    assert main(["lesson", "neuron", "--export", str(tmp_path)]) == 0
    slides = sorted(tmp_path.glob("*.png"))
    assert len(slides) == len(load_lesson("neuron").steps)
    image = QImage(str(slides[0]))
    assert (image.width(), image.height()) == (1920, 1080)
