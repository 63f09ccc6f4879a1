"""Which endings of a stream the Python client resumes after: docs/subscribe.md's table.

A real gRPC server on a loopback port plays a supervisor whose first stream breaks with a given
code: UNKNOWN (how tonic and other stacks report a broken HTTP/2 stream; the supervisor never
sends it) resumes like UNAVAILABLE, and the supervisor's own INTERNAL or a verdict on the request
is raised.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from latchwork.client import LatchworkError
from latchwork.client.aio import AsyncClient
from latchwork.v1 import event_pb2, supervisor_pb2, supervisor_pb2_grpc


class BreaksOnce(supervisor_pb2_grpc.SupervisorServiceServicer):
    """The first Subscribe sends event 3 and fails with ``code``; later ones send event 4."""

    def __init__(self, code: grpc.StatusCode) -> None:
        self.code = code
        self.after_seqs: list[int] = []

    async def Subscribe(
        self,
        request: supervisor_pb2.SubscribeRequest,
        context: grpc.aio.ServicerContext[
            supervisor_pb2.SubscribeRequest, supervisor_pb2.SubscribeResponse
        ],
    ) -> AsyncIterator[supervisor_pb2.SubscribeResponse]:
        self.after_seqs.append(request.after_seq)
        seq = 3 if len(self.after_seqs) == 1 else 4
        yield supervisor_pb2.SubscribeResponse(event=event_pb2.Event(seq=seq))
        if len(self.after_seqs) == 1:
            await context.abort(self.code, f"scripted {self.code.name}")


async def second_event(code: grpc.StatusCode) -> tuple[int | grpc.StatusCode, list[int]]:
    fake = BreaksOnce(code)  # type: ignore[abstract]  # the other RPCs answer UNIMPLEMENTED
    server = grpc.aio.server()
    supervisor_pb2_grpc.add_SupervisorServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with AsyncClient(f"127.0.0.1:{port}", user="tester") as client:
            seen = 0
            try:
                async for event in client.subscribe(after_seq=2):
                    seen += 1
                    if seen == 2:
                        assert isinstance(event, event_pb2.Event)
                        return event.seq, fake.after_seqs
            except LatchworkError as error:
                return error.code, fake.after_seqs
    finally:
        await server.stop(None)
    raise AssertionError("the stream ended")


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED]
)
async def test_resumes_after_the_transport_s_codes(code: grpc.StatusCode) -> None:
    assert await second_event(code) == (4, [2, 3])


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.INTERNAL, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT],
)
async def test_raises_a_verdict(code: grpc.StatusCode) -> None:
    assert await second_event(code) == (code, [2])
