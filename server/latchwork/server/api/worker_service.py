"""The WorkerService servicer: remote machines lease work over gRPC.

A remote worker is the same kind of worker as the local pool; the difference is that the
supervisor cannot signal its processes directly, so kill/suspend/resume requests wait in a
queue that the worker collects with its next heartbeat.

Who may call is decided twice (issue 13): the token interceptor lets only worker and admin
tokens in (:mod:`..auth`); here, with tokens, a worker id belongs to the identity that
registered it, and in every mode a lease belongs to the worker it was granted to. So a worker
reports, uploads output for and heartbeats only its own leases and worker ids, whoever else
holds a worker token.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field

from latchwork.v1 import job_pb2, worker_pb2, worker_pb2_grpc

from ..auth import caller_of
from ..core.errors import FailedPrecondition, InvalidRequest, PermissionDenied
from ..core.submission import FieldError
from ..leases import LeaseGrant
from ..store.errors import StorageError
from ..supervisor import Supervisor
from . import checks, host_rpcs, work_reports
from .errors import Context

MAX_WAIT_SECONDS = 60
MISSED_HEARTBEATS = 3


@dataclass(slots=True)
class RemoteSink:
    """Signals for a remote worker's processes, delivered with its next heartbeat."""

    last_seen: float
    owner: str = ""  # with tokens: the user (token identity) that registered the worker
    kill_ids: set[str] = field(default_factory=set)
    suspend_ids: set[str] = field(default_factory=set)
    resume_ids: set[str] = field(default_factory=set)
    unheld: set[str] = field(default_factory=set)
    """Its leases its last heartbeat did not name (see :meth:`WorkerService.Heartbeat`)."""

    def kill(self, lease_id: str) -> None:
        self.kill_ids.add(lease_id)

    def suspend(self, lease_id: str) -> None:
        self.resume_ids.discard(lease_id)
        self.suspend_ids.add(lease_id)

    def resume(self, lease_id: str) -> None:
        self.suspend_ids.discard(lease_id)
        self.resume_ids.add(lease_id)


def lease_to_pb(grant: LeaseGrant) -> worker_pb2.Lease:
    return worker_pb2.Lease(
        lease_id=grant.lease_id,
        job_id=grant.job_id,
        work_name=grant.work_name,
        subjob_id=grant.subjob_id,
        cmdline=grant.process.cmdline,
        env=grant.process.env,
        cwd=grant.process.cwd,
        timeout_seconds=int(grant.timeout_seconds + 0.999) if grant.timeout_seconds else 0,
        attempt=grant.attempt,
        user=grant.process.user,
    )


def _check(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidRequest(errors)


class WorkerService(worker_pb2_grpc.WorkerServiceServicer):
    def __init__(self, supervisor: Supervisor, *, heartbeat_seconds: int = 5) -> None:
        self.supervisor = supervisor
        self.heartbeat_seconds = heartbeat_seconds
        self._sinks: dict[str, RemoteSink] = {}
        self._idle_streams: set[asyncio.Task[object]] = set()
        self._stopping = asyncio.Event()

    def _own(self, worker_id: str, context: Context) -> None:
        """Refuse a worker id registered under another token identity (PERMISSION_DENIED)."""
        caller = caller_of(context)
        sink = self._sinks.get(worker_id)
        if caller.authenticated and sink is not None and sink.owner != caller.user:
            raise PermissionDenied(
                f"worker {worker_id!r} was registered by another identity, not {caller.user!r}"
            )

    def _own_lease(
        self, worker_id: str, sink: RemoteSink, lease_id: str, where: str = "lease_id"
    ) -> bool:
        """True when the lease is the worker's; False when it ended (or never was); refuses
        (PERMISSION_DENIED) a lease that another worker holds or that waits to be re-attached,
        naming the request's field (``where``) that holds it."""
        if self.supervisor.lease_sink(lease_id) is sink:
            return True
        if self.supervisor.lease_entry(lease_id) is None:
            return False
        raise PermissionDenied(f"{where}: lease {lease_id!r} is not held by worker {worker_id!r}")

    def _may_claim(self, user: str, lease_id: str) -> bool:
        """Whether a registration may ask to re-attach the lease: one waiting for its worker
        (since a restart) or held by a remote worker of the same token identity; never the
        local pool's, nor another identity's."""
        holder = self.supervisor.lease_sink(lease_id)
        return holder is None or (isinstance(holder, RemoteSink) and holder.owner == user)

    def _known(self, worker_id: str, context: Context) -> RemoteSink:
        self._own(worker_id, context)
        sink = self._sinks.get(worker_id)
        if sink is None or not self.supervisor.knows_worker(worker_id):
            raise FailedPrecondition(
                f"worker {worker_id!r} is not registered (or was lost): register again"
            )
        sink.last_seen = time.monotonic()
        return sink

    async def RegisterWorker(
        self, request: worker_pb2.RegisterWorkerRequest, context: Context
    ) -> worker_pb2.RegisterWorkerResponse:
        _check(checks.check_register_worker(request))
        info = host_rpcs.host_info_from_register(request)
        caller = caller_of(context)
        owner = caller.user if caller.authenticated else ""
        sink = RemoteSink(last_seen=time.monotonic(), owner=owner)
        worker_id = self.supervisor.register_worker(request.host, sink, info)
        self._sinks[worker_id] = sink
        # A worker back after a restart of the supervisor (or after being lost) keeps the
        # leases still waiting for it; it kills the frames of the others.
        claimed = [lease for lease in request.lease_ids if self._may_claim(owner, lease)]
        kept = self.supervisor.reattach(worker_id, claimed) if claimed else []
        return worker_pb2.RegisterWorkerResponse(
            worker_id=worker_id, heartbeat_seconds=self.heartbeat_seconds, kept_lease_ids=kept
        )

    async def Heartbeat(
        self, request: worker_pb2.HeartbeatRequest, context: Context
    ) -> worker_pb2.HeartbeatResponse:
        _check(checks.check_heartbeat(request))
        self._own(request.worker_id, context)
        sink = self._sinks.get(request.worker_id)
        if sink is None or not self.supervisor.knows_worker(request.worker_id):
            return worker_pb2.HeartbeatResponse(known=False, kill_lease_ids=request.lease_ids)
        sink.last_seen = time.monotonic()
        self.supervisor.worker_heartbeat(request.worker_id)
        current = self.supervisor.worker_leases(request.worker_id)
        self._requeue_unheld(request.worker_id, sink, current, request.lease_ids)
        kill = sink.kill_ids | {lease for lease in request.lease_ids if lease not in current}
        response = worker_pb2.HeartbeatResponse(
            known=True,
            kill_lease_ids=sorted(kill),
            suspend_lease_ids=sorted(sink.suspend_ids),
            resume_lease_ids=sorted(sink.resume_ids),
        )
        sink.kill_ids.clear()
        sink.suspend_ids.clear()
        sink.resume_ids.clear()
        return response

    def _requeue_unheld(
        self, worker_id: str, sink: RemoteSink, current: Collection[str], held: Sequence[str]
    ) -> None:
        """Requeue the leases the worker has not named in two heartbeats in a row.

        A heartbeat names every lease the worker holds, from its grant to the stored report
        of its end. A lease it does not name was granted in an answer that never reached it
        (the connection cut after the commit): without this, its frame would stay running
        for no one, and its job would never end. One heartbeat is not enough: it may have
        left the worker just before the answer granting the lease arrived.
        """
        named = set(held)
        missing = {lease for lease in current if lease not in named}
        lost = missing & sink.unheld
        if lost:
            self.supervisor.requeue_unheld(worker_id, lost)
        sink.unheld = missing - lost

    async def LeaseWork(
        self, request: worker_pb2.LeaseWorkRequest, context: Context
    ) -> worker_pb2.LeaseWorkResponse:
        _check(checks.check_lease(request))
        self._known(request.worker_id, context)
        deadline = time.monotonic() + min(max(request.wait_seconds, 0), MAX_WAIT_SECONDS)
        while True:
            signal = self.supervisor.work_signal()
            grants = await self.supervisor.lease_aside(
                request.worker_id, max(request.max_leases, 1)
            )
            remaining = deadline - time.monotonic()
            if grants or remaining <= 0:
                return worker_pb2.LeaseWorkResponse(leases=[lease_to_pb(g) for g in grants])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), remaining)

    async def ReportWork(
        self, request: worker_pb2.ReportWorkRequest, context: Context
    ) -> worker_pb2.ReportWorkResponse:
        """One report (``lease_id``) or several (``reports``), and with ``max_leases`` the
        worker's next leases: all of it in one transaction, or nothing of it."""
        return await self._report_work(request, context)

    async def ReportWorkStream(
        self, requests: AsyncIterator[worker_pb2.ReportWorkStreamRequest], context: Context
    ) -> AsyncIterator[worker_pb2.ReportWorkStreamResponse]:
        """ReportWork's requests over one open call, each answered in turn.

        A unary call costs the supervisor about four times what a message on an open call
        does (docs/benchmarks.md, farm throughput): on a stream the farm benchmark's frames
        cost it a third less CPU. A refused request ends the call with its status (raised here
        like ReportWork's). Between requests the call is idle; :meth:`end_streams` ends such
        calls when the supervisor stops, so that they do not hold its shutdown.
        """
        task = asyncio.current_task()
        assert task is not None
        pending = aiter(requests)
        while not self._stopping.is_set():
            self._idle_streams.add(task)
            try:
                message = await anext(pending)
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                if not self._stopping.is_set():
                    raise
                task.uncancel()
                return
            finally:
                self._idle_streams.discard(task)
            response = await self._report_work(message.request, context, "request.")
            yield worker_pb2.ReportWorkStreamResponse(response=response)

    def end_streams(self) -> None:
        """The supervisor stops: end the report streams waiting for their next request (a
        request being answered is answered first, then its stream ends)."""
        self._stopping.set()
        for task in list(self._idle_streams):
            task.cancel()

    async def _report_work(
        self, request: worker_pb2.ReportWorkRequest, context: Context, where: str = ""
    ) -> worker_pb2.ReportWorkResponse:
        """``where``: the path of ``request`` in the message, before the fields named in
        errors (``request.`` on a stream)."""
        _check(
            [FieldError(where + e.path, e.message) for e in work_reports.check_report_work(request)]
        )
        sink = self._known(request.worker_id, context)
        reports = work_reports.reports_of(request)
        # Every lease checked before any report is applied: one not this worker's refuses all.
        owned = [
            self._own_lease(request.worker_id, sink, r.lease_id, where + r.where) for r in reports
        ]
        ending = [r for r, own in zip(reports, owned, strict=True) if own and not r.started]
        ended, grants = await self.supervisor.report_many_and_lease_aside(
            [r.ended() for r in ending],
            worker_id=request.worker_id,
            max_leases=request.max_leases,
        )
        stored = dict(zip((r.lease_id for r in ending), ended, strict=True))
        accepted = [
            own and (r.started or stored[r.lease_id]) for r, own in zip(reports, owned, strict=True)
        ]
        own_report = bool(request.lease_id or not request.reports)
        return worker_pb2.ReportWorkResponse(
            accepted=accepted[0] if own_report else False,
            reports_accepted=accepted[1:] if own_report else accepted,
            leases=[lease_to_pb(g) for g in grants],
        )

    async def AppendOutput(
        self, request: worker_pb2.AppendOutputRequest, context: Context
    ) -> worker_pb2.AppendOutputResponse:
        _check(checks.check_append(request))
        sink = self._known(request.worker_id, context)
        if not self._own_lease(request.worker_id, sink, request.lease_id):
            return worker_pb2.AppendOutputResponse(accepted=False)
        entry = self.supervisor.lease_entry(request.lease_id)
        if entry is None:
            return worker_pb2.AppendOutputResponse(accepted=False)
        job, item = entry
        self.supervisor.append_output(
            job.id,
            item.index,
            item.attempts,
            request.stream == job_pb2.OUTPUT_STREAM_STDERR,
            request.data,
        )
        return worker_pb2.AppendOutputResponse(accepted=True)

    async def reap_lost_workers(self) -> None:
        """Requeue the leases of workers that stopped sending heartbeats."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            limit = time.monotonic() - MISSED_HEARTBEATS * self.heartbeat_seconds
            for worker_id, sink in list(self._sinks.items()):
                if sink.last_seen < limit:
                    try:
                        self.supervisor.drop_worker(
                            worker_id,
                            f"worker lost: no heartbeat for {MISSED_HEARTBEATS} periods",
                        )
                    except StorageError:
                        continue  # a full disk: the worker stays lost, tried again next period
                    del self._sinks[worker_id]
