"""No import cycles between hepstack's packages, nor between the modules inside one package.

A cycle means two rooms that cannot be read, tested or moved one without the other. The check reads
every module's imports with :mod:`ast` (top-level and function-level alike: a deferred import is still
a dependency, only a hidden one), folds modules into their top-level unit (``hepstack.batch``,
``hepstack.run.launch``), and looks for strongly connected components. It imports nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "hepstack"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, name: str) -> set[str]:
    """Every ``hepstack.…`` module that ``path`` imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


def module_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in (SRC / PACKAGE).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {m for m in imported_modules(path, name) if m in modules and m != name}
    return graph


def unit_of(module: str, depth: int) -> str:
    return ".".join(module.split(".")[:depth])


def folded(graph: dict[str, set[str]], depth: int, inside: str | None = None) -> dict[str, set[str]]:
    """The graph with every module replaced by its unit ``depth`` names deep (only under ``inside``)."""
    result: dict[str, set[str]] = {}
    for name, targets in graph.items():
        if inside is not None and not name.startswith(inside + "."):
            continue
        source = unit_of(name, depth)
        for target in targets:
            if inside is not None and not target.startswith(inside + "."):
                continue
            target_unit = unit_of(target, depth)
            if target_unit != source and target_unit != PACKAGE:
                result.setdefault(source, set()).add(target_unit)
        result.setdefault(source, set())
    return result


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one member."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def packages() -> Iterable[str]:
    return sorted(module_name(p.parent) for p in (SRC / PACKAGE).glob("*/__init__.py"))


def test_no_cycle_between_top_level_units() -> None:
    assert cycles(folded(module_graph(), depth=2)) == []


@pytest.mark.parametrize("package", list(packages()))
def test_no_cycle_between_a_packages_parts(package: str) -> None:
    depth = package.count(".") + 2
    assert cycles(folded(module_graph(), depth=depth, inside=package)) == []


def test_the_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
