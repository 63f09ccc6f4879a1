"""gRPC errors with machine-readable details (google.rpc.BadRequest field violations).

The message lists every problem for people; the details carry the same list for programs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn, TypeAlias

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ..core.submission import FieldError

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


async def abort_invalid(context: Context, errors: Sequence[FieldError]) -> NoReturn:
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=e.path, description=e.message)
            for e in errors
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(bad_request)
    message = "; ".join(str(e) for e in errors)
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[detail])
    await context.abort_with_status(rpc_status.to_status(status))
    raise AssertionError("abort_with_status returned")  # pragma: no cover
