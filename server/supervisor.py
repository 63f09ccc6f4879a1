"""The supervisor application service: the one place where requests meet the core.

Every operation follows the same path: check the request, apply core transitions to the
in-memory model, write the changes and their events in one transaction, publish the events,
then carry out the effects (wake workers, signal processes). The gRPC servicers, the local
worker pool and remote workers all go through here.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .core import transitions
from .core.actions import JOB_ACTIONS, WORK_ACTIONS, Action
from .core.changes import Changes
from .core.command import ProcessSpec, process_for
from .core.model import Job, JobSpec, WorkItem
from .core.scheduler import Scheduler
from .core.states import JobStatus, WorkStatus
from .core.submission import (
    FieldError,
    SubmissionRejected,
    make_job,
    normalize,
    validate_submission,
)
from .core.transitions import RunOutcome
from .eventlog import EventLog
from .output import OutputStore
from .store import SqliteStore

log = logging.getLogger(__name__)


class NotFound(Exception):
    """A job or work item that does not exist."""


class RequestConflict(Exception):
    """A request id reused for a different request."""


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


@dataclass(frozen=True, slots=True)
class SubmitResult:
    jobs: list[Job]
    pgrp: int
    seq: int


@dataclass(frozen=True, slots=True)
class ControlResult:
    job_id: int
    work_name: str
    changed: bool
    job_status: JobStatus


@dataclass(slots=True)
class JobQuery:
    statuses: frozenset[JobStatus] = frozenset()
    users: frozenset[str] = frozenset()
    pgrps: frozenset[int] = frozenset()
    name_glob: str = ""
    parent_id: int = 0
    before_id: int = 0
    limit: int = 100


@dataclass(slots=True)
class _Worker:
    worker_id: str
    host: str
    sink: LeaseSink
    leases: set[str] = field(default_factory=set)


class Supervisor:
    def __init__(
        self,
        store: SqliteStore,
        outputs: OutputStore,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.outputs = outputs
        self.clock = clock
        self.log = EventLog(store)
        self.scheduler = Scheduler()
        self.jobs: dict[int, Job] = {}
        self._labels: dict[int, dict[str, int]] = {}
        self._children: dict[int, list[int]] = {}
        self._leases: dict[str, tuple[Job, WorkItem]] = {}
        self._workers: dict[str, _Worker] = {}
        self._lease_worker: dict[str, str] = {}
        self._last_job_id = 0
        self._work_wakeup = asyncio.Event()
        self._load()

    # --- state ---------------------------------------------------------------------------

    def _load(self) -> None:
        state = self.store.load()
        self.jobs = {}
        self._labels = {}
        self._children = {}
        self._leases = {}
        self.scheduler = Scheduler()
        self._last_job_id = state.last_job_id
        for job in state.jobs:
            self._index(job)
            for item in job.work:
                if item.status is WorkStatus.RUNNING and item.lease_id:
                    self._leases[item.lease_id] = (job, item)
                elif item.status is WorkStatus.PENDING:
                    self.scheduler.offer(job, item)

    def _index(self, job: Job) -> None:
        self.jobs[job.id] = job
        self._labels.setdefault(job.pgrp, {})[job.label] = job.id
        if job.pid:
            self._children.setdefault(job.pid, []).append(job.id)

    def get_job(self, job_id: int) -> Job | None:
        return self.jobs.get(job_id)

    def labels_in_pgrp(self, pgrp: int) -> set[str]:
        return set(self._labels.get(pgrp, {}))

    def job_by_label(self, pgrp: int, label: str) -> Job | None:
        job_id = self._labels.get(pgrp, {}).get(label)
        return self.jobs.get(job_id) if job_id is not None else None

    def children_of(self, job_id: int) -> list[int]:
        return list(self._children.get(job_id, ()))

    def _commit(self, changes: Changes, submission: tuple[str, str] | None = None) -> None:
        try:
            self.store.write(changes, submission)
        except Exception:
            log.exception("could not store changes; reloading state from the store")
            self._load()
            raise
        for job in changes.new_jobs:
            self._index(job)
        self.log.publish(changes.events)
        offered = False
        for job, work in changes.made_pending:
            # Queued even while the job is held: releasing the hold re-offers the job only.
            self.scheduler.offer(job, work)
            offered = True
        for job in changes.dirty_jobs.values():
            if job.dispatchable and job.tally[WorkStatus.PENDING]:
                self.scheduler.offer(job)
                offered = True
        for lease_id in changes.kill_leases:
            self._release_lease(lease_id, kill=True)
        for lease_id in changes.suspend_leases:
            if (sink := self._sink_for(lease_id)) is not None:
                sink.suspend(lease_id)
        for lease_id in changes.resume_leases:
            if (sink := self._sink_for(lease_id)) is not None:
                sink.resume(lease_id)
        if offered:
            self._wake_workers()

    def _sink_for(self, lease_id: str) -> LeaseSink | None:
        worker = self._workers.get(self._lease_worker.get(lease_id, ""))
        return worker.sink if worker else None

    def _release_lease(self, lease_id: str, *, kill: bool) -> None:
        self._leases.pop(lease_id, None)
        worker_id = self._lease_worker.pop(lease_id, None)
        worker = self._workers.get(worker_id or "")
        if worker is not None:
            worker.leases.discard(lease_id)
            if kill:
                worker.sink.kill(lease_id)

    def _wake_workers(self) -> None:
        self._work_wakeup.set()
        self._work_wakeup = asyncio.Event()

    def work_signal(self) -> asyncio.Event:
        """An event set the next time work may have become runnable.

        Take it before deciding to wait, so that nothing offered in between is missed.
        """
        return self._work_wakeup

    # --- submitting ----------------------------------------------------------------------

    def submit(
        self,
        specs: Sequence[JobSpec],
        *,
        pgrp: int = 0,
        user: str = "",
        request_id: str = "",
        digest: str = "",
    ) -> SubmitResult:
        if request_id:
            previous = self.store.find_submission(request_id)
            if previous is not None:
                if previous.digest != digest:
                    raise RequestConflict(
                        f"request_id {request_id!r} was already used for a different submission"
                    )
                return SubmitResult(
                    [self.jobs[i] for i in previous.job_ids], previous.pgrp, previous.seq
                )
        errors = validate_submission(specs, pgrp, self)
        if errors:
            raise SubmissionRejected(errors)
        changes = Changes(now=self.clock())
        jobs: list[Job] = []
        group = pgrp
        taken = self.labels_in_pgrp(pgrp) if pgrp else set()
        taken.update(spec.label for spec in specs if spec.label)
        for spec in specs:
            self._last_job_id += 1
            job_id = self._last_job_id
            group = group or job_id
            label = spec.label or _fresh_label(job_id, taken)
            normalized = normalize(spec)
            job = make_job(normalized, job_id, group, label, spec.user or user, changes.now)
            jobs.append(job)
            transitions.submit(changes, job)
        # On failure _commit reloads the state, job id counter included, from the store.
        self._commit(changes, (request_id, digest) if request_id else None)
        return SubmitResult(jobs, group, self.log.head_seq)

    # --- operator actions ----------------------------------------------------------------

    def control(
        self,
        action: Action,
        job_ids: Sequence[int],
        work: Sequence[tuple[int, str]],
        reason: str = "",
    ) -> tuple[list[ControlResult], int]:
        errors: list[FieldError] = []
        targets: list[tuple[Job, WorkItem | None]] = []
        if not job_ids and not work:
            errors.append(FieldError("job_ids", "name at least one job or work item"))
        for i, job_id in enumerate(job_ids):
            job = self.jobs.get(job_id)
            if job is None:
                errors.append(FieldError(f"job_ids[{i}]", f"job {job_id} does not exist"))
            elif job.removed and action is not Action.REMOVE:
                errors.append(FieldError(f"job_ids[{i}]", f"job {job_id} was removed"))
            else:
                targets.append((job, None))
        if work and action not in WORK_ACTIONS:
            errors.append(FieldError("work", f"{action.value} applies to whole jobs only"))
        for i, (job_id, work_name) in enumerate(work):
            job = self.jobs.get(job_id)
            if job is None:
                errors.append(FieldError(f"work[{i}].job_id", f"job {job_id} does not exist"))
                continue
            if job.removed:
                errors.append(FieldError(f"work[{i}].job_id", f"job {job_id} was removed"))
                continue
            item = job.work_named(work_name)
            if item is None:
                errors.append(
                    FieldError(f"work[{i}].work_name", f"job {job_id} has no work {work_name!r}")
                )
            else:
                targets.append((job, item))
        if errors:
            raise SubmissionRejected(errors)
        changes = Changes(now=self.clock())
        results: list[ControlResult] = []
        for job, item in targets:
            if item is None:
                changed = JOB_ACTIONS[action](changes, job, reason)
            else:
                changed = WORK_ACTIONS[action](changes, job, item, reason)
            results.append(ControlResult(job.id, item.name if item else "", changed, job.status))
        self._commit(changes)
        return [
            ControlResult(r.job_id, r.work_name, r.changed, self.jobs[r.job_id].status)
            for r in results
        ], self.log.head_seq

    # --- queries -------------------------------------------------------------------------

    def list_jobs(self, query: JobQuery) -> list[Job]:
        statuses = query.statuses or frozenset(s for s in JobStatus if s is not JobStatus.REMOVED)
        result: list[Job] = []
        ids = sorted(self.jobs, reverse=True)
        for job_id in ids:
            if query.before_id and job_id >= query.before_id:
                continue
            job = self.jobs[job_id]
            if job.status not in statuses:
                continue
            if query.users and job.user not in query.users:
                continue
            if query.pgrps and job.pgrp not in query.pgrps:
                continue
            if query.parent_id and job.pid != query.parent_id:
                continue
            if query.name_glob and not fnmatch.fnmatchcase(job.spec.name, query.name_glob):
                continue
            result.append(job)
            if len(result) > query.limit:
                break
        return result

    def work_of(self, job_id: int, work_name: str) -> tuple[Job, WorkItem]:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        item = job.work_named(work_name)
        if item is None:
            raise NotFound(f"job {job_id} has no work {work_name!r}")
        return job, item

    # --- workers -------------------------------------------------------------------------

    def register_worker(self, host: str, sink: LeaseSink) -> str:
        worker_id = uuid.uuid4().hex
        self._workers[worker_id] = _Worker(worker_id, host, sink)
        return worker_id

    def worker_leases(self, worker_id: str) -> set[str]:
        worker = self._workers.get(worker_id)
        return set(worker.leases) if worker else set()

    def knows_worker(self, worker_id: str) -> bool:
        return worker_id in self._workers

    def lease(self, worker_id: str, max_leases: int) -> list[LeaseGrant]:
        """Start up to ``max_leases`` work items on the worker, most urgent first."""
        worker = self._workers[worker_id]
        changes = Changes(now=self.clock())
        grants: list[LeaseGrant] = []
        while len(grants) < max_leases:
            picked = self.scheduler.next()
            if picked is None:
                break
            job, item, subjob = picked
            subjob_started = subjob.start_time if subjob.status is WorkStatus.RUNNING else 0.0
            lease_id = uuid.uuid4().hex
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
            if job.dispatchable and job.tally[WorkStatus.PENDING]:
                self.scheduler.offer(job)
        if grants:
            self._commit(changes)
        return grants

    def report(
        self, lease_id: str, outcome: RunOutcome, exit_code: int = 0, message: str = ""
    ) -> bool:
        """Record the end of a leased run. False when the lease was already taken back."""
        entry = self._leases.get(lease_id)
        if entry is None:
            return False
        job, item = entry
        changes = Changes(now=self.clock())
        if outcome is RunOutcome.TIMED_OUT and not message:
            message = f"timed out after {changes.now - item.start_time:.1f} s"
        accepted = transitions.finish_work(
            changes, job, item, lease_id, outcome, exit_code, message
        )
        self._release_lease(lease_id, kill=False)
        self._commit(changes)
        return accepted

    def lease_entry(self, lease_id: str) -> tuple[Job, WorkItem] | None:
        return self._leases.get(lease_id)

    def drop_worker(self, worker_id: str, reason: str) -> None:
        """Take back every lease of a worker that left or was lost."""
        worker = self._workers.pop(worker_id, None)
        if worker is None:
            return
        self._requeue(worker.leases, reason)

    def recover(self) -> list[str]:
        """Requeue work left running by a previous supervisor; returns its stale lease ids."""
        stale = list(self._leases)
        self._requeue(stale, "the supervisor restarted while it ran")
        return stale

    def requeue_all(self, reason: str) -> None:
        self._requeue(list(self._leases), reason)

    def _requeue(self, lease_ids: Iterable[str], reason: str) -> None:
        changes = Changes(now=self.clock())
        for lease_id in list(lease_ids):
            entry = self._leases.get(lease_id)
            if entry is not None:
                transitions.requeue_work(changes, entry[0], entry[1], reason)
                transitions.refresh_job(changes, entry[0])
        if not changes.empty:
            self._commit(changes)


def _time_limit(job: Job, subjob_started: float, now: float) -> float:
    """Seconds this run may take: the tighter of agenda_timeout and the instance's budget."""
    limits = []
    if job.spec.agenda_timeout > 0:
        limits.append(float(job.spec.agenda_timeout))
    if job.spec.timeout > 0:
        used = now - subjob_started if subjob_started else 0.0
        limits.append(max(job.spec.timeout - used, 0.001))
    return min(limits) if limits else 0.0


def _fresh_label(job_id: int, taken: set[str]) -> str:
    label = f"job{job_id}"
    suffix = 1
    while label in taken:
        suffix += 1
        label = f"job{job_id}_{suffix}"
    taken.add(label)
    return label
