"""The layering rules of DESIGN.md, checked: the core, engine and data never import Qt."""

import subprocess
import sys
import tomllib
from pathlib import Path

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
