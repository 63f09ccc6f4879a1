"""The layers of ``latchwork`` (issue 11, item 5; docs in /work/shared/DESIGN.md, section 1).

Each rule below is a direction of dependency that the design promises and that nothing at run
time would enforce; a failure names the module, the imported name and its line. The graph is
the static one of the cycle test (:mod:`tests.unit.import_graph`): imports under
``if TYPE_CHECKING:`` and inside functions count, since a type-only dependency is still one.

- ``latchwork.server.core`` is the pure domain: the standard library, itself, and
  ``latchwork.common`` (which is held to the same rule, so the core still stands on the
  standard library alone).
- gRPC and protobuf types (``grpc``, ``grpc_*``, ``google.protobuf``, ``google.rpc``, the
  generated ``latchwork.v1``) appear only in the API layer and the process wiring.
- The sandbox never imports the server (and so never the store); the client never imports the
  server (``latchwork serve`` / ``worker`` reach the CLI through an entry point instead).
- The server never imports the worker: ``latchwork.worker`` runs work with the server's
  runner, core types and instance lock, never the other way round; the client and the
  sandbox import neither.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from .import_graph import REPO, SOURCE_ROOTS, Import, imports_of, modules_under, write_tree

Imports = Mapping[str, list[Import]]

CORE = "latchwork.server.core"
COMMON = "latchwork.common"
"""Rules more than one side applies (frame ranges): below the client, sandbox and core."""

GRPC_TOP_LEVEL = "grpc"
GRPC_PREFIXES = ("google.protobuf", "google.rpc", "latchwork.v1")

GRPC_ALLOWED: dict[str, str] = {
    # The API layer: servicers, status mapping, proto <-> core conversion.
    "latchwork.server.api": "the API layer",
    # Process wiring: builds the grpc.aio server, its interceptors, health and reflection.
    "latchwork.server.app": "wiring: starts the gRPC server",
    # The worker (`latchwork worker`) is a gRPC client of the supervisor's Worker service.
    "latchwork.worker": "wiring: a gRPC client process",
    # The client library, qb and the CLI speak the API; gRPC is what they are made of.
    "latchwork.client": "wiring: the gRPC client",
    # The HTTP side is an adapter like the API layer, and a gRPC client of the supervisor
    # (over its private socket): every JSON call goes through the same RPCs and checks, but
    # for the event stream and the overview, which run the API layer's code in process.
    "latchwork.server.http": "the HTTP adapter: a gRPC client of the API layer",
    # KNOWN VIOLATION (issue 11, item 5): TokenInterceptor is a grpc.aio server interceptor,
    # transport glue that belongs in the API layer (latchwork.server.api.auth). Moving it
    # touches server/latchwork/server/api/*, rewritten by another part of issue 11 at the same time;
    # remove this entry with that move.
    "latchwork.server.auth": "known violation, issue 11: move to latchwork.server.api",
}
"""Module (or package prefix) -> why it may import gRPC/protobuf types."""


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def is_stdlib(name: str) -> bool:
    top = name.partition(".")[0]
    return top == "__future__" or top in sys.stdlib_module_names


def is_grpc(name: str) -> bool:
    top = name.partition(".")[0]
    return (
        top == GRPC_TOP_LEVEL
        or top.startswith(GRPC_TOP_LEVEL + "_")
        or any(_under(name, prefix) for prefix in GRPC_PREFIXES)
    )


def _report(found: Iterable[tuple[str, Import]]) -> list[str]:
    return [f"{module} imports {imp.name} ({imp.where()})" for module, imp in found]


def foreign_imports_of_pure(imports: Imports, package: str, may_use: Iterable[str]) -> list[str]:
    """Imports in ``package`` of anything but the standard library, itself and ``may_use``
    (third parties included)."""
    own = (package, *may_use)
    return _report(
        (module, imp)
        for module, found in sorted(imports.items())
        if _under(module, package)
        for imp in found
        if not is_stdlib(imp.name) and not any(_under(imp.name, p) for p in own)
    )


def grpc_outside_wiring(imports: Imports, allowed: Iterable[str]) -> list[str]:
    """gRPC/protobuf imports in modules outside the allowed packages."""
    allowed = tuple(allowed)
    return _report(
        (module, imp)
        for module, found in sorted(imports.items())
        if not any(_under(module, p) for p in allowed)
        for imp in found
        if is_grpc(imp.name)
    )


def imports_across(imports: Imports, importer: str, imported: str) -> list[str]:
    """Imports of ``imported`` (or below) by modules of ``importer``."""
    return _report(
        (module, imp)
        for module, found in sorted(imports.items())
        if _under(module, importer)
        for imp in found
        if _under(imp.name, imported)
    )


def _fail_on(violations: list[str], rule: str) -> None:
    if violations:
        pytest.fail(f"{rule}:\n" + "\n".join("  " + v for v in violations))


@pytest.fixture(scope="module")
def tree() -> Imports:
    return imports_of(modules_under(REPO, SOURCE_ROOTS))


# --- the checker itself ---------------------------------------------------------------------


def test_the_checks_name_each_offending_import(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "server/__init__.py": "",
            "server/core/__init__.py": "",
            "server/core/pure.py": "from __future__ import annotations\nimport re\n"
            "from . import x\nfrom latchwork.common.frames import parse_frame_range\n",
            "server/core/dirty.py": "import re\nimport yaml\n"
            "def f():\n    from latchwork.server import store\n",
            "server/core/typed.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    import grpc\n",
            "server/api/__init__.py": "import grpc\nfrom latchwork.v1 import job_pb2\n",
            "server/store.py": "from google.protobuf import json_format\nimport grpc_status\n",
            "sandbox/__init__.py": "from latchwork.server.core import pure\n",
            "client/__init__.py": "import grpc\nfrom ..server import app\n",
        },
    )
    imports = imports_of(
        modules_under(tmp_path, {"server": "server", "sandbox": "sandbox", "client": "client"})
    )
    assert foreign_imports_of_pure(imports, CORE, [COMMON]) == [
        f"latchwork.server.core.dirty imports yaml ({tmp_path}/server/core/dirty.py:2)",
        "latchwork.server.core.dirty imports latchwork.server.store "
        f"({tmp_path}/server/core/dirty.py:4)",
        f"latchwork.server.core.typed imports grpc ({tmp_path}/server/core/typed.py:3)",
    ]
    assert grpc_outside_wiring(imports, ["latchwork.server.api", "latchwork.client"]) == [
        f"latchwork.server.core.typed imports grpc ({tmp_path}/server/core/typed.py:3)",
        "latchwork.server.store imports google.protobuf.json_format "
        f"({tmp_path}/server/store.py:1)",
        f"latchwork.server.store imports grpc_status ({tmp_path}/server/store.py:2)",
    ]
    assert imports_across(imports, "latchwork.sandbox", "latchwork.server") == [
        f"latchwork.sandbox imports latchwork.server.core.pure ({tmp_path}/sandbox/__init__.py:1)",
    ]
    assert imports_across(imports, "latchwork.client", "latchwork.server") == [
        f"latchwork.client imports latchwork.server.app ({tmp_path}/client/__init__.py:2)",
    ]


def test_grpc_names() -> None:
    for name in (
        "grpc",
        "grpc.aio",
        "grpc_status.rpc_status",
        "grpc_health.v1",
        "google.rpc",
        "google.protobuf.json_format",
        "latchwork.v1.job_pb2",
    ):
        assert is_grpc(name), name
    for name in ("grpcx", "google", "google.cloud", "latchwork.v10", "latchwork.client"):
        assert not is_grpc(name), name


def test_the_checks_read_the_real_tree(tree: Imports) -> None:
    """A mapping gone wrong (files moved, say) would find nothing, and so no violation."""
    assert any(imp.name.startswith("grpc") for imp in tree["latchwork.server.app"])
    assert any(
        imp.name.startswith("latchwork.server.core")
        for imp in tree["latchwork.server.core.submission"]
    )
    assert "latchwork.common.frames" in tree
    for package in GRPC_ALLOWED:
        assert any(_under(module, package) for module in tree), f"{package}: no such module"


# --- the rules ------------------------------------------------------------------------------


def test_core_imports_the_standard_library_and_itself_only(tree: Imports) -> None:
    _fail_on(
        foreign_imports_of_pure(tree, CORE, [COMMON]),
        f"{CORE} may import the standard library, itself and {COMMON} only",
    )


def test_common_imports_the_standard_library_and_itself_only(tree: Imports) -> None:
    _fail_on(
        foreign_imports_of_pure(tree, COMMON, []),
        f"{COMMON} (shared by client, sandbox and core) may import the standard library only",
    )


def test_grpc_types_only_in_the_api_layer_and_the_wiring(tree: Imports) -> None:
    _fail_on(
        grpc_outside_wiring(tree, GRPC_ALLOWED),
        "gRPC/protobuf types outside the API layer and the process wiring (convert at the "
        "edge, in latchwork.server.api)",
    )


def test_the_sandbox_never_imports_the_server(tree: Imports) -> None:
    _fail_on(
        imports_across(tree, "latchwork.sandbox", "latchwork.server"),
        "the sandbox imports the server (or its store)",
    )


def test_the_client_never_imports_the_server(tree: Imports) -> None:
    _fail_on(
        imports_across(tree, "latchwork.client", "latchwork.server"),
        "the client imports the server (shared rules go to latchwork.common; subcommands "
        "the server contributes go through the latchwork.commands entry points)",
    )


def test_the_server_never_imports_the_worker(tree: Imports) -> None:
    _fail_on(
        imports_across(tree, "latchwork.server", "latchwork.worker"),
        "the server imports the worker (the worker is a client of the server's Worker service: "
        "what both need stays in latchwork.server, or goes to latchwork.common)",
    )


def test_the_client_and_the_sandbox_never_import_the_worker(tree: Imports) -> None:
    _fail_on(
        imports_across(tree, "latchwork.client", "latchwork.worker")
        + imports_across(tree, "latchwork.sandbox", "latchwork.worker"),
        "the client or the sandbox imports the worker (`latchwork worker` reaches the CLI "
        "through the latchwork.commands entry points)",
    )


def test_the_frame_limit_of_the_shared_parser_is_the_supervisors_default() -> None:
    """``latchwork.common.frames`` cannot import the core's limits, so it states the
    default again; ``qb.genframes`` and Submit must refuse the same ranges."""
    from latchwork.common import frames
    from latchwork.server.core.limits import DEFAULT_LIMITS

    assert DEFAULT_LIMITS.work_items_per_job == frames.MAX_FRAMES
