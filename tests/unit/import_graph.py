"""The static import graph of ``latchwork``, shared by the cycle and the layer tests.

The graph is built from the source files (``ast``), so what Python happens to tolerate at run
time (an import under ``if TYPE_CHECKING:``, or one inside a function) still counts: a
type-only dependency is still a dependency of concepts.

Module names follow directories: ``server/latchwork/server/app.py`` is
``latchwork.server.app`` (:data:`SOURCE_ROOTS`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "latchwork"
PATH_ROOTS = ("server", "sandbox", "clients/python", "common")
"""The folders whose ``latchwork/`` holds portions of the ``latchwork`` namespace package
(pyproject.toml's ``packages.find`` and mypy's ``mypy_path``, less the generated build/gen)."""


def portions(repo: Path, path_roots: Iterable[str] = PATH_ROOTS) -> dict[str, str]:
    """``latchwork.<name>`` -> its directory, for each regular package directly below a root's
    ``latchwork/`` folder."""
    return {
        init.parent.name: init.parent.relative_to(repo).as_posix()
        for root in path_roots
        for init in sorted((repo / root / NAMESPACE).glob("*/__init__.py"))
    }


SOURCE_ROOTS: dict[str, str] = portions(REPO)
"""``latchwork.<name>`` -> directory: ``server`` -> ``server/latchwork/server``, ``worker`` ->
``server/latchwork/worker``, ``client`` -> ``clients/python/latchwork/client``, ..."""

Graph = dict[str, set[str]]


@dataclass(frozen=True, order=True)
class Import:
    """One name an import statement brings in, absolute, and where: enough to name the
    offending line in a failure."""

    name: str
    """``X.a`` for ``from X import a`` (``a`` may be a submodule of X or a name in X)."""
    path: Path
    line: int

    def where(self) -> str:
        path = self.path.relative_to(REPO) if self.path.is_relative_to(REPO) else self.path
        return f"{path}:{self.line}"


def modules_under(repo: Path, roots: Mapping[str, str]) -> dict[str, Path]:
    """Module name -> file, for every regular package below each root (a directory
    without ``__init__.py`` is not a package and is not descended into)."""
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


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """What each import statement anywhere in ``tree`` names, absolute, with its line."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                yield (base if alias.name == "*" else f"{base}.{alias.name}"), node.lineno


def imports_of(modules: Mapping[str, Path]) -> dict[str, list[Import]]:
    """Module -> every name its import statements bring in (standard library, third parties
    and generated stubs included), sorted by line."""
    found: dict[str, list[Import]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found[module] = sorted(
            {
                Import(name, path, line)
                for name, line in _imported(tree, module, path.name == "__init__.py")
            },
            key=lambda imp: (imp.line, imp.name),
        )
    return found


def import_graph(modules: Mapping[str, Path]) -> Graph:
    """Module -> the ``latchwork`` modules (of ``modules``) it imports: for each import, the
    deepest module it names (``from . import c`` depends on the submodule c, not on the
    package's ``__init__``, which Python runs first but which is a dependency only when
    imported for itself). Imports of anything else are left out."""
    graph: Graph = {}
    for module, imports in imports_of(modules).items():
        targets: set[str] = set()
        for imp in imports:
            name = imp.name
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


def write_tree(root: Path, files: Mapping[str, str]) -> None:
    """Source files for a checker's own test: relative name -> text."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
