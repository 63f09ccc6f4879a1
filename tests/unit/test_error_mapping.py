"""One error tree, one mapping to gRPC status, applied in one place.

Every kind of ``SupervisorError`` (including the names the core and the supervisor raise,
``SubmissionRejected`` and ``RequestConflict``, and the storage errors) is raised by a handler
of a real in-process grpc.aio server behind the interceptor app.py installs, and must arrive as
the status docs/errors.md documents, with its bounded message. A scan of the servicers keeps
them from translating errors again: they raise, the interceptor answers.
"""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from latchwork.server.api.errors import MESSAGE_BUDGET, STATUS_OF, wire_length
from latchwork.server.core.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldError,
    InvalidRequest,
    NotFound,
    OutOfRange,
    PermissionDenied,
    SupervisorError,
)
from latchwork.server.core.submission import SubmissionRejected
from latchwork.server.store.errors import (
    Deposed,
    StorageCorrupt,
    StorageError,
    StorageFull,
    StorageUnavailable,
)
from latchwork.server.supervisor import RequestConflict

from .intercepted import intercepted_server, refused

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "test.Mapped"
FIELDS = [FieldError("jobs[0].label", "already used"), FieldError("pgrp", "must be 0 or more")]

# What docs/errors.md promises for each kind, and an instance to raise.
EXPECTED: dict[type[SupervisorError], tuple[grpc.StatusCode, SupervisorError]] = {
    InvalidRequest: (grpc.StatusCode.INVALID_ARGUMENT, InvalidRequest(FIELDS)),
    SubmissionRejected: (grpc.StatusCode.INVALID_ARGUMENT, SubmissionRejected(FIELDS)),
    NotFound: (grpc.StatusCode.NOT_FOUND, NotFound("job 7 does not exist")),
    AlreadyExists: (grpc.StatusCode.ALREADY_EXISTS, AlreadyExists("request id 'r' is taken")),
    RequestConflict: (grpc.StatusCode.ALREADY_EXISTS, RequestConflict("request id 'r' is taken")),
    PermissionDenied: (
        grpc.StatusCode.PERMISSION_DENIED,
        PermissionDenied("job 7 belongs to 'ann'; 'bob' is not an admin"),
    ),
    OutOfRange: (grpc.StatusCode.OUT_OF_RANGE, OutOfRange("after_seq 9 is beyond the head 3")),
    FailedPrecondition: (
        grpc.StatusCode.FAILED_PRECONDITION,
        FailedPrecondition("worker 'w1' is not registered (or was lost): register again"),
    ),
    StorageError: (grpc.StatusCode.UNAVAILABLE, StorageError("disk I/O error (SQLITE_IOERR)")),
    StorageUnavailable: (grpc.StatusCode.UNAVAILABLE, StorageUnavailable("locked")),
    StorageCorrupt: (grpc.StatusCode.UNAVAILABLE, StorageCorrupt("malformed")),
    Deposed: (grpc.StatusCode.UNAVAILABLE, Deposed("epoch 1 no longer leads")),
    StorageFull: (grpc.StatusCode.RESOURCE_EXHAUSTED, StorageFull("database or disk is full")),
}


def _kinds(base: type[SupervisorError]) -> Iterator[type[SupervisorError]]:
    for kind in base.__subclasses__():
        yield kind
        yield from _kinds(kind)


def _expected_message(error: SupervisorError) -> str:
    if isinstance(error, StorageError):
        return error.public_message
    return str(error)


def _raising(error: Exception) -> Callable[[bytes, Any], Any]:
    async def handler(request: bytes, context: Any) -> bytes:
        raise error

    return handler


def _streaming(error: Exception) -> Callable[[bytes, Any], AsyncIterator[bytes]]:
    async def handler(request: bytes, context: Any) -> AsyncIterator[bytes]:
        yield b"first"
        raise error

    return handler


HANDLERS: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
    kind.__name__: grpc.unary_unary_rpc_method_handler(_raising(error))
    for kind, (_, error) in EXPECTED.items()
}
HANDLERS["LongNotFound"] = grpc.unary_unary_rpc_method_handler(
    _raising(NotFound("job 'x" + "\u2028" * 5000 + "' does not exist"))
)
HANDLERS["StreamOutOfRange"] = grpc.unary_stream_rpc_method_handler(
    _streaming(OutOfRange("events after seq 4 are no longer retained; the oldest is 9"))
)


@pytest.fixture
async def address() -> AsyncIterator[str]:
    async with intercepted_server(SERVICE, HANDLERS) as served:
        yield served


async def _call(address: str, method: str) -> grpc.aio.AioRpcError:
    return await refused(address, SERVICE, method)


def test_every_kind_has_a_documented_status() -> None:
    """A new kind must be added here, to STATUS_OF's reach and to docs/errors.md."""
    assert set(_kinds(SupervisorError)) <= set(EXPECTED), "a kind without an expected status"
    assert set(STATUS_OF) <= set(EXPECTED)
    table = (ROOT / "docs" / "errors.md").read_text().split("## Invalid requests")[0]
    for code, _ in EXPECTED.values():
        assert f"| `{code.name}` |" in table, code.name


@pytest.mark.parametrize("kind", list(EXPECTED), ids=lambda kind: kind.__name__)
async def test_each_kind_arrives_as_its_status(address: str, kind: type[SupervisorError]) -> None:
    code, error = EXPECTED[kind]
    received = await _call(address, kind.__name__)
    assert received.code() == code
    assert received.details() == _expected_message(error)


@pytest.mark.parametrize("kind", [InvalidRequest, SubmissionRejected])
async def test_invalid_requests_carry_their_field_violations(
    address: str, kind: type[SupervisorError]
) -> None:
    received = await _call(address, kind.__name__)
    raw = dict(received.trailing_metadata() or ())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(raw)
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        (e.path, e.message) for e in FIELDS
    ]
    assert received.details() == "jobs[0].label: already used; pgrp: must be 0 or more"


async def test_messages_are_bounded_like_aborts(address: str) -> None:
    received = await _call(address, "LongNotFound")
    assert received.code() == grpc.StatusCode.NOT_FOUND
    details = received.details() or ""
    assert details.startswith("job 'x") and details.endswith("does not exist")
    assert wire_length(details) <= MESSAGE_BUDGET


async def test_a_stream_ends_with_the_mapped_status_after_what_it_sent(address: str) -> None:
    received: list[bytes] = []
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            call: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(
                f"/{SERVICE}/StreamOutOfRange"
            )
            async for item in call(b""):
                received.append(item)
    assert received == [b"first"]
    assert caught.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert caught.value.details() == "events after seq 4 are no longer retained; the oldest is 9"


# --- the servicers raise; they never translate ----------------------------------------------

SERVICERS = sorted((ROOT / "server" / "latchwork" / "server" / "api").glob("*_service.py"))
DOMAIN_NAMES = {SupervisorError.__name__, *(kind.__name__ for kind in _kinds(SupervisorError))}
TRANSLATORS = {"abort", "abort_invalid", "abort_with_status", "refuse"}
NOT_AN_RPC = {"reap_lost_workers"}  # a background loop: a full disk leaves the worker lost


def _names(node: ast.expr | None) -> set[str]:
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_there_are_servicers_to_scan() -> None:
    assert {p.name for p in SERVICERS} >= {"supervisor_service.py", "worker_service.py"}


@pytest.mark.parametrize("path", SERVICERS, ids=lambda p: p.name)
def test_servicers_neither_catch_domain_errors_nor_abort(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    problems = []
    for function in _functions(tree):
        if function.name in NOT_AN_RPC:
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ExceptHandler):
                caught = _names(node.type) & DOMAIN_NAMES
                if caught or node.type is None:
                    problems.append(f"{function.name}:{node.lineno} catches {caught or 'all'}")
            if isinstance(node, ast.Call) and _names(node.func) & TRANSLATORS:
                problems.append(f"{function.name}:{node.lineno} ends the call itself")
    assert not problems, "raise a core/errors.py kind instead:\n" + "\n".join(problems)
