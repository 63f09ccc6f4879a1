"""The client raises its own errors whatever a server puts in the status details.

A real gRPC server (in this process) answers GetJob with statuses whose details disagree with
the status or cannot be decoded at all: grpc_status's parser raised ValueError (or DecodeError)
for those, which escaped ``Client`` bare.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from latchwork.client import Client, LatchworkError
from latchwork.v1 import supervisor_pb2


class _Status(grpc.Status):
    def __init__(self, code: grpc.StatusCode, details: str, trailer: bytes) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = (("grpc-status-details-bin", trailer),)


def _details(code: int, message: str) -> bytes:
    bad = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field="job_id", description="x")
        ]
    )
    packed = any_pb2.Any()
    packed.Pack(bad)
    return status_pb2.Status(code=code, message=message, details=[packed]).SerializeToString()


ANSWERS = {
    # job_id -> what the server aborts with
    1: _Status(
        grpc.StatusCode.INVALID_ARGUMENT, "job_id: x", _details(code_pb2.INVALID_ARGUMENT, "other")
    ),
    2: _Status(
        grpc.StatusCode.RESOURCE_EXHAUSTED, "too big", _details(code_pb2.INVALID_ARGUMENT, "x")
    ),
    3: _Status(grpc.StatusCode.INTERNAL, "broken", b"\xff\xff\xff not a status"),
}


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    def get_job(request: supervisor_pb2.GetJobRequest, context: Any) -> Any:
        context.abort_with_status(ANSWERS[request.job_id])

    handler = grpc.method_handlers_generic_handler(
        "latchwork.v1.SupervisorService",
        {
            "GetJob": grpc.unary_unary_rpc_method_handler(
                get_job,
                request_deserializer=supervisor_pb2.GetJobRequest.FromString,
                response_serializer=supervisor_pb2.GetJobResponse.SerializeToString,
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


@pytest.mark.parametrize(
    ("job_id", "code", "fields"),
    [
        (1, grpc.StatusCode.INVALID_ARGUMENT, ["job_id"]),
        (2, grpc.StatusCode.RESOURCE_EXHAUSTED, ["job_id"]),
        (3, grpc.StatusCode.INTERNAL, []),
    ],
)
def test_odd_details_still_give_a_latchwork_error(
    address: str, job_id: int, code: grpc.StatusCode, fields: list[str]
) -> None:
    with Client(address, user="tester") as client, pytest.raises(LatchworkError) as caught:
        client.get_job(job_id)
    assert caught.value.code == code
    assert [v.field for v in caught.value.violations] == fields
    assert type(caught.value).__name__ != "LatchworkError", "a subclass per code"
