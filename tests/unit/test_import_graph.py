"""No import cycles inside ``latchwork`` (issue 11, item 2).

A cycle between two modules means neither idea stands alone: each can only be read, tested or
replaced with the other. The graph is built statically, from the source files (``ast``), so
what Python happens to tolerate at run time (an import under ``if TYPE_CHECKING:``, or one
inside a function) still counts: a type-only cycle is still a cycle of concepts.

The graph is shared with the layer test (:mod:`tests.unit.import_graph`). Only the modules
of ``latchwork``'s source roots are nodes; imports of anything else (the standard library,
third parties, the generated ``latchwork.v1`` stubs) are left out, since nothing there
imports back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .import_graph import REPO, SOURCE_ROOTS, cycles_in, import_graph, modules_under, write_tree

ALLOWED_CYCLES: frozenset[frozenset[str]] = frozenset()
"""Cycles known and being removed; each entry names its issue. Keep it empty."""


# --- the checker itself ---------------------------------------------------------------------


def test_the_checker_sees_relative_type_only_and_function_level_imports(tmp_path: Path) -> None:
    write_tree(
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
