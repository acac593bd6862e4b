"""Lessons: JSON files of steps (narration + actions) under resources/lessons/, validated here.

The schema is documented in docs/lessons.md. `load_lesson` reads and checks a file and
returns a `Lesson`; every problem is a `LessonError` naming the file, the step and the
field. Narration may quote live numbers as placeholders, ``{{prob 7 = 0.98 ± 0.01}}``:
`placeholders` finds them, `lesson_values.evaluate` computes them. No Qt here.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnviz.data.fileio import bundled_file
from cnnviz.engine.steps import split_layer_name

# Action kinds and the extra fields each may carry beside its own key.
ACTIONS: dict[str, set[str]] = {
    "preset": {"weights", "seed"},
    "spec": {"weights", "seed"},
    "weights": {"seed"},
    "input": set(),
    "batch": {"dataset", "options"},
    "optimizer": {"lr", "momentum"},
    "run_to": set(),
    "select": set(),
    "tab": set(),
    "explain": set(),
    "animate": set(),
    "train": set(),
    "compare": set(),
}
PRIMARY = ("preset", "spec")  # with these, "weights" and "seed" are options, not actions
WEIGHTS = ("fresh", "bundled")
SELECT_FIELDS = ("layer", "unit", "weight")
INSPECTOR_TABS = ("maps", "input", "filters", "deltas", "wgrads", "winners", "norm", "mask")
EXPLAIN_TABS = ("computation", "formula", "animation")
TRAIN_FIELDS = {"epochs", "dataset", "options", "optimizer", "lr", "batch_size", "seed",
                "augment", "optimizers"}
# Quantities a placeholder may name, with (least, most) arguments.
QUANTITIES: dict[str, tuple[int, int]] = {
    "loss": (0, 0), "prob": (1, 1), "predicted": (0, 0), "value": (2, 3), "explain": (2, 2),
    "grad_norm": (1, 1), "delta_norm": (1, 1), "weight": (2, 2), "shape": (2, 2),
    "nonzero": (2, 2), "sum": (2, 2), "train": (1, 1), "compare": (2, 2),
}
PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_EXPECT = re.compile(r"^(?P<body>[^=]+?)\s*(?:=\s*(?P<value>[-+0-9.eE]+)"
                     r"\s*(?:(?:±|\+-)\s*(?P<tol>[0-9.eE+-]+))?)?\s*$")


class LessonError(ValueError):
    """A lesson file that cannot be used, or an action or number that failed."""


@dataclass(frozen=True)
class Placeholder:
    """One ``{{…}}`` of a narration: what to compute, and what the text expects."""

    text: str                    # the whole ``{{…}}``
    quantity: str
    args: tuple[str, ...]
    expected: float | None = None
    tolerance: float = 0.0
    decimals: int | None = None  # of the expected value as written

    def format(self, value: float) -> str:
        """The number as the narration shows it: the expected value's decimals, or 4 digits."""
        if self.decimals is not None:
            return f"{value:.{self.decimals}f}"
        if float(value).is_integer() and abs(value) < 1e9:
            return str(int(value))
        return f"{value:.4g}"

    def agrees(self, value: float) -> bool:
        """True if there is no expectation or the value is within the tolerance."""
        return self.expected is None or abs(value - self.expected) <= self.tolerance


@dataclass(frozen=True)
class LessonStep:
    """A step of a lesson: a title, Markdown narration and the actions that set the app up."""

    title: str
    narration: str
    actions: tuple[dict, ...]
    placeholders: tuple[Placeholder, ...] = ()


@dataclass(frozen=True)
class Lesson:
    """A validated lesson file."""

    name: str
    title: str
    summary: str
    order: int
    minutes: int
    steps: tuple[LessonStep, ...]
    path: str = ""
    extra: dict = field(default_factory=dict)


def resource_path(*parts: str) -> Path:
    """A bundled resource: from the resources/ folder beside this source tree when there is
    one (a checkout or worktree, whatever an editable install points at), else installed."""
    local = Path(__file__).resolve().parents[2] / "resources"
    if (local / "__init__.py").is_file():
        return local.joinpath(*parts)
    return Path(str(bundled_file(*parts)))


def lessons_folder() -> Path:
    """The bundled lessons folder (resources/lessons)."""
    return resource_path("lessons")


def lesson_paths() -> list[Path]:
    """Bundled lesson files, in the lessons' order."""
    paths = sorted(lessons_folder().glob("*.json"))
    return sorted(paths, key=lambda p: (_order_of(p), p.stem))


def _order_of(path: Path) -> int:
    """The "order" field of a lesson file (999 if unreadable: it sorts last)."""
    try:
        return int(json.loads(path.read_text(encoding="utf-8")).get("order", 999))
    except (OSError, ValueError, TypeError, AttributeError):
        return 999


def find_lesson(name: str) -> Path:
    """The file of a bundled lesson by name, or a path to a lesson file."""
    path = Path(name)
    if path.suffix == ".json" and path.exists():
        return path
    candidate = lessons_folder() / f"{name}.json"
    if not candidate.exists():
        names = ", ".join(p.stem for p in lesson_paths())
        raise LessonError(f"no lesson named {name!r}; lessons: {names}")
    return candidate


def load_lesson(name_or_path: str | Path) -> Lesson:
    """Read and validate a lesson (a bundled name or a path); LessonError on any problem."""
    path = find_lesson(str(name_or_path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise LessonError(f"{path.name}: cannot read: {error}") from None
    except json.JSONDecodeError as error:
        raise LessonError(f"{path.name}: not JSON: {error}") from None
    return parse_lesson(data, path.name, str(path))


def parse_lesson(data: Any, where: str, path: str = "") -> Lesson:
    """Validate a lesson's JSON data; `where` names it in messages (the file name)."""
    if not isinstance(data, dict):
        raise LessonError(f"{where}: a lesson is a JSON object")
    _require(data, where, {"name": str, "title": str, "summary": str, "steps": list})
    unknown = set(data) - {"name", "title", "summary", "order", "minutes", "steps"}
    if unknown:
        raise LessonError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if not data["steps"]:
        raise LessonError(f"{where}: steps: a lesson needs at least one step")
    steps = tuple(_parse_step(s, f"{where}: step {k + 1}") for k, s in enumerate(data["steps"]))
    return Lesson(name=data["name"], title=data["title"], summary=data["summary"],
                  order=_int_field(data, "order", where, 999),
                  minutes=_int_field(data, "minutes", where, 5), steps=steps, path=path)


def _int_field(data: dict, key: str, where: str, default: int) -> int:
    """An optional non-negative whole-number field."""
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LessonError(f"{where}: {key} must be a whole number ≥ 0, got {value!r}")
    return value


def _require(data: dict, where: str, fields: dict[str, type]) -> None:
    """Each field present with the given type."""
    for key, kind in fields.items():
        if key not in data:
            raise LessonError(f"{where}: missing field {key!r}")
        if not isinstance(data[key], kind):
            raise LessonError(f"{where}: {key} must be a {kind.__name__}, got {data[key]!r}")


def _parse_step(data: Any, where: str) -> LessonStep:
    """One step: title, narration (a string or a list of lines), actions."""
    if not isinstance(data, dict):
        raise LessonError(f"{where}: a step is a JSON object")
    if isinstance(data.get("narration"), list):
        data = {**data, "narration": "\n".join(str(line) for line in data["narration"])}
    _require(data, where, {"title": str, "narration": str})
    where = f"{where} ({data['title']!r})"
    unknown = set(data) - {"title", "narration", "actions"}
    if unknown:
        raise LessonError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    actions = data.get("actions", [])
    if not isinstance(actions, list):
        raise LessonError(f"{where}: actions must be a list")
    for k, action in enumerate(actions):
        check_action(action, f"{where}: actions[{k}]")
    found = tuple(parse_placeholder(m.group(0), f"{where}: narration")
                  for m in PLACEHOLDER.finditer(data["narration"]))
    return LessonStep(data["title"], data["narration"], tuple(actions), found)


def action_kind(action: dict) -> str:
    """The action's kind: its one key naming an action ("preset" and "spec" take options)."""
    for kind in PRIMARY:
        if kind in action:
            return kind
    kinds = [key for key in action if key in ACTIONS]
    if len(kinds) != 1:
        raise LessonError(f"an action names exactly one of {', '.join(ACTIONS)}; "
                          f"got {', '.join(action) or 'nothing'}")
    return kinds[0]


def check_action(action: Any, where: str) -> str:
    """Validate one action's shape (not whether it works: running it tells); its kind."""
    if not isinstance(action, dict):
        raise LessonError(f"{where}: an action is a JSON object, got {action!r}")
    try:
        kind = action_kind(action)
    except LessonError as error:
        raise LessonError(f"{where}: {error}") from None
    extra = set(action) - {kind} - ACTIONS[kind]
    if extra:
        raise LessonError(f"{where}: {kind} takes no field(s) {', '.join(sorted(extra))}")
    problem = _select_problem(action[kind]) if kind == "select" else \
        _action_problem(kind, action[kind], action)
    if problem:
        raise LessonError(f"{where}: {kind}: {problem}")
    return kind


def _action_problem(kind: str, value: Any, action: dict) -> str:
    """What is wrong with an action's value, or ''."""
    weights = action.get("weights", "fresh") if kind in PRIMARY else value
    if kind in PRIMARY + ("weights",) and not (weights in WEIGHTS or isinstance(weights, dict)):
        return f"weights must be {' or '.join(WEIGHTS)} or an object of arrays, got {weights!r}"
    checks = {
        "preset": isinstance(value, str) or _is_names(value), "spec": isinstance(value, dict),
        "input": isinstance(value, dict | str), "batch": _is_count(value),
        "optimizer": isinstance(value, str), "run_to": isinstance(value, str),
        "tab": value in INSPECTOR_TABS, "explain": value in EXPLAIN_TABS,
        "animate": value is True,
        "train": isinstance(value, dict) and not set(value) - TRAIN_FIELDS,
        "compare": isinstance(value, dict) and isinstance(value.get("optimizers"), list)
        and not set(value) - TRAIN_FIELDS,
    }
    return "" if checks.get(kind, True) else f"bad value {value!r} ({ACTION_HELP[kind]})"


def _select_problem(value: Any) -> str:
    """What is wrong with a select action's object, or '': its fields, and its layer — an
    index, or an inner layer of a block as the app names it ("4.body.1"). Whether the
    network has that layer is checked when the action runs."""
    if not isinstance(value, dict) or "layer" not in value:
        return f"bad value {value!r} ({ACTION_HELP['select']})"
    unknown = set(value) - set(SELECT_FIELDS)
    if unknown:
        return f"unknown field(s) {', '.join(sorted(unknown))} (use {', '.join(SELECT_FIELDS)})"
    layer = value["layer"]
    if isinstance(layer, bool) or not isinstance(layer, int | str):
        return f"layer {layer!r}: write an index such as 3, or \"4.body.1\" inside a block"
    try:
        split_layer_name(layer)
    except ValueError as error:
        return f"layer: {error}"
    return ""


def _is_names(value: Any) -> bool:
    """A non-empty list of strings."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _is_count(value: Any) -> bool:
    """A whole number ≥ 1."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


ACTION_HELP = {
    "preset": "a preset name or a list of them (the first that exists)",
    "spec": "a network spec object",
    "weights": "fresh, bundled or arrays", "input": "an object (dataset/index or array/label)",
    "batch": "a number of test examples ≥ 1 (of `dataset`, if given)",
    "optimizer": "an optimizer name",
    "run_to": "a step name such as F0, L, B2, U",
    "select": 'an object with "layer" (3, or "4.body.1" inside a block) and "unit" or "weight"',
    "tab": f"one of {', '.join(INSPECTOR_TABS)}", "explain": f"one of {', '.join(EXPLAIN_TABS)}",
    "animate": "true", "train": f"an object with fields among {', '.join(sorted(TRAIN_FIELDS))}",
    "compare": 'an object with "optimizers" and training fields',
}


def parse_placeholder(text: str, where: str) -> Placeholder:
    """``{{quantity args [= expected [± tolerance]]}}`` -> Placeholder (LessonError if bad)."""
    match = _EXPECT.match(text[2:-2].strip())
    if not match:
        raise LessonError(f"{where}: cannot read {text}: write {{{{quantity args = value ± tol}}}}")
    words = match.group("body").split()
    if not words or words[0] not in QUANTITIES:
        raise LessonError(f"{where}: {text}: unknown quantity; use one of {', '.join(QUANTITIES)}")
    least, most = QUANTITIES[words[0]]
    if not least <= len(words) - 1 <= most:
        raise LessonError(f"{where}: {text}: {words[0]} takes {least}–{most} argument(s)")
    expected, tolerance, decimals = _expectation(match, text, where)
    return Placeholder(text, words[0], tuple(words[1:]), expected, tolerance, decimals)


def _expectation(match: re.Match, text: str, where: str) -> tuple[float | None, float, int | None]:
    """(expected, tolerance, decimals) from the ``= value ± tol`` part; tolerance defaults
    to half a unit in the last written decimal."""
    raw = match.group("value")
    if raw is None:
        return None, 0.0, None
    try:
        expected = float(raw)
        tolerance = float(match.group("tol")) if match.group("tol") else None
    except ValueError:
        raise LessonError(f"{where}: {text}: the expected value is not a number") from None
    decimals = len(raw.split(".")[1]) if "." in raw and "e" not in raw.lower() else 0
    if tolerance is None:
        tolerance = 0.5 * 10.0 ** -decimals
    if not math.isfinite(expected) or not math.isfinite(tolerance) or tolerance < 0:
        raise LessonError(f"{where}: {text}: expected value and tolerance must be finite")
    return expected, tolerance + 1e-9 * abs(expected), decimals


def fill(narration: str, values: dict[str, str]) -> str:
    """The narration with each placeholder replaced by its shown text (or left as is)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), narration)
