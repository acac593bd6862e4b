"""`cnnviz lesson`: list the lessons, check one headless, export it as slides, or open it.

`--check` runs every step on the controller alone (no widgets) and prints one line per
problem: an action that failed, or a number in the narration the app disagrees with.
`--export DIR` renders the window at 1920×1080 with the lesson dock, one PNG per step.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

SLIDE_SIZE = (1920, 1080)


def register(subparsers: Any) -> None:
    """Add the `lesson` sub-command."""
    p = subparsers.add_parser(
        "lesson", help="list, check, export or open a lesson",
        description="Lessons walk through backprop step by step, driving the window. With a "
        "NAME and no option the window opens on that lesson.")
    p.add_argument("name", nargs="?", help="a lesson name (see --list) or a lesson .json file")
    p.add_argument("--list", action="store_true", help="list the bundled lessons")
    p.add_argument("--json", action="store_true", help="with --list: print JSON")
    p.add_argument("--check", action="store_true",
                   help="run every step headless; exit 1 with one line per problem")
    p.add_argument("--export", metavar="DIR", help="write one 1920×1080 PNG per step to DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to list, check, export or open."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.engine.lessons import LessonError, load_lesson

    if args.list:
        return list_lessons(args.json)
    if not args.name:
        raise UserError("name a lesson (see cnnviz lesson --list)")
    try:
        lesson = load_lesson(args.name)
    except LessonError as error:
        raise UserError(str(error)) from None
    if args.check:
        return check(lesson)
    if args.export:
        return export(lesson, args.export)
    return open_window(lesson)


def list_lessons(as_json: bool) -> int:
    """One line per lesson (or a JSON list): name, steps, minutes, title."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.engine.lessons import LessonError, lesson_paths, load_lesson

    rows = []
    for path in lesson_paths():
        try:
            lesson = load_lesson(path)
        except LessonError as error:
            print(f"cnnviz lesson: {error}", file=sys.stderr)
            continue
        rows.append({"name": lesson.name, "title": lesson.title, "steps": len(lesson.steps),
                     "minutes": lesson.minutes, "summary": lesson.summary})
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    for row in [] if as_json else rows:
        print(f"{row['name']:<18} {row['steps']:>2} steps  ~{row['minutes']} min  {row['title']}")
    return 0


def check(lesson: Any) -> int:
    """Run the lesson headless; 0 if every action worked and every number agrees."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.app.lessons.runner import check_lesson

    problems = check_lesson(lesson)
    for problem in problems:
        print(problem)
    n = len(lesson.steps)
    verdict = "ok" if not problems else f"{len(problems)} problem(s)"
    print(f"lesson {lesson.name}: {n} steps, {verdict}", file=sys.stderr)
    return 0 if not problems else 1


def export(lesson: Any, folder: str) -> int:
    """One 1920×1080 PNG per step: the window with the lesson dock, offscreen."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from pathlib import Path

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # lazy import: Qt only for the commands that draw (start-up time)
    from cnnviz.app.shell.lesson_slides import export_slides

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files, problems = export_slides(lesson, out, SLIDE_SIZE)
    for problem in problems:
        print(problem)
    print(f"wrote {len(files)} slides to {out}", file=sys.stderr)
    return 0 if not problems else 1


def open_window(lesson: Any) -> int:
    """The window on the lesson, at the step where it was left."""
    # lazy import: Qt only for the commands that draw (start-up time)
    from cnnviz.app.shell.launch import make_application
    from cnnviz.app.shell.main_window import MainWindow

    app = make_application([sys.argv[0]])
    window = MainWindow()
    window.show()
    window.open_lesson(lesson.path)
    return int(app.exec())
