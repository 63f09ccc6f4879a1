"""The Python client of Latchwork: a typed wrapper around the generated gRPC stubs."""

from .aio import AsyncClient
from .client import Client
from .errors import (
    AlreadyExistsError,
    DeadlineExceededError,
    FailedPreconditionError,
    FieldViolation,
    InternalError,
    InvalidArgumentError,
    LatchworkError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    RequestError,
    ResourceExhaustedError,
    StreamGapError,
    UnauthenticatedError,
    UnavailableError,
)
from .jobspec import job_spec_from_dict

__all__ = [
    "AlreadyExistsError",
    "AsyncClient",
    "Client",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "FieldViolation",
    "InternalError",
    "InvalidArgumentError",
    "LatchworkError",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "RequestError",
    "ResourceExhaustedError",
    "StreamGapError",
    "UnauthenticatedError",
    "UnavailableError",
    "job_spec_from_dict",
]
