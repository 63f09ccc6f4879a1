"""The exceptions of the Python client: ``LatchworkError`` and one subclass per status code.

Every failure of a ``Client`` or ``AsyncClient`` call arrives as a ``LatchworkError`` (never a
bare ``grpc.RpcError`` or ``ValueError``), with the gRPC ``code``, the server's ``message``
and, for invalid input, the ``violations`` (field path and description) the server listed. The
subclasses let a caller catch one kind (``except NotFoundError``) without comparing codes;
``RequestError`` is raised before anything is sent, for input the client cannot even encode
(it is also a ``ValueError``, as such errors were before).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

# The trailer that carries a google.rpc.Status with the details (see grpc_status).
STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


class LatchworkError(Exception):
    """A call the supervisor refused or could not complete."""

    def __init__(
        self, code: grpc.StatusCode, message: str, violations: Sequence[FieldViolation] = ()
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.violations = list(violations)

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> LatchworkError:
        """The typed error for a failed call (sync or asyncio), whatever its trailers hold."""
        code = _code_of(error)
        message = _text(getattr(error, "details", None)) or ""
        violations = _violations(_trailers(error))
        return error_class(code)(code, message, violations)


class InvalidArgumentError(LatchworkError):
    """The request is wrong; ``violations`` names the fields (INVALID_ARGUMENT)."""


class RequestError(InvalidArgumentError, ValueError):
    """The client could not build the request from the values given; nothing was sent."""

    def __init__(self, message: str, violations: Sequence[FieldViolation] = ()) -> None:
        super().__init__(grpc.StatusCode.INVALID_ARGUMENT, message, violations)

    def __str__(self) -> str:
        return self.message


class NotFoundError(LatchworkError):
    """A job, work item or callback named in the request does not exist (NOT_FOUND)."""


class AlreadyExistsError(LatchworkError):
    """The request id was used for a different request (ALREADY_EXISTS)."""


class PermissionDeniedError(LatchworkError):
    """The caller may not do this to another user's jobs (PERMISSION_DENIED)."""


class UnauthenticatedError(LatchworkError):
    """No valid token was sent (UNAUTHENTICATED)."""


class FailedPreconditionError(LatchworkError):
    """The request does not fit the current state (FAILED_PRECONDITION)."""


class OutOfRangeError(LatchworkError):
    """A position beyond what exists or is retained (OUT_OF_RANGE)."""


class StreamGapError(OutOfRangeError):
    """The stream cannot resume without a gap: the events after ``after_seq`` are gone."""

    def __init__(self, after_seq: int, cause: LatchworkError) -> None:
        super().__init__(
            grpc.StatusCode.OUT_OF_RANGE,
            f"cannot resume the event stream after seq {after_seq}: {cause.message}",
            cause.violations,
        )
        self.after_seq = after_seq


class ResourceExhaustedError(LatchworkError):
    """A limit was reached: storage full, a message too large (RESOURCE_EXHAUSTED)."""


class UnavailableError(LatchworkError):
    """The supervisor could not be reached or cannot serve now; worth retrying (UNAVAILABLE)."""


class DeadlineExceededError(LatchworkError):
    """The call took longer than its timeout (DEADLINE_EXCEEDED)."""


class InternalError(LatchworkError):
    """The supervisor failed unexpectedly; its log has the reference in the message (INTERNAL)."""


_BY_CODE: dict[grpc.StatusCode, type[LatchworkError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRangeError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def error_class(code: grpc.StatusCode) -> type[LatchworkError]:
    """The subclass for ``code`` (``LatchworkError`` itself for the others)."""
    return _BY_CODE.get(code, LatchworkError)


def _code_of(error: grpc.RpcError) -> grpc.StatusCode:
    code = getattr(error, "code", None)
    value = code() if callable(code) else None
    return value if isinstance(value, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def _text(getter: Any) -> str | None:
    value = getter() if callable(getter) else None
    return value if isinstance(value, str) else None


def _trailers(error: grpc.RpcError) -> list[tuple[str, Any]]:
    getter = getattr(error, "trailing_metadata", None)
    trailers = getter() if callable(getter) else None
    pairs: list[tuple[str, Any]] = []
    for entry in trailers or ():
        if isinstance(entry, tuple) and len(entry) == 2:
            pairs.append((str(entry[0]), entry[1]))
    return pairs


def _violations(trailers: list[tuple[str, Any]]) -> list[FieldViolation]:
    """The BadRequest field violations in the status details, if any.

    Read here rather than with ``grpc_status.rpc_status.from_call``: that raises ``ValueError``
    when the status message and the one inside the details differ (as they may once a proxy or
    gRPC itself rewrote the message), and a client must never fail on a detail it cannot read.
    """
    violations: list[FieldViolation] = []
    for key, value in trailers:
        if key != STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                bad = error_details_pb2.BadRequest()
                if detail.Unpack(bad):  # False for details of other types
                    violations.extend(
                        FieldViolation(v.field, v.description) for v in bad.field_violations
                    )
        except (DecodeError, ValueError):
            continue
    return violations


def not_sent(error: Exception) -> LatchworkError:
    """The error for a call gRPC refused to start (a closed client, a request it cannot send)."""
    return LatchworkError(grpc.StatusCode.CANCELLED, f"the call was not made: {error}")


def call_failed(error: Exception) -> LatchworkError:
    """The error for what a call raised: the server's status, or gRPC's refusal to start it.

    Both clients catch the same failures (a ``grpc.RpcError``, or gRPC's own ``ValueError`` or
    asyncio ``UsageError`` for a call on a closed channel) and hand them here, so a failure reads
    the same whichever client made the call.
    """
    if isinstance(error, grpc.RpcError):
        return LatchworkError.from_rpc_error(error)
    return not_sent(error)
