"""The import graph of the cnnviz package, read from the source with `ast` (nothing runs).

Every import counts: module level, inside functions and under TYPE_CHECKING. `from X
import Y` points at the module X.Y when that is a module, else at X.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Import:
    """One import statement: who imports what, on which line, and whether it sits in a body."""

    source: str
    target: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    """`cnnviz/app/shell/main_window.py` → `cnnviz.app.shell.main_window`."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    """Every module of the cnnviz package, by dotted name."""
    return {module_name(p): p for p in sorted((ROOT / "cnnviz").rglob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> list[str]:
    """The cnnviz modules an import statement loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif node.level == 0 and node.module:
        names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                 else node.module for a in node.names]
    else:
        names = []
    return sorted({n for n in names if n.split(".")[0] == "cnnviz"})


def _function_bodies(tree: ast.AST) -> set[int]:
    """ids of import nodes that sit inside a function body."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for child in ast.walk(node):
                if isinstance(child, ast.Import | ast.ImportFrom):
                    inside.add(id(child))
    return inside


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import statement of one module (cnnviz targets only, plus in-function others)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = _function_bodies(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            in_function = id(node) in inside
            targets = _targets(node, modules) or (["<other>"] if in_function else [])
            found += [Import(name, t, node.lineno, in_function) for t in targets]
    return found


def import_graph() -> tuple[dict[str, Path], list[Import]]:
    """All modules and all their imports."""
    modules = all_modules()
    edges = [imp for name, path in modules.items() for imp in imports_of(name, path, modules)]
    return modules, edges


def cycles(nodes: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    graph: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        if a in graph and b in graph:
            graph[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return found
