"""Work leasing: workers register, lease work items, report how they ended, and leave.

The registry (:class:`~.leases.LeaseRegistry`) knows the workers and their leases; this service
turns their requests into transitions and commits them. A lease is released only after the
commit that ends it: had the commit failed, the reloaded model still has the lease running,
and the worker's retried report must find it still its own. The same holds for requeueing the
leases of a worker that left, or of a previous supervisor (:meth:`WorkLeasing.recover`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from .commit_pipeline import CommitPipeline
from .core import transitions
from .core.changes import Changes
from .core.model import Job, WorkItem
from .core.transitions import WorkOutcome
from .host_registry import HostInfo, HostRegistry
from .job_index import JobIndex
from .leases import LeaseGrant, LeaseRegistry, LeaseSink, WorkSignal


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
        entry = self._leasing.entry(lease_id)
        changes = Changes(now=self._clock())
        accepted = False
        if entry is not None:
            job, item = entry
            if outcome is WorkOutcome.TIMED_OUT and not message:
                message = f"timed out after {changes.now - item.start_time:.1f} s"
            accepted = transitions.finish_work(
                changes, job, item, lease_id, outcome, exit_code, message
            )
            self._index.offer(changes)
            # Its slots and licences are free for the refill below (taken again on a reload).
            self._leasing.give_back(lease_id)
        grants = (
            self._leasing.grant(changes, self._index.scheduler, worker_id, max_leases)
            if max_leases > 0 and self._hosts.accepts_work(worker_id)
            else []
        )
        if not changes.empty:
            self._pipeline.commit(changes)
        # Only now: had the commit failed, the lease would still be running in the reloaded
        # model, and the worker's retried report must find it still its own.
        if entry is not None:
            self._leasing.release(lease_id, kill=False)
        return accepted, grants

    def lease_entry(self, lease_id: str) -> tuple[Job, WorkItem] | None:
        return self._leasing.entry(lease_id)

    def drop_worker(self, worker_id: str, reason: str) -> None:
        """Take back every lease of a worker that left or was lost."""
        if not self._leasing.knows_worker(worker_id):
            return
        # Requeued first: should that fail (a full disk), the worker and its leases stay
        # known, so the caller can try again instead of leaving them running for nobody.
        self._requeue(self._leasing.worker_leases(worker_id), reason)
        self._hosts.worker_gone(worker_id, reason)  # its host is down (an event)
        self._leasing.forget_worker(worker_id)

    def recover(self) -> list[str]:
        """Requeue work left running by a previous supervisor; returns its stale lease ids."""
        stale = list(self._leasing.lease_ids())
        self._requeue(stale, "the supervisor restarted while it ran")
        return stale

    def requeue_all(self, reason: str) -> None:
        self._requeue(list(self._leasing.lease_ids()), reason)

    def _requeue(self, lease_ids: Iterable[str], reason: str) -> None:
        changes = Changes(now=self._clock())
        for lease_id in list(lease_ids):
            entry = self._leasing.entry(lease_id)
            if entry is not None:
                transitions.requeue_work(changes, entry[0], entry[1], reason)
                transitions.refresh_job(changes, entry[0])
        if not changes.empty:
            self._pipeline.commit(changes)
