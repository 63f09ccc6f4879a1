"""The worker and lease registry: which workers are connected, which leases each runs.

Kept apart from the commit path: the registry puts the transitions that start leases into the
caller's ``Changes`` (:mod:`.work_leasing`) and remembers the leases; the commit pipeline stores
them, and only after a commit releases a lease or reaches its worker's :class:`LeaseSink`.
:class:`WorkSignal` is how a commit that offered work wakes the workers waiting for it.

The lease decision is host-aware (docs/routing.md): the scheduler is asked for work that suits
the worker's host as the routing state sees it (:class:`~.routing_state.RoutingState`), and
each lease takes its job's reservation there (host slots, memory, GPUs, licences) until it is
released, whatever ends it: every end of a lease goes through :meth:`LeaseRegistry.release`.

After a restart the leases found running belong to no worker: those of remote workers wait
(:meth:`LeaseRegistry.await_reattach`) for their worker to register again and claim them
(:meth:`LeaseRegistry.reattach`, docs/operations.md); :mod:`.work_leasing` requeues those
left unclaimed when the grace period ends.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from .core import transitions
from .core.changes import Changes
from .core.command import ProcessSpec, process_for
from .core.model import Job, WorkItem
from .core.routing.hosts import Host
from .core.routing.reservations import host_share
from .core.scheduler import Scheduler, parse_key, routing_key
from .core.states import WorkStatus
from .routing_state import RoutingState
from .unguessable import UnguessableIds


class LeaseSink(Protocol):
    """A worker's side of the effects: signal the processes of its leases."""

    def kill(self, lease_id: str) -> None: ...

    def suspend(self, lease_id: str) -> None: ...

    def resume(self, lease_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class LeaseGrant:
    """Everything a worker needs to run one work item."""

    lease_id: str
    job_id: int
    work_name: str
    work_index: int
    subjob_id: int
    attempt: int
    process: ProcessSpec
    timeout_seconds: float


@dataclass(slots=True)
class _Worker:
    worker_id: str
    host: str
    sink: LeaseSink
    leases: set[str] = field(default_factory=set)


class LeaseRegistry:
    """The running leases (each with its job and work item) and the workers holding them.

    A reload of the model (:meth:`reset`, :meth:`restore`) replaces the leases' entries but
    keeps the workers and which lease ids each holds: they are the workers' side, which a
    failed commit does not change.
    """

    def __init__(self, routing: RoutingState | None = None) -> None:
        self._leases: dict[str, tuple[Job, WorkItem]] = {}
        self._workers: dict[str, _Worker] = {}
        self._lease_worker: dict[str, str] = {}
        # Leases found running at start that wait for their worker to re-attach them.
        self._unclaimed: set[str] = set()
        self.routing = routing or RoutingState()
        # Unguessable: only the worker that runs a lease may report it or re-attach it.
        self._lease_ids = UnguessableIds()

    # --- workers -------------------------------------------------------------------------

    def register_worker(self, host: str, sink: LeaseSink) -> str:
        # Unguessable, as lease ids are: a worker id is what a worker proves itself by.
        worker_id = secrets.token_hex(16)
        self._workers[worker_id] = _Worker(worker_id, host, sink)
        return worker_id

    def knows_worker(self, worker_id: str) -> bool:
        return worker_id in self._workers

    def worker_leases(self, worker_id: str) -> set[str]:
        """A copy of the lease ids the worker holds (empty for an unknown worker)."""
        worker = self._workers.get(worker_id)
        return set(worker.leases) if worker else set()

    def forget_worker(self, worker_id: str) -> None:
        del self._workers[worker_id]

    # --- leases --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every lease entry (the model is being reloaded from the store), and what
        they hold: those still running in the store take it again (:meth:`restore`)."""
        for lease_id in self._leases:
            self.routing.ended(lease_id)
        self._leases = {}

    def restore(self, lease_id: str, job: Job, item: WorkItem) -> None:
        """A lease found running in the store: it holds its job's reservation again."""
        self._leases[lease_id] = (job, item)
        self.routing.adopt(
            lease_id, parse_key(routing_key(job.spec)), self._lease_worker.get(lease_id)
        )

    def give_back(self, lease_id: str) -> None:
        """What the lease holds is free for the next decision (its end is being committed;
        should that fail, the reload takes it again)."""
        self.routing.ended(lease_id)

    def entry(self, lease_id: str) -> tuple[Job, WorkItem] | None:
        return self._leases.get(lease_id)

    # --- re-attaching after a restart ------------------------------------------------------

    def await_reattach(self, lease_ids: Iterable[str]) -> None:
        """These leases, found running at start, wait for their worker to claim them."""
        self._unclaimed.update(lease for lease in lease_ids if lease in self._leases)

    def unclaimed(self) -> list[str]:
        """The leases still waiting for their worker (those that ended meanwhile left out)."""
        self._unclaimed.intersection_update(self._leases)
        return sorted(self._unclaimed)

    def reattach(self, worker_id: str, lease_id: str) -> bool:
        """The worker claims a lease it still runs: True (it is the worker's again, and holds
        its job's reservation on the worker's host) when its work runs on the worker's host and
        the lease waits for a worker (since a restart) or is held by an earlier registration of
        that host (one whose answer the worker never got); False otherwise (taken back, ended,
        another host's). Only the worker that ran the lease knows its id."""
        worker = self._workers.get(worker_id)
        entry = self._leases.get(lease_id)
        if worker is None or entry is None:
            return False
        job, item = entry
        if item.status is not WorkStatus.RUNNING or item.lease_id != lease_id:
            return False
        holder = self._workers.get(self._lease_worker.get(lease_id, ""))
        if item.host != worker.host or (holder is None) != (lease_id in self._unclaimed):
            return False  # another host's, or ended meanwhile
        if holder is not None:
            if holder.host != worker.host or holder is worker:
                return holder is worker
            holder.leases.discard(lease_id)
        self._unclaimed.discard(lease_id)
        self._lease_worker[lease_id] = worker_id
        worker.leases.add(lease_id)
        self.routing.adopt(lease_id, parse_key(routing_key(job.spec)), worker_id)
        return True

    def lease_ids(self) -> Iterator[str]:
        return iter(self._leases)

    def sink_for(self, lease_id: str) -> LeaseSink | None:
        worker = self._workers.get(self._lease_worker.get(lease_id, ""))
        return worker.sink if worker else None

    def release(self, lease_id: str, *, kill: bool) -> None:
        """Forget a lease that ended; with ``kill``, signal its worker to kill its processes."""
        self._leases.pop(lease_id, None)
        self._unclaimed.discard(lease_id)
        self.routing.ended(lease_id)
        worker_id = self._lease_worker.pop(lease_id, None)
        worker = self._workers.get(worker_id or "")
        if worker is not None:
            worker.leases.discard(lease_id)
            if kill:
                worker.sink.kill(lease_id)

    def grant(
        self, changes: Changes, scheduler: Scheduler, worker_id: str, max_leases: int
    ) -> list[LeaseGrant]:
        """Start up to ``max_leases`` work items on the worker, most urgent first among
        those whose routing suits its host, into ``changes`` (which the caller commits)."""
        worker = self._workers[worker_id]
        grants: list[LeaseGrant] = []
        routing = self.routing
        host = routing.host_of(worker_id) or Host(worker.host, slots_total=_UNCOUNTED_SLOTS)
        while len(grants) < max_leases:
            picked = scheduler.next(host, routing.licences)
            if picked is None:
                break
            job, item, subjob = picked
            lease_id = self._lease_ids.next()
            job_routing = scheduler.routing_of(job)
            if not routing.started(worker_id, lease_id, job_routing):
                scheduler.offer(job, item)  # a licence taken meanwhile: never oversubscribe
                break
            host = host.with_usage(host.in_use.plus(*host_share(job_routing.reservation)))
            subjob_started = subjob.start_time if subjob.status is WorkStatus.RUNNING else 0.0
            transitions.start_work(changes, job, item, subjob, lease_id, worker.host)
            grants.append(
                LeaseGrant(
                    lease_id=lease_id,
                    job_id=job.id,
                    work_name=item.name,
                    work_index=item.index,
                    subjob_id=subjob.id,
                    attempt=item.attempts,
                    process=process_for(job, item, subjob.id, lease_id),
                    timeout_seconds=_time_limit(job, subjob_started, changes.now),
                )
            )
            self._leases[lease_id] = (job, item)
            self._lease_worker[lease_id] = worker_id
            worker.leases.add(lease_id)
        return grants


_UNCOUNTED_SLOTS = 1 << 20
"""A host no registry describes: its worker bounds its slots (``max_leases``)."""


class WorkSignal:
    """Tells waiting workers that work may have become runnable (the commit's last effect)."""

    def __init__(self) -> None:
        self._wakeup = asyncio.Event()

    def current(self) -> asyncio.Event:
        """An event set the next time work may have become runnable.

        Take it before deciding to wait, so that nothing offered in between is missed.
        """
        return self._wakeup

    def wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()


def _time_limit(job: Job, subjob_started: float, now: float) -> float:
    """Seconds this run may take: the tighter of agenda_timeout and the instance's budget."""
    limits = []
    if job.spec.agenda_timeout > 0:
        limits.append(float(job.spec.agenda_timeout))
    if job.spec.timeout > 0:
        used = now - subjob_started if subjob_started else 0.0
        limits.append(max(job.spec.timeout - used, 0.001))
    return min(limits) if limits else 0.0
