"""The Python client of Latchwork: a typed wrapper around the generated gRPC stubs."""

from .client import Client, LatchworkError
from .jobspec import job_spec_from_dict

__all__ = ["Client", "LatchworkError", "job_spec_from_dict"]
