"""No import cycles inside ``latchwork`` (issue 11, item 2).

A cycle between two modules means neither idea stands alone: each can only be read, tested or
replaced with the other. The graph is built statically, from the source files (``ast``), so
what Python happens to tolerate at run time (an import under ``if TYPE_CHECKING:``, or one
inside a function) still counts: a type-only cycle is still a cycle of concepts.

Files map to module names as ``setup.py`` maps them (:data:`SOURCE_ROOTS`). Only the modules
of these roots are nodes; imports of anything else (the standard library, third parties, the
generated ``latchwork.v1`` stubs) are left out, since nothing there imports back.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "latchwork"
SOURCE_ROOTS: dict[str, str] = {
    "server": "server",
    "sandbox": "sandbox",
    "client": "clients/python",
}
"""``latchwork.<name>`` -> directory, as in ``setup.py`` (update both together)."""

ALLOWED_CYCLES: frozenset[frozenset[str]] = frozenset()
"""Cycles known and being removed; each entry names its issue. Keep it empty."""

Graph = dict[str, set[str]]


def modules_under(repo: Path, roots: Mapping[str, str]) -> dict[str, Path]:
    """Module name -> file, for every regular package below each root (as setup.py walks:
    a directory without ``__init__.py`` is not a package and is not descended into)."""
    found: dict[str, Path] = {}
    for short, rel_root in roots.items():
        root = repo / rel_root
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root)
            dirs = [root.joinpath(*rel.parts[:i]) for i in range(len(rel.parts))]
            if not all((d / "__init__.py").is_file() for d in dirs) or "__pycache__" in rel.parts:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join((NAMESPACE, short, *parts))] = path
    return found


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """What each import statement anywhere in ``tree`` names, absolute: ``X.a`` for
    ``from X import a`` (``a`` may be a submodule of X or a name defined in X)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                yield base if alias.name == "*" else f"{base}.{alias.name}"


def import_graph(modules: Mapping[str, Path]) -> Graph:
    """Module -> the ``latchwork`` modules it imports: for each import, the deepest module it
    names (``from . import c`` depends on the submodule c, not on the package's
    ``__init__``, which Python runs first but which is a dependency only when imported for
    itself)."""
    graph: Graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for name in _imported(tree, module, path.name == "__init__.py"):
            # `from X import a`: the submodule X.a when there is one, else X itself.
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        # Iterative, so a deep import chain cannot hit the recursion limit.
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
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
    return sorted(found)


def a_cycle(graph: Mapping[str, Iterable[str]], component: list[str]) -> list[str]:
    """One shortest cycle through the component's first module, to name in a failure:
    ``[a, b, c, a]``."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt_frontier: list[str] = []
        for node in frontier:
            for nxt in sorted(graph.get(node, ())):
                if nxt not in members:
                    continue
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if nxt not in came_from:
                    came_from[nxt] = node
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    raise AssertionError(f"no cycle through {start}")  # not a strongly connected component


def cycles_in(
    graph: Mapping[str, Iterable[str]], allowed: frozenset[frozenset[str]] = frozenset()
) -> list[list[str]]:
    """One cycle named for each group of modules that import each other, but the allowed."""
    return [
        a_cycle(graph, component)
        for component in strongly_connected(graph)
        if frozenset(component) not in allowed
    ]


# --- the checker itself ---------------------------------------------------------------------


def _write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_sees_relative_type_only_and_function_level_imports(tmp_path: Path) -> None:
    _write(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n",
            "b.py": "from . import c\n",
            "c.py": "def f():\n    from latchwork.server.a import A\n",
            "sub/__init__.py": "",
            "sub/d.py": "from ..a import x\nimport latchwork.server.sub\n",
            "loose/e.py": "from ..a import x\n",  # not a package: not a module either
        },
    )
    modules = modules_under(tmp_path, {"server": "pkg"})
    assert sorted(modules) == [
        "latchwork.server",
        "latchwork.server.a",
        "latchwork.server.b",
        "latchwork.server.c",
        "latchwork.server.sub",
        "latchwork.server.sub.d",
    ]
    graph = import_graph(modules)
    assert graph["latchwork.server.sub.d"] == {"latchwork.server.a", "latchwork.server.sub"}
    assert graph["latchwork.server.b"] == {"latchwork.server.c"}
    assert cycles_in(graph) == [
        ["latchwork.server.a", "latchwork.server.b", "latchwork.server.c", "latchwork.server.a"]
    ]


def test_the_checker_reads_the_real_tree() -> None:
    """A mapping gone wrong (files moved, say) would find no modules and so no cycle."""
    graph = import_graph(modules_under(REPO, SOURCE_ROOTS))
    assert "latchwork.server.supervisor" in graph["latchwork.server.app"]
    assert "latchwork.sandbox.actions" in graph["latchwork.server.callrunner"]
    assert "latchwork.client.errors" in graph["latchwork.client"]


# --- the rule -------------------------------------------------------------------------------


def test_no_import_cycle_inside_latchwork() -> None:
    cycles = cycles_in(import_graph(modules_under(REPO, SOURCE_ROOTS)), ALLOWED_CYCLES)
    if cycles:
        pytest.fail(
            "import cycles inside latchwork (give one side a narrow Protocol, or move what both "
            "need to a module both may import):\n"
            + "\n".join("  " + " -> ".join(cycle) for cycle in cycles)
        )
