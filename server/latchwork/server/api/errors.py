"""The one mapping from the supervisor's errors to gRPC statuses, and the statuses' bounds.

``STATUS_OF`` gives each kind of ``SupervisorError`` (core/errors.py, store/errors.py) its code;
``refuse`` ends a call with it. The interceptor in ``unexpected.py`` calls ``refuse`` for
whatever a servicer lets escape, so servicers raise and never translate (a test holds them to
it). An invalid request carries machine-readable details (google.rpc.BadRequest field
violations).

The message names the problems for people; the details carry the same list for programs. Both
travel in the response's trailing metadata, which gRPC limits (8 KiB by default on the client,
16 KiB hard): a refusal that echoed every violation, or one 20 KB value, whole turned into
RESOURCE_EXHAUSTED on the client instead of the INVALID_ARGUMENT it was. So every message that
leaves here is cut to size: at most ``MAX_VIOLATIONS`` violations (fewer when they are long),
each text clipped in the middle (the head names the value, the tail usually says what is
wrong), then "and N more". docs/errors.md describes the shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, TypeAlias

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ..core.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldError,
    InvalidRequest,
    NotFound,
    OutOfRange,
    PermissionDenied,
    SupervisorError,
)
from ..store.errors import StorageError, StorageFull

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]

MAX_VIOLATIONS = 20
MAX_FIELD_CHARS = 100
MAX_DESCRIPTION_CHARS = 200
# Budgets in bytes as sent: the message percent-encoded (grpc-message), the details raw (they go
# base64-encoded, 4/3 of this). Together well under the 8 KiB a default client accepts.
MESSAGE_BUDGET = 2048
DETAILS_BUDGET = 2560
ELLIPSIS = "…"


def wire_length(text: str) -> int:
    """Bytes ``text`` takes in a grpc-message header: printable ASCII as is, else %XX per byte."""
    return sum(
        1 if " " <= ch <= "~" and ch != "%" else 3 * len(ch.encode("utf-8", "replace"))
        for ch in text
    )


def clip(text: str, max_chars: int, max_wire: int | None = None) -> str:
    """``text`` cut in the middle to ``max_chars`` characters and ``max_wire`` header bytes."""
    max_wire = max_wire if max_wire is not None else 3 * max_chars
    if len(text) <= max_chars and wire_length(text) <= max_wire:
        return text
    keep = min(max_chars, len(text)) - 1
    while keep > 0:
        head = keep * 2 // 3
        tail = keep - head
        candidate = text[:head] + ELLIPSIS + (text[-tail:] if tail else "")
        if wire_length(candidate) <= max_wire:
            return candidate
        keep = keep * 3 // 4
    return ELLIPSIS


def bounded_message(text: str) -> str:
    """Any status message, cut to the message budget."""
    return clip(text, MESSAGE_BUDGET, MESSAGE_BUDGET)


def invalid_status(errors: Sequence[FieldError]) -> status_pb2.Status:
    """The INVALID_ARGUMENT status for ``errors``: the first ones that fit, then "and N more"."""
    shown: list[tuple[str, str]] = []
    parts: list[str] = []
    details_size = 0
    message_size = 0
    for error in errors[:MAX_VIOLATIONS]:
        path = clip(error.path, MAX_FIELD_CHARS)
        description = clip(error.message, MAX_DESCRIPTION_CHARS)
        part = f"{path}: {description}"
        # Room is kept for "; and N more" (at most ~20 bytes).
        part_size = wire_length(part) + 2
        violation_size = len(path.encode()) + len(description.encode()) + 8
        if (
            message_size + part_size > MESSAGE_BUDGET - 32
            or details_size + violation_size > DETAILS_BUDGET
        ):
            break
        shown.append((path, description))
        parts.append(part)
        message_size += part_size
        details_size += violation_size
    hidden = len(errors) - len(shown)
    if hidden:
        parts.append(f"and {hidden} more")
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=path, description=description)
            for path, description in shown
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(bad_request)
    return status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT, message="; ".join(parts), details=[detail]
    )


async def abort_invalid(context: Context, errors: Sequence[FieldError]) -> NoReturn:
    """End the call with INVALID_ARGUMENT naming (the first of) ``errors``."""
    await context.abort_with_status(rpc_status.to_status(invalid_status(errors)))
    raise AssertionError("abort_with_status returned")  # pragma: no cover


async def abort(context: Context, code: grpc.StatusCode, message: str) -> NoReturn:
    """End the call with ``code`` and ``message`` cut to the budget (it may echo user input)."""
    await context.abort(code, bounded_message(message))
    raise AssertionError("abort returned")  # pragma: no cover


STATUS_OF: Mapping[type[SupervisorError], grpc.StatusCode] = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    StorageFull: grpc.StatusCode.RESOURCE_EXHAUSTED,
    StorageError: grpc.StatusCode.UNAVAILABLE,  # busy, read-only, failing, damaged
}
"""Each kind's status; a subclass takes its nearest listed ancestor's (docs/errors.md)."""


def status_of(error: SupervisorError) -> grpc.StatusCode:
    """The code for ``error``: the first class in its MRO that ``STATUS_OF`` lists."""
    for kind in type(error).__mro__:
        code = STATUS_OF.get(kind)
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL  # a bare SupervisorError: a kind nobody gave a status


def public_message(error: SupervisorError) -> str:
    """What the caller reads: storage errors say only that nothing changed (SQLite's own text
    is for the log); the others' messages are written for people already."""
    if isinstance(error, StorageError):
        return error.public_message
    return str(error)


async def refuse(context: Context, error: SupervisorError) -> NoReturn:
    """End the call with the status ``error`` maps to, bounded; invalid requests with details."""
    if isinstance(error, InvalidRequest):
        await abort_invalid(context, error.errors)
    await abort(context, status_of(error), public_message(error))
