"""Lesson files: the schema validator and the placeholders of live numbers (no Qt)."""

from __future__ import annotations

import copy
import json

import pytest

from cnnviz.engine.lessons import (
    LessonError,
    lesson_paths,
    load_lesson,
    parse_lesson,
    parse_placeholder,
)

REQUIRED = {"neuron", "square-detector", "conv-forward", "pooling", "weight-gradient", "delta",
            "softmax-vs-mse", "optimizers", "minibatch", "vanishing"}
GOOD = {"name": "t", "title": "T", "summary": "s",
        "steps": [{"title": "one", "narration": "x = {{loss = 0.5}}",
                   "actions": [{"preset": "square", "weights": "fresh"}, {"run_to": "L"}]}]}


def test_every_bundled_lesson_validates_and_is_named_like_its_file():
    paths = lesson_paths()
    assert {p.stem for p in paths} >= REQUIRED
    for path in paths:
        lesson = load_lesson(path.stem)
        assert lesson.name == path.stem
        assert lesson.steps and all(step.narration.strip() for step in lesson.steps)


def test_lessons_are_listed_in_their_order():
    orders = [load_lesson(p.stem).order for p in lesson_paths()]
    assert orders == sorted(orders)


def _broken(change) -> dict:
    data = copy.deepcopy(GOOD)
    change(data)
    return data


@pytest.mark.parametrize("change, words", [
    (lambda d: d["steps"][0]["actions"].append({"fly": 1}), ["t.json: step 1 ('one')",
                                                            "actions[2]", "fly"]),
    (lambda d: d["steps"][0]["actions"].append({"tab": "nope"}), ["actions[2]", "tab",
                                                                 "maps"]),
    (lambda d: d["steps"][0].update(narration="{{speed 3}}"), ["narration", "unknown quantity"]),
    (lambda d: d["steps"][0].update(narration="{{prob}}"), ["prob takes 1–1 argument"]),
    (lambda d: d["steps"][0].pop("title"), ["step 1", "missing field 'title'"]),
    (lambda d: d.update(steps=[]), ["at least one step"]),
    (lambda d: d["steps"][0]["actions"].append({"weights": "best"}), ["weights must be"]),
    (lambda d: d["steps"][0]["actions"].append({"select": {"layer": "4.1", "unit": [0]}}),
     ["actions[2]", "select: layer: '4.1' is not a layer name", "4.body.1"]),
    (lambda d: d["steps"][0]["actions"].append({"select": {"layer": True}}),
     ["select: layer True", '"4.body.1" inside a block']),
    (lambda d: d["steps"][0]["actions"].append({"select": {"layer": 4, "inner": "body.1"}}),
     ["select: unknown field(s) inner (use layer, unit, weight)"]),
    (lambda d: d["steps"][0]["actions"].append({"select": {"unit": [0, 1]}}),
     ["select: bad value", 'an object with "layer"']),
])
def test_a_broken_lesson_names_file_step_and_field(change, words):
    with pytest.raises(LessonError) as info:
        parse_lesson(_broken(change), "t.json")
    for word in words:
        assert word in str(info.value)


def test_select_names_an_inner_layer_the_way_the_app_does():
    data = copy.deepcopy(GOOD)
    data["steps"][0]["actions"] += [{"select": {"layer": "4.body.1", "unit": [2, 5, 6]}},
                                    {"select": {"layer": "6.shortcut.0", "weight": [0, 1, 0, 0]}},
                                    {"select": {"layer": 3}}, {"select": {"layer": "3"}}]
    lesson = parse_lesson(data, "t.json")
    assert lesson.steps[0].actions[2]["select"]["layer"] == "4.body.1"


def test_placeholders_carry_expected_value_and_tolerance():
    ph = parse_placeholder("{{value F0 0,0,3,3 = 580.99 ± 0.01}}", "here")
    assert (ph.quantity, ph.args, ph.expected, ph.decimals) == ("value", ("F0", "0,0,3,3"),
                                                                580.99, 2)
    assert ph.agrees(580.995) and not ph.agrees(581.01)
    assert ph.format(580.98999) == "580.99"
    default = parse_placeholder("{{loss = 0.25}}", "here")  # half a unit in the last decimal
    assert default.agrees(0.254) and not default.agrees(0.256)
    assert parse_placeholder("{{shape 0 1}}", "here").format(28.0) == "28"


def test_a_file_that_is_not_json_is_refused_with_its_name(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(LessonError, match="bad.json: not JSON"):
        load_lesson(path)
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    assert load_lesson(path).title == "T"
