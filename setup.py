"""Package layout glue for setuptools (all metadata lives in pyproject.toml).

The import names do not follow the directory layout, so the ``packages`` list and the
``package_dir`` mapping are computed here by walking the source trees:

    latchwork.server   -> server/
    latchwork.sandbox  -> sandbox/
    latchwork.client   -> clients/python/
    latchwork.common   -> common/              (what client, sandbox and server core share)
    latchwork.<pkg>    -> build/gen/latchwork/<pkg>/   (one per directory under protos/latchwork/)

Every package gets a ``py.typed`` marker in built wheels (added by ``build_py`` below, so the
source trees need not carry one; a ``py.typed`` file placed in a source dir is shipped too).

``latchwork`` itself is a PEP 420 namespace package (no ``__init__.py`` anywhere).  Every
directory below a root that contains an ``__init__.py`` becomes a subpackage automatically,
so adding e.g. ``server/core/__init__.py`` needs no edit here or in pyproject.toml (the
editable install resolves new subpackages through the parent package's ``__path__``; a
reinstall is only needed for new *top-level* roots or new proto package directories).

Generated protobuf packages live under build/gen (never committed).  They are produced by
``tools/gen_stubs.py`` (``make stubs``); this file only makes sure the package directories
exist so that an editable install can map them before the stubs are generated.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
NAMESPACE = "latchwork"
SOURCE_ROOTS: dict[str, str] = {
    "server": "server",
    "sandbox": "sandbox",
    "client": "clients/python",
    "common": "common",
}
PROTO_ROOT = Path("protos") / NAMESPACE
GEN_ROOT = Path("build") / "gen" / NAMESPACE


def _proto_packages() -> dict[str, str]:
    """Map each directory holding .proto files under protos/latchwork to its generated dir."""
    roots: dict[str, str] = {}
    proto_root = HERE / PROTO_ROOT
    if not proto_root.is_dir():
        return roots
    for proto in sorted(proto_root.rglob("*.proto")):
        rel = proto.parent.relative_to(proto_root)
        if rel.parts:
            roots[".".join(rel.parts)] = (GEN_ROOT / rel).as_posix()
    # Only the top-most directories are roots; nested ones are found by the walk below.
    return {
        name: path
        for name, path in roots.items()
        if not any(name.startswith(other + ".") for other in roots)
    }


def _ensure_generated_dirs(gen_roots: dict[str, str]) -> None:
    """Create the generated package directories (empty until ``make stubs``)."""
    for path in gen_roots.values():
        pkg_dir = HERE / path
        pkg_dir.mkdir(parents=True, exist_ok=True)
        for marker in ("__init__.py", "py.typed"):
            (pkg_dir / marker).touch(exist_ok=True)


def _walk(roots: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for short, rel_root in sorted(roots.items()):
        root = HERE / rel_root
        if not (root / "__init__.py").is_file():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            if "__init__.py" not in filenames:
                dirnames[:] = []  # not a regular package: do not descend
                continue
            dirnames[:] = sorted(
                d for d in dirnames if d != "__pycache__" and not d.startswith(".")
            )
            rel = here.relative_to(root)
            name = ".".join((NAMESPACE, short, *rel.parts))
            packages.append(name)
            package_dir[name] = (Path(rel_root) / rel).as_posix()
    return packages, package_dir


class BuildPyTyped(build_py):
    """build_py that adds a PEP 561 ``py.typed`` marker to every package it builds."""

    def run(self) -> None:
        super().run()
        for package in self.packages or ():
            marker = Path(self.build_lib, *package.split("."), "py.typed")
            if marker.parent.is_dir() and not marker.exists():
                marker.touch()
                self.outputs_extra.append(str(marker))

    def initialize_options(self) -> None:
        super().initialize_options()
        self.outputs_extra: list[str] = []

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), *self.outputs_extra]


gen_roots = _proto_packages()
_ensure_generated_dirs(gen_roots)
packages, package_dir = _walk({**SOURCE_ROOTS, **gen_roots})

setup(packages=packages, package_dir=package_dir, cmdclass={"build_py": BuildPyTyped})
