"""Work leasing: workers register, lease work items, report how they ended, and leave.

The registry (:class:`~.leases.LeaseRegistry`) knows the workers and their leases; this service
turns their requests into transitions and commits them. A lease is released only after the
commit that ends it: had the commit failed, the reloaded model still has the lease running,
and the worker's retried report must find it still its own. The same holds for requeueing the
leases of a worker that left, or of a previous supervisor (:meth:`WorkLeasing.recover`).

A restart of the supervisor (kill -9, SIGTERM, an upgrade) does not stop remote frames: their
workers keep running them and register again when it is back, naming the leases they hold.
So at start the leases of remote hosts stay running for a grace period
(``reattach_grace_seconds``) and a worker of the lease's host re-attaches them
(:meth:`WorkLeasing.reattach`); what is not claimed when it ends is requeued
(:meth:`WorkLeasing.requeue_unclaimed`). The frames of the supervisor's own pool die with it
(or are killed at start), so theirs are requeued at once, as on a shutdown
(:meth:`WorkLeasing.requeue_on_shutdown`). docs/operations.md tells the operator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .commit_pipeline import CommitPipeline
from .core import transitions
from .core.changes import Changes
from .core.model import Job, WorkItem
from .core.transitions import WorkOutcome
from .host_registry import HostInfo, HostRegistry
from .job_index import JobIndex
from .leases import LeaseGrant, LeaseRegistry, LeaseSink, WorkSignal

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EndedRun:
    """A worker's report that a leased run ended: how, with which exit code, why."""

    lease_id: str
    outcome: WorkOutcome
    exit_code: int = 0
    message: str = ""


class WorkLeasing:
    """Workers and their leases: register, lease, report, drop, recover and requeue."""

    def __init__(
        self,
        leasing: LeaseRegistry,
        index: JobIndex,
        pipeline: CommitPipeline,
        work_signal: WorkSignal,
        clock: Callable[[], float],
        hosts: HostRegistry,
    ) -> None:
        self._leasing = leasing
        self._hosts = hosts
        self._index = index
        self._pipeline = pipeline
        self._signal = work_signal
        self._clock = clock
        # After a restart: when the grace for re-attaching ends (clock time), and its length.
        self._grace: tuple[float, float] | None = None

    def work_signal(self) -> asyncio.Event:
        """An event set the next time work may have become runnable.

        Take it before deciding to wait, so that nothing offered in between is missed.
        """
        return self._signal.current()

    def register_worker(self, host: str, sink: LeaseSink, info: HostInfo | None = None) -> str:
        """A worker joins; with ``info`` (what it declares about its host) its host is up."""
        worker_id = self._leasing.register_worker(host, sink)
        try:
            self._hosts.register(worker_id, info)
        except BaseException:
            self._leasing.forget_worker(worker_id)
            raise
        return worker_id

    def heartbeat(self, worker_id: str) -> None:
        self._hosts.heartbeat(worker_id)

    def worker_leases(self, worker_id: str) -> set[str]:
        return self._leasing.worker_leases(worker_id)

    def knows_worker(self, worker_id: str) -> bool:
        return self._leasing.knows_worker(worker_id)

    def lease(self, worker_id: str, max_leases: int) -> list[LeaseGrant]:
        """Start up to ``max_leases`` work items on the worker, most urgent first."""
        if not self._hosts.accepts_work(worker_id):
            return []  # its host is locked (draining) or down
        changes = Changes(now=self._clock())
        grants = self._leasing.grant(changes, self._index.scheduler, worker_id, max_leases)
        if grants:
            self._pipeline.commit(changes)
        return grants

    async def lease_aside(self, worker_id: str, max_leases: int) -> list[LeaseGrant]:
        """:meth:`lease`, its commit sent in a group with others, as a report's is
        (:meth:`report_many_and_lease_aside`): the gRPC LeaseWork's. Made at once, its
        commit first landed every report queued and then waited for its own round trip on
        PostgreSQL, holding the event loop."""
        _, grants = await self.report_many_and_lease_aside(
            (), worker_id=worker_id, max_leases=max_leases
        )
        return grants

    def report(
        self, lease_id: str, outcome: WorkOutcome, exit_code: int = 0, message: str = ""
    ) -> bool:
        """Record the end of a leased run. False when the lease was already taken back."""
        accepted, _ = self.report_and_lease(lease_id, outcome, exit_code, message)
        return accepted

    def report_and_lease(
        self,
        lease_id: str,
        outcome: WorkOutcome,
        exit_code: int = 0,
        message: str = "",
        *,
        worker_id: str = "",
        max_leases: int = 0,
    ) -> tuple[bool, list[LeaseGrant]]:
        """Record the end of a run and lease the worker's next work in the same transaction.

        One commit instead of two per frame: the slot a frame frees is refilled at once.
        """
        report = EndedRun(lease_id, outcome, exit_code, message)
        accepted, grants = self.report_many_and_lease(
            [report], worker_id=worker_id, max_leases=max_leases
        )
        return accepted[0], grants

    def report_many_and_lease(
        self, reports: Sequence[EndedRun], *, worker_id: str = "", max_leases: int = 0
    ) -> tuple[list[bool], list[LeaseGrant]]:
        """Record the ends of several runs and lease the worker's next work, all in one
        transaction: a remote worker's batch of reports answered with its next leases.

        Returns whether each report was accepted (False: its lease was already taken back),
        in order, and the new leases. The lease ids must be distinct (the caller checks).
        """
        changes, accepted, ended, grants = self._report_and_grant(reports, worker_id, max_leases)
        if not changes.empty:
            self._pipeline.commit(changes)
        # Only now: had the commit failed, the leases would still be running in the reloaded
        # model, and the worker's retried report must find them still its own.
        self._release(ended)
        return accepted, grants

    async def report_many_and_lease_aside(
        self, reports: Sequence[EndedRun], *, worker_id: str = "", max_leases: int = 0
    ) -> tuple[list[bool], list[LeaseGrant]]:
        """:meth:`report_many_and_lease`, its commit sent in a group with others
        (:meth:`.commit_pipeline.CommitPipeline.commit_aside`): the gRPC service's."""
        await self._pipeline.room()
        changes, accepted, ended, grants = self._report_and_grant(reports, worker_id, max_leases)
        if changes.empty:
            self._release(ended)
        else:
            # Shielded: a caller that goes away does not take the commit with it.
            await asyncio.shield(self._pipeline.commit_aside(changes, lambda: self._release(ended)))
        return accepted, grants

    def _report_and_grant(
        self, reports: Sequence[EndedRun], worker_id: str, max_leases: int
    ) -> tuple[Changes, list[bool], list[str], list[LeaseGrant]]:
        """The transitions of reports and of the next leases: the changes to commit, whether
        each report was accepted, the leases that ended, the new leases."""
        changes = Changes(now=self._clock())
        accepted: list[bool] = []
        ended: list[str] = []
        for report in reports:
            entry = self._leasing.entry(report.lease_id)
            if entry is None:
                accepted.append(False)
                continue
            job, item = entry
            message = report.message
            if report.outcome is WorkOutcome.TIMED_OUT and not message:
                message = f"timed out after {changes.now - item.start_time:.1f} s"
            accepted.append(
                transitions.finish_work(
                    changes, job, item, report.lease_id, report.outcome, report.exit_code, message
                )
            )
            self._index.offer(changes)
            # Its slots and licences are free for the refill below (taken again on a reload).
            self._leasing.give_back(report.lease_id)
            ended.append(report.lease_id)
        grants = (
            self._leasing.grant(changes, self._index.scheduler, worker_id, max_leases)
            if max_leases > 0
            and self._leasing.knows_worker(worker_id)  # (gone while it waited for room)
            and self._hosts.accepts_work(worker_id)
            else []
        )
        return changes, accepted, ended, grants

    def _release(self, lease_ids: list[str]) -> None:
        for lease_id in lease_ids:
            self._leasing.release(lease_id, kill=False)

    def lease_entry(self, lease_id: str) -> tuple[Job, WorkItem] | None:
        return self._leasing.entry(lease_id)

    def lease_sink(self, lease_id: str) -> LeaseSink | None:
        """The sink of the worker that holds the lease (None: ended, or waiting to be
        re-attached): the WorkerService's proof that a lease is the caller's."""
        return self._leasing.sink_for(lease_id)

    def drop_worker(self, worker_id: str, reason: str) -> None:
        """Take back every lease of a worker that left or was lost."""
        if not self._leasing.knows_worker(worker_id):
            return
        # Requeued first: should that fail (a full disk), the worker and its leases stay
        # known, so the caller can try again instead of leaving them running for nobody.
        self._requeue(self._leasing.worker_leases(worker_id), reason)
        self._hosts.worker_gone(worker_id, reason)  # its host is down (an event)
        self._leasing.forget_worker(worker_id)

    def recover(self, grace_seconds: float = 0.0) -> list[str]:
        """Work left running by a previous supervisor: with a grace period, the leases of
        remote hosts wait that long for their workers to re-attach them; the others (all of
        them without one) are requeued now. Returns the requeued lease ids, whose processes
        (the local pool's) the caller kills."""
        leases = list(self._leasing.lease_ids())
        remote = {lease for lease in leases if grace_seconds > 0 and self._runs_remotely(lease)}
        stale = [lease for lease in leases if lease not in remote]
        self._requeue(stale, "the supervisor restarted while it ran")
        if remote:
            self._leasing.await_reattach(remote)
            self._grace = (self._clock() + grace_seconds, grace_seconds)
        return stale

    def reattach(self, worker_id: str, lease_ids: Iterable[str]) -> list[str]:
        """A worker that registered again claims the leases it still holds: those it may keep
        (they wait for it since the restart, on its host); it kills the frames of the others."""
        claimed = list(lease_ids)
        kept = [lease for lease in claimed if self._leasing.reattach(worker_id, lease)]
        if claimed:
            log.info(
                "worker %s re-attached %d of the %d leases it claimed",
                worker_id,
                len(kept),
                len(claimed),
            )
        return kept

    def reattach_deadline(self) -> float | None:
        """When the grace period for re-attaching ends (clock time), None when no lease waits."""
        if self._grace is None or not self._leasing.unclaimed():
            return None
        return self._grace[0]

    def requeue_unclaimed(self) -> list[str]:
        """Once the grace period is over, requeue the leases no worker re-attached (their
        workers did not come back); returns their ids. Nothing before its end."""
        if self._grace is None or self._clock() < self._grace[0]:
            return []
        unclaimed = self._leasing.unclaimed()
        self._requeue(
            unclaimed,
            f"its worker did not re-attach it within {self._grace[1]:g} s of the supervisor's "
            "restart",
        )
        self._grace = None
        return unclaimed

    def requeue_unheld(self, worker_id: str, lease_ids: Iterable[str]) -> None:
        """Requeue leases the worker says it does not hold: the answer that granted them
        never reached it (a connection cut after the commit), so no frame runs for them. Only
        the worker's own leases are touched."""
        own = self._leasing.worker_leases(worker_id)
        self._requeue(
            [lease for lease in lease_ids if lease in own],
            "requeued: its worker does not hold the lease (the answer that granted it was lost)",
        )

    def requeue_on_shutdown(self, reason: str) -> None:
        """The supervisor stops: requeue the work whose processes stop with it (its own pool's);
        remote frames run on and are re-attached at the next start, as after a crash."""
        local = [lease for lease in self._leasing.lease_ids() if not self._runs_remotely(lease)]
        self._requeue(local, reason)

    def requeue_all(self, reason: str) -> None:
        self._requeue(list(self._leasing.lease_ids()), reason)

    def _runs_remotely(self, lease_id: str) -> bool:
        """Whether the lease's frame runs on a remote worker's host, which keeps running it
        while the supervisor is away (a host the registry does not know counts as local: its
        run is requeued, as before hosts were stored)."""
        entry = self._leasing.entry(lease_id)
        if entry is None:
            return False
        host = self._hosts.get(entry[1].host)
        return host is not None and not host.info.local

    def _requeue(self, lease_ids: Iterable[str], reason: str) -> None:
        changes = Changes(now=self._clock())
        for lease_id in list(lease_ids):
            entry = self._leasing.entry(lease_id)
            if entry is not None:
                transitions.requeue_work(changes, entry[0], entry[1], reason)
                transitions.refresh_job(changes, entry[0])
        if not changes.empty:
            self._pipeline.commit(changes)
