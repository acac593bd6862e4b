"""The layering rules of DESIGN.md, checked: the core, engine and data never import Qt."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

from import_graph import cycles, import_graph

ROOT = Path(__file__).resolve().parents[1]
QT_FREE = ["cnnviz.core", "cnnviz.engine", "cnnviz.data"]


def _modules_under(package: str) -> list[str]:
    folder = ROOT / package.replace(".", "/")
    names = []
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def test_core_engine_data_never_import_qt():
    """Import every module of the Qt-free packages in a fresh interpreter; no Qt may load."""
    modules = [m for package in QT_FREE for m in _modules_under(package)]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'PyQt5', 'PyQt6', 'PySide2', 'pyqtgraph', 'shiboken6'))\n"
        "print(' '.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"Qt imported by the core: {result.stdout}"


def test_no_qt_in_source_of_qt_free_packages():
    """A static check too, so that a lazy import inside a function is caught."""
    offenders = []
    for package in QT_FREE:
        for path in (ROOT / package.replace(".", "/")).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for word in ("PySide6", "PyQt", "pyqtgraph", "shiboken"):
                if word in text:
                    offenders.append(f"{path.relative_to(ROOT)} mentions {word}")
    assert offenders == []


def test_every_subpackage_is_installed():
    """pyproject.toml lists packages explicitly; a new sub-package must be added there."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "cnnviz").rglob("__init__.py")
    }
    assert on_disk - listed == set(), f"add these to pyproject.toml: {sorted(on_disk - listed)}"


# ----- contracts between the packages and between the rooms of the app ----------------------

APP_FEATURES = ["debugger", "editor", "input", "training", "lessons"]
APP_ROOMS = ["shell", "controller", *APP_FEATURES, "widgets"]
# What each room of cnnviz.app may import from the app, besides itself (docs/architecture.md).
APP_ALLOWED = {
    "shell": set(APP_ROOMS) | {"<app>"},
    "debugger": {"controller", "widgets", "<app>"},
    "editor": {"controller", "widgets", "<app>"},
    "input": {"controller", "widgets", "<app>"},
    "training": {"controller", "widgets", "<app>"},
    "lessons": {"controller", "widgets", "<app>"},
    "controller": {"<app>"},
    "widgets": {"<app>"},
    "<app>": {"shell"},  # cnnviz.app.MainWindow, imported on first use
}
# Modules that may import inside a function, each with a comment saying why (start-up
# time, or an optional dependency): the CLI loads only what its command needs.
LAZY_IMPORTS_ALLOWED = ("cnnviz.commands.", "cnnviz.cli", "cnnviz.app.shell.launch",
                        "cnnviz.app", "cnnviz.benchmark")
LAZY_REASONS = ("start-up", "optional")


def _layer(module: str) -> str:
    """core, data, engine, app, commands … of a module name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "cnnviz"


def _room(module: str) -> str | None:
    """The room of cnnviz.app a module lives in ('<app>' for the app package itself)."""
    parts = module.split(".")
    if parts[:2] != ["cnnviz", "app"]:
        return None
    return parts[2] if len(parts) > 3 or (len(parts) == 3 and parts[2] in APP_ROOMS) else "<app>"


def test_every_app_module_lives_in_a_room():
    """cnnviz/app holds only its __init__ and the Qt workaround besides the rooms."""
    loose = sorted(p.name for p in (ROOT / "cnnviz" / "app").glob("*.py"))
    assert loose == ["__init__.py", "qt_compat.py"]
    rooms = sorted(p.name for p in (ROOT / "cnnviz" / "app").iterdir()
                   if p.is_dir() and (p / "__init__.py").exists())
    assert rooms == sorted(APP_ROOMS)


def test_every_room_says_what_it_holds_and_may_use():
    """Each room's __init__ has a docstring that names what it may use."""
    for room in APP_ROOMS:
        text = (ROOT / "cnnviz" / "app" / room / "__init__.py").read_text(encoding="utf-8")
        assert text.startswith('"""') and "may" in text.split('"""')[1], room


def test_core_and_data_import_nothing_of_engine_or_app_and_engine_nothing_of_app():
    """Data flows data → core → engine → app; no import points back up."""
    _, edges = import_graph()
    forbidden = {"core": {"engine", "app", "commands"}, "data": {"engine", "app", "commands"},
                 "engine": {"app", "commands"}}
    bad = [f"{e.source}:{e.line} imports {e.target}" for e in edges
           if e.target != "<other>" and _layer(e.target) in forbidden.get(_layer(e.source), ())]
    assert bad == []


def test_app_rooms_import_each_other_only_through_the_shell_and_the_controller():
    """A feature room (debugger, editor, input, training) never imports another one."""
    _, edges = import_graph()
    bad = []
    for e in edges:
        source, target = _room(e.source), _room(e.target)
        if source and target and target != source and target not in APP_ALLOWED[source]:
            bad.append(f"{e.source}:{e.line} ({source}) imports {e.target} ({target})")
    assert bad == []


def test_no_import_cycles_anywhere_in_cnnviz():
    """Module-level, in-function and TYPE_CHECKING imports together form no cycle."""
    modules, edges = import_graph()
    found = cycles(list(modules), [(e.source, e.target) for e in edges])
    assert found == []


def test_the_cycle_finder_finds_a_cycle():
    """The check above could fail: a two-module loop is reported."""
    assert cycles(["a", "b", "c"], [("a", "b"), ("b", "a"), ("b", "c")]) == [["a", "b"]]


def _comment_above(lines: list[str], index: int) -> str:
    """The import line and the line above its run of consecutive import lines (lowercase)."""
    start = index
    while start > 0 and lines[start - 1].strip().startswith(("from ", "import ")):
        start -= 1
    return " ".join(lines[max(0, start - 1): index + 1]).lower()


def test_in_function_imports_only_where_they_cut_start_up_time():
    """Imports inside functions only in the CLI, the launcher and the lazy MainWindow, each
    with a comment on its line or just above that says why."""
    modules, edges = import_graph()
    bad = []
    for e in {(e.source, e.line): e for e in edges if e.in_function}.values():
        allowed = e.source.startswith(LAZY_IMPORTS_ALLOWED[0]) or e.source in LAZY_IMPORTS_ALLOWED
        lines = modules[e.source].read_text(encoding="utf-8").splitlines()
        context = _comment_above(lines, e.line - 1)
        if not allowed:
            bad.append(f"{e.source}:{e.line} imports inside a function")
        elif not any(reason in context for reason in LAZY_REASONS):
            bad.append(f"{e.source}:{e.line} needs a comment saying why it is lazy")
    assert bad == []


# ----- no mixins in the app ------------------------------------------------------------------

# Classes of cnnviz.app that may list more than one base class, each with its reason. The rule
# (issue 15): no mixins: a class composes small collaborators that it owns and calls.
MULTIPLE_BASES_ALLOWED: set[str] = set()  # none: the last one (LayerEditor) builds its
# widgets with editor_widgets.build_widgets(editor) now


def _classes_with_bases(source: str, module: str) -> dict[str, int]:
    """Every class a module defines (nested ones too), `module.Class`: its number of bases
    (keywords such as metaclass= are not bases)."""
    return {f"{module}.{node.name}": len(node.bases) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.ClassDef)}


def _app_classes() -> dict[str, int]:
    """The classes of every module of cnnviz.app, with their number of bases."""
    found = {}
    for module, path in import_graph()[0].items():
        if module.startswith("cnnviz.app"):
            found |= _classes_with_bases(path.read_text(encoding="utf-8"), module)
    return found


def test_no_class_in_the_app_lists_more_than_one_base():
    """No mixins: a class of cnnviz.app has at most one base class; the controller and the
    window own their collaborators (stepping, selection, sessions, docks, menus …)."""
    bases = _app_classes()
    bad = sorted(f"{name} has {n} bases" for name, n in bases.items()
                 if n > 1 and name not in MULTIPLE_BASES_ALLOWED)
    assert bad == []
    stale = sorted(name for name in MULTIPLE_BASES_ALLOWED if bases.get(name, 0) < 2)
    assert stale == [], "these exceptions are no longer needed: remove them"


def test_the_mixin_check_finds_a_mixin():
    """The check above could fail: a window that mixes in its menus is reported."""
    source = "class MainWindow(WindowMenus, QMainWindow):\n    class Inner(A, B): pass\n"
    found = _classes_with_bases(source, "m")
    assert found == {"m.MainWindow": 2, "m.Inner": 2}
    assert _classes_with_bases("class C(QObject, metaclass=Meta): pass", "m") == {"m.C": 1}
