"""The worker's report stream (latchwork/worker/report_stream.py) against stand-in servers.

Real gRPC on loopback, with servers that are not the supervisor so that what a supervisor
never does can happen: one without ReportWorkStream (an older supervisor) gets every report as
a unary ReportWork, after one try of the stream; one that ends the stream after an answer
makes the next report fail UNAVAILABLE (retried by the worker like any call) and the report
after it opens a new stream; a report with other metadata (another token) opens a new stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from latchwork.v1 import worker_pb2, worker_pb2_grpc
from latchwork.worker.report_stream import ReportStream

SERVICE = "latchwork.v1.WorkerService"


@dataclass
class StandIn:
    """Answers ReportWork, and ReportWorkStream unless ``streams`` is False; a stream ends
    after ``answers_per_stream`` answers. Records each call's method and metadata."""

    streams: bool = True
    answers_per_stream: int = 1_000
    first_answer_delay: float = 0.0
    calls: list[tuple[str, str]] = field(default_factory=list)

    def answer(self, request: worker_pb2.ReportWorkRequest) -> worker_pb2.ReportWorkResponse:
        return worker_pb2.ReportWorkResponse(reports_accepted=[True] * len(request.reports))

    async def unary(
        self, request: worker_pb2.ReportWorkRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> worker_pb2.ReportWorkResponse:
        self.calls.append(("ReportWork", _token(context)))
        return self.answer(request)

    async def stream(
        self,
        requests: AsyncIterator[worker_pb2.ReportWorkStreamRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[worker_pb2.ReportWorkStreamResponse]:
        self.calls.append(("ReportWorkStream", _token(context)))
        answered = 0
        async for message in requests:
            if not self.calls[1:] and not answered:
                await asyncio.sleep(self.first_answer_delay)
            yield worker_pb2.ReportWorkStreamResponse(response=self.answer(message.request))
            answered += 1
            if answered == self.answers_per_stream:
                return


def _token(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    return str(dict(context.invocation_metadata() or ()).get("authorization", ""))


async def _serving(stand_in: StandIn) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    methods: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "ReportWork": grpc.unary_unary_rpc_method_handler(
            stand_in.unary,
            worker_pb2.ReportWorkRequest.FromString,
            worker_pb2.ReportWorkResponse.SerializeToString,
        )
    }
    if stand_in.streams:
        methods["ReportWorkStream"] = grpc.stream_stream_rpc_method_handler(
            stand_in.stream,
            worker_pb2.ReportWorkStreamRequest.FromString,
            worker_pb2.ReportWorkStreamResponse.SerializeToString,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, methods),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


Reporting = Callable[
    [int, tuple[tuple[str, str], ...]], Coroutine[Any, Any, worker_pb2.ReportWorkResponse]
]


async def _with_stream(stand_in: StandIn, body: Callable[[Reporting], Awaitable[None]]) -> None:
    server, address = await _serving(stand_in)
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = worker_pb2_grpc.WorkerServiceStub(channel)
            stream = ReportStream(stub)

            async def report(
                reports: int, metadata: tuple[tuple[str, str], ...] = ()
            ) -> worker_pb2.ReportWorkResponse:
                request = worker_pb2.ReportWorkRequest(
                    worker_id="w",
                    reports=[worker_pb2.WorkReport(lease_id=f"l{i}") for i in range(reports)],
                )
                return await stream.report(
                    request, metadata, lambda: stub.ReportWork(request, metadata=metadata)
                )

            try:
                await body(report)
            finally:
                stream.close()
    finally:
        await server.stop(None)


def test_reports_share_one_stream() -> None:
    stand_in = StandIn()

    async def body(report: Reporting) -> None:
        for count in (1, 2, 3):
            assert list((await report(count, ())).reports_accepted) == [True] * count

    asyncio.run(_with_stream(stand_in, body))
    assert stand_in.calls == [("ReportWorkStream", "")]


def test_a_supervisor_without_the_stream_gets_unary_reports() -> None:
    """UNIMPLEMENTED: this report and every later one go as ReportWork calls."""
    stand_in = StandIn(streams=False)

    async def body(report: Reporting) -> None:
        for count in (1, 2):
            assert list((await report(count, ())).reports_accepted) == [True] * count

    asyncio.run(_with_stream(stand_in, body))
    assert stand_in.calls == [("ReportWork", ""), ("ReportWork", "")]


def test_a_stream_ended_under_the_worker_fails_one_report_and_is_opened_again() -> None:
    stand_in = StandIn(answers_per_stream=1)

    async def body(report: Reporting) -> None:
        await report(1, ())
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await report(1, ())
        assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "the report stream ended" in (ended.value.details() or "")
        assert list((await report(2, ())).reports_accepted) == [True, True]

    asyncio.run(_with_stream(stand_in, body))
    assert [method for method, _ in stand_in.calls] == ["ReportWorkStream"] * 2


def test_a_report_cut_before_its_answer_takes_its_stream_with_it() -> None:
    """The caller gives up on a report after its request went out: its answer, coming later,
    must not be taken for the next report's, so the next report goes on a new stream."""
    stand_in = StandIn(first_answer_delay=0.5)

    async def body(report: Reporting) -> None:
        cut = asyncio.create_task(report(1, ()))
        await asyncio.sleep(0.1)
        cut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cut
        assert list((await report(3, ())).reports_accepted) == [True] * 3

    asyncio.run(_with_stream(stand_in, body))
    assert [method for method, _ in stand_in.calls] == ["ReportWorkStream"] * 2


def test_other_metadata_opens_another_stream() -> None:
    """A stream carries the metadata (the token) it was opened with: a report with other
    metadata is not sent on it."""
    stand_in = StandIn()
    first = (("authorization", "Bearer one"),)
    second = (("authorization", "Bearer two"),)

    async def body(report: Reporting) -> None:
        await report(1, first)
        await report(1, first)
        await report(1, second)

    asyncio.run(_with_stream(stand_in, body))
    assert stand_in.calls == [
        ("ReportWorkStream", "Bearer one"),
        ("ReportWorkStream", "Bearer two"),
    ]
