"""The Python client of Latchwork: a typed wrapper around the generated gRPC stubs."""

from .aio import AsyncClient, StreamGapError
from .client import Client, LatchworkError
from .jobspec import job_spec_from_dict

__all__ = ["AsyncClient", "Client", "LatchworkError", "StreamGapError", "job_spec_from_dict"]
