"""Refusals as JSON: ``{"error": {"code", "message", "field_violations"}}``.

A gRPC status becomes the HTTP status a browser or script expects (INVALID_ARGUMENT 400,
UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404, FAILED_PRECONDITION 409,
RESOURCE_EXHAUSTED 429, UNIMPLEMENTED 501, UNAVAILABLE 503, anything else 500) with the gRPC
message unchanged and the BadRequest field violations of the status details, so the dashboard
shows the very words ``latchwork`` on the command line would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web
from google.rpc import error_details_pb2, status_pb2

from ..api.errors import bounded_message, public_message, status_of
from ..core.errors import InvalidRequest, SupervisorError

STATUS_DETAILS_KEY = "grpc-status-details-bin"

HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
}


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


@dataclass
class ApiError(Exception):
    """A refusal to answer with: its HTTP status, gRPC-style code name and message."""

    status: int
    code: str
    message: str
    violations: list[FieldViolation] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "field_violations": [
                    {"field": v.field, "description": v.description} for v in self.violations
                ],
            }
        }

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status)


def invalid(field_path: str, description: str) -> ApiError:
    """INVALID_ARGUMENT for one bad request parameter, named by its path."""
    return ApiError(
        400,
        "INVALID_ARGUMENT",
        f"{field_path}: {description}",
        [FieldViolation(field_path, description)],
    )


def from_grpc(error: grpc.aio.AioRpcError) -> ApiError:
    """The ApiError for a failed gRPC call, with its field violations."""
    code = error.code()
    return ApiError(
        HTTP_STATUS.get(code, 500),
        code.name,
        error.details() or code.name,
        _violations(error.trailing_metadata()),
    )


def _violations(trailers: Any) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    for key, value in trailers or ():
        if key != STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except Exception:  # details a proxy mangled: keep the message alone
            continue
        for detail in status.details:
            bad = error_details_pb2.BadRequest()
            if detail.Unpack(bad):
                found.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
    return found


def from_supervisor(error: SupervisorError) -> ApiError:
    """The ApiError for what the supervisor refused in process (the in-process event stream),
    as its gRPC status would read: the same code and the same public message (a storage
    error's own text is for the log, not the caller)."""
    code = status_of(error)
    violations = (
        [FieldViolation(e.path, e.message) for e in error.errors]
        if isinstance(error, InvalidRequest)
        else []
    )
    return ApiError(
        HTTP_STATUS.get(code, 500), code.name, bounded_message(public_message(error)), violations
    )
