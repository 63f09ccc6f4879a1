"""The worker's reports over one open call (``ReportWorkStream``), not a call each.

At farm scale a worker reports every few seconds or faster, and a unary call costs the
supervisor about four times what one message on an open call does (docs/benchmarks.md, farm
throughput). So the worker keeps one ``ReportWorkStream`` call open per channel and sends each
``ReportWorkRequest`` on it, waiting for its answer before the next: one request in flight, so
answers need no matching.

To the caller it is ``ReportWork``: an answer, or a ``grpc.aio.AioRpcError`` carrying the status
the supervisor refused the request with (the stream is then dropped, and the next report opens
another). A stream the supervisor ended between requests (it stopped) is reported as
UNAVAILABLE, which the worker retries like any call. A supervisor without the method
(UNIMPLEMENTED: an older one) gets this and every later report as a unary ``ReportWork``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc

from latchwork.v1 import worker_pb2, worker_pb2_grpc

Metadata = tuple[tuple[str, str], ...]
ReportCall = grpc.aio.StreamStreamCall[
    worker_pb2.ReportWorkStreamRequest, worker_pb2.ReportWorkStreamResponse
]


def stream_ended(details: str) -> grpc.aio.AioRpcError:
    """The error a report gets when its stream ended without answering it."""
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details
    )


async def _exchange(
    call: ReportCall, request: worker_pb2.ReportWorkRequest
) -> worker_pb2.ReportWorkResponse:
    """Send ``request`` on ``call`` and read its answer. A stream that ended before the
    request went out raises UNAVAILABLE: grpc says INTERNAL (a failed send) or refuses the
    write (the call is over) when the supervisor ended it between requests."""
    try:
        await call.write(worker_pb2.ReportWorkStreamRequest(request=request))
    except asyncio.InvalidStateError:
        raise stream_ended("the report stream ended before the report went out") from None
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.INTERNAL:
            raise
        raise stream_ended(
            f"the report stream ended before the report went out ({error.details()})"
        ) from None
    answer = await call.read()
    if isinstance(answer, worker_pb2.ReportWorkStreamResponse):
        return answer.response
    raise stream_ended("the report stream ended without an answer")  # grpc.aio.EOF


class ReportStream:
    """The open ``ReportWorkStream`` call of one channel, opened at the first report."""

    def __init__(self, stub: worker_pb2_grpc.WorkerServiceAsyncStub) -> None:
        self._stub = stub
        self._call: tuple[Metadata, ReportCall] | None = None
        self._turn = asyncio.Lock()  # one request in flight: its answer is the next read
        self.unary = False
        """The supervisor has no ReportWorkStream: reports go as unary calls."""

    def close(self) -> None:
        if self._call is not None:
            self._call[1].cancel()
            self._call = None

    async def report(
        self,
        request: worker_pb2.ReportWorkRequest,
        metadata: Metadata,
        unary: Callable[[], Awaitable[worker_pb2.ReportWorkResponse]],
    ) -> worker_pb2.ReportWorkResponse:
        """``request``'s answer; ``unary`` sends it as a ``ReportWork`` call instead."""
        if self.unary:
            return await unary()
        async with self._turn:
            if self._call is None or self._call[0] != metadata:
                self.close()
                self._call = (metadata, self._stub.ReportWorkStream(metadata=metadata))
            try:
                return await _exchange(self._call[1], request)
            except grpc.aio.AioRpcError as error:
                self.close()
                if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                    raise
                self.unary = True
            except BaseException:
                # Cut between its request and its answer (the caller cancelled): that answer
                # must never be read as the next request's, so the call goes with it.
                self.close()
                raise
        return await unary()
