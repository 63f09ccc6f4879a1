"""The worker's line to its supervisor, which may answer at one of several addresses.

``latchwork worker --supervisor A,B`` names every address a supervisor of the farm may serve
on (a leader and its standbys, which do not listen until they take over). The worker uses one
at a time; a call that finds it UNAVAILABLE moves the line to the next address (cycling), whose
channel opens on the next call, and raises as before: the loops that call (registration,
leasing, heartbeats, uploads, reports) already try again. The supervisor there does not know
this worker yet, so its first answer (a heartbeat's ``known = false``, a FAILED_PRECONDITION)
sends the worker down its existing path: register again, naming the leases it still holds,
and keep the frames the new leader re-attaches (docs/operations.md).

``SupervisorLink`` offers the calls of the Worker service's stub by the same names, so the
worker's code reads as it did with a bare stub. ``ReportWork`` goes over the channel's open
``ReportWorkStream`` call (:mod:`.report_stream`), a unary call only to a supervisor without it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from latchwork.common.addresses import AddressRing, parse_addresses
from latchwork.v1 import worker_pb2, worker_pb2_grpc

from .report_stream import ReportStream

Metadata = tuple[tuple[str, str], ...]


class SupervisorLink:
    """One channel at a time to the address in use; use ``async with`` or ``close``."""

    def __init__(self, address: str, options: tuple[tuple[str, int], ...] = ()) -> None:
        self._ring = AddressRing(parse_addresses(address))
        self._options = options
        self._open: tuple[int, grpc.aio.Channel, worker_pb2_grpc.WorkerServiceAsyncStub] | None
        self._open = None
        self._reports: tuple[int, ReportStream] | None = None  # of the channel's generation
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        """The address in use."""
        return self._ring.current

    async def __aenter__(self) -> SupervisorLink:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._drop_reports()
        if self._open is not None:
            channel, self._open = self._open[1], None
            await channel.close()
        if self._closing:
            await asyncio.wait(list(self._closing))

    def _channel(self) -> tuple[int, grpc.aio.Channel, worker_pb2_grpc.WorkerServiceAsyncStub]:
        if self._open is None:
            channel = grpc.aio.insecure_channel(self._ring.current, options=self._options)
            self._open = (
                self._ring.generation,
                channel,
                worker_pb2_grpc.WorkerServiceStub(channel),
            )
        return self._open

    async def _call(
        self, method: str, request: Any, metadata: Metadata, on_stream: bool = False
    ) -> Any:
        """``method``'s answer; ``on_stream``: ReportWork on the channel's report stream."""
        generation, _, stub = self._channel()
        try:
            if not on_stream:
                return await getattr(stub, method)(request, metadata=metadata)
            if self._reports is None or self._reports[0] != generation:
                self._reports = (generation, ReportStream(stub))
            return await self._reports[1].report(
                request, metadata, lambda: stub.ReportWork(request, metadata=metadata)
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNAVAILABLE:
                self._move_from(generation)
            raise
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling() or generation == self._ring.generation:
                raise  # the task is being cancelled (the worker stops)
            # Another call moved the line on and closed this call's channel, which grpc.aio
            # reports as a cancelled task: to the caller it is a failed call, tried again.
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.CANCELLED,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                details=f"the supervisor moved to {self._ring.current}",
            ) from None

    def _drop_reports(self) -> None:
        """End the report stream of the channel being closed."""
        if self._reports is not None:
            self._reports[1].close()
            self._reports = None

    def _move_from(self, generation: int) -> None:
        """To the next address, once however many calls failed on this one; the old channel
        is closed in the background (closing it ends the calls still on it, which retry)."""
        if self._open is None or not self._ring.move_from(generation):
            return
        stale, self._open = self._open[1], None
        self._drop_reports()
        task = asyncio.get_running_loop().create_task(stale.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def RegisterWorker(
        self, request: worker_pb2.RegisterWorkerRequest, *, metadata: Metadata = ()
    ) -> worker_pb2.RegisterWorkerResponse:
        return await self._call("RegisterWorker", request, metadata)  # type: ignore[no-any-return]

    async def LeaseWork(
        self, request: worker_pb2.LeaseWorkRequest, *, metadata: Metadata = ()
    ) -> worker_pb2.LeaseWorkResponse:
        return await self._call("LeaseWork", request, metadata)  # type: ignore[no-any-return]

    async def Heartbeat(
        self, request: worker_pb2.HeartbeatRequest, *, metadata: Metadata = ()
    ) -> worker_pb2.HeartbeatResponse:
        return await self._call("Heartbeat", request, metadata)  # type: ignore[no-any-return]

    async def AppendOutput(
        self, request: worker_pb2.AppendOutputRequest, *, metadata: Metadata = ()
    ) -> worker_pb2.AppendOutputResponse:
        return await self._call("AppendOutput", request, metadata)  # type: ignore[no-any-return]

    async def ReportWork(
        self, request: worker_pb2.ReportWorkRequest, *, metadata: Metadata = ()
    ) -> worker_pb2.ReportWorkResponse:
        return await self._call("ReportWork", request, metadata, True)  # type: ignore[no-any-return]
