"""The remote worker's reports, sent together and answered with its next leases.

A frame that ends frees a slot; reporting it and leasing the next frame in two calls costs the
supervisor two unary calls and two transactions per frame, most of its CPU at farm scale. So
the runs that ended are queued here, and one sender reports every one that is ready in one
``ReportWork`` call (``reports``), asking in the same call for as many new leases as the
worker then has free slots (``max_leases``); the supervisor stores it all in one transaction.
``LeaseWork`` (a long poll) stays for when the worker has nothing to report.

A report is retried for as long as its lease can still be accepted, as before batching: the
whole call again after a transient failure; after a registration when the supervisor no
longer knows the worker; and, when the supervisor refuses a call of several reports as such
(one of its leases is no longer this worker's), each report alone, so that only the refused
one is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from latchwork.server.throttled_log import ThrottledLog
from latchwork.v1 import worker_pb2

from .registration import Metadata, Registration
from .supervisor_link import SupervisorLink

log = logging.getLogger(__name__)

MAX_REPORTS = 256  # per call: the supervisor's bound
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0
# Refusals that another try cannot change: the report is dropped. FAILED_PRECONDITION means
# the supervisor no longer knows this worker (lost or restarted): the worker registers again
# and goes on with the leases it keeps (at most REREGISTRATIONS times in a row).
REREGISTRATIONS = 3
FINAL_REFUSALS = frozenset(
    {
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


@dataclass
class _Pending:
    report: worker_pb2.WorkReport
    done: asyncio.Future[None]
    alone: bool = False  # its batch was refused: sent by itself, to find which was refused


@dataclass
class ReportBatcher:
    """Queues reports of ended runs and sends them, with a request for the next leases.

    ``free_slots(n)``: how many leases the worker can take once ``n`` reports are stored;
    ``start(stub, lease)``: run a lease the supervisor granted in an answer. A sender runs
    while reports wait, started by the first of them.
    """

    registration: Registration
    metadata: Metadata
    free_slots: Callable[[int], int]
    start: Callable[[SupervisorLink, worker_pb2.Lease], None]
    asking: int = 0  # the leases asked for by the call in flight (the lease loop's slots)
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _sender: asyncio.Task[None] | None = None
    _log: ThrottledLog = field(default_factory=lambda: ThrottledLog(log))

    async def report(self, stub: SupervisorLink, report: worker_pb2.WorkReport) -> None:
        """Queue a report; returns once it is stored, or dropped (its lease was taken back)."""
        done = asyncio.get_running_loop().create_future()
        self._pending[report.lease_id] = _Pending(report, done)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_ready(stub))
        await asyncio.shield(done)

    async def _send_ready(self, stub: SupervisorLink) -> None:
        """Send what is ready, again and again while more comes, until nothing waits."""
        delay = RETRY_FIRST_SECONDS
        registrations = 0
        while batch := self._next_batch():
            registration = self.registration.count
            self.asking = self.free_slots(len(batch))
            try:
                response = await stub.ReportWork(
                    worker_pb2.ReportWorkRequest(
                        worker_id=self.registration.worker_id,
                        reports=[pending.report for pending in batch],
                        max_leases=self.asking,
                    ),
                    metadata=self.metadata,
                )
            except grpc.aio.AioRpcError as error:
                self.asking = 0
                if error.code() == grpc.StatusCode.FAILED_PRECONDITION and (
                    registrations < REREGISTRATIONS
                ):
                    registrations += 1  # the supervisor no longer knows this worker
                    await self.registration.register_again(stub, registration)
                    continue
                if error.code() in FINAL_REFUSALS:
                    self._refused(batch, error)
                    continue
                self._log.warning(
                    "report of %d leases failed (%s); retrying until it is stored",
                    len(batch),
                    error.details(),
                )
                if await self.registration.backoff(delay, registration):
                    delay = RETRY_FIRST_SECONDS  # registered again: the supervisor is back
                else:
                    delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            for pending in batch:
                self._settle(pending)
            for lease in response.leases:
                self.start(stub, lease)
            self.asking = 0
            delay = RETRY_FIRST_SECONDS
            registrations = 0

    def _next_batch(self) -> list[_Pending]:
        """The reports to send next: one refused in a batch alone, else up to MAX_REPORTS;
        those whose lease was taken back meanwhile (a registration dropped it) are dropped."""
        for lease_id in [lease for lease in self._pending if lease not in self.registration.held]:
            self._settle(self._pending[lease_id])
        alone = [pending for pending in self._pending.values() if pending.alone]
        return alone[:1] or list(self._pending.values())[:MAX_REPORTS]

    def _refused(self, batch: list[_Pending], error: grpc.aio.AioRpcError) -> None:
        if len(batch) > 1:
            for pending in batch:  # which one was refused: each is sent alone
                pending.alone = True
            return
        log.warning(
            "report of lease %s refused (%s); the supervisor took it back",
            batch[0].report.lease_id,
            error.details(),
        )
        self._settle(batch[0])

    def _settle(self, pending: _Pending) -> None:
        """The report is stored or dropped: the lease is no longer held."""
        lease_id = pending.report.lease_id
        self.registration.held.discard(lease_id)
        del self._pending[lease_id]
        if not pending.done.done():
            pending.done.set_result(None)
