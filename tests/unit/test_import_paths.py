"""Import path = directory (issue 11, item 6).

``latchwork`` is one PEP 420 namespace package whose portions live in the top-level folders:
``server/latchwork/server/``, ``server/latchwork/worker/``, ``sandbox/latchwork/sandbox/``,
``clients/python/latchwork/client/``, ``common/latchwork/common/`` and the generated
``build/gen/latchwork/v1/``. Python (through the editable install), mypy (``mypy_path``), ruff,
editors and the import-graph tests all read these real paths. A module whose name and file
disagree, or a root that one of the lists forgets, fails here.
"""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from typing import Any

import pytest

from .import_graph import NAMESPACE, PATH_ROOTS, REPO, SOURCE_ROOTS, modules_under

GENERATED_ROOT = "build/gen"
"""Where ``make stubs`` writes ``latchwork.v1`` (never committed)."""


def _pyproject() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def test_latchwork_is_a_namespace_package() -> None:
    """No ``latchwork/__init__.py`` in any root: each holds a portion, none owns the name."""
    for root in (*PATH_ROOTS, GENERATED_ROOT):
        assert not (REPO / root / NAMESPACE / "__init__.py").exists(), root


def test_packaging_mypy_and_editors_read_the_same_roots() -> None:
    config = _pyproject()
    where = config["tool"]["setuptools"]["packages"]["find"]["where"]
    assert where == [*PATH_ROOTS, GENERATED_ROOT]
    assert config["tool"]["mypy"]["mypy_path"] == where
    assert config["tool"]["pyright"]["extraPaths"] == where


def test_the_portions_are_the_known_packages() -> None:
    assert sorted(SOURCE_ROOTS) == ["client", "common", "sandbox", "server", "worker"]


@pytest.mark.parametrize("name", sorted(SOURCE_ROOTS))
def test_every_module_is_imported_from_the_file_its_name_points_to(name: str) -> None:
    modules = modules_under(REPO, {name: SOURCE_ROOTS[name]})
    assert modules
    for module, path in modules.items():
        spec = importlib.util.find_spec(module)
        assert spec is not None, module
        assert spec.origin is not None and Path(spec.origin).resolve() == path.resolve(), module


def test_the_generated_stubs_are_imported_from_build_gen() -> None:
    spec = importlib.util.find_spec(f"{NAMESPACE}.v1")
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).resolve() == REPO / GENERATED_ROOT / NAMESPACE / "v1" / "__init__.py"
