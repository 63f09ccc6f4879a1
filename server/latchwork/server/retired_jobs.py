"""Retired jobs: finished jobs that left memory and are read from the store when asked for.

A farm's history grows without end; its live work does not. So a job that is final
(complete, failed, killed, removed), has been for ``keep_finished_seconds`` and runs nothing
leaves the :class:`~.job_index.JobIndex` (issue 16, item 1). Nothing is kept of it one by one:
only the farm's totals (so the overview and the metrics still count it), and the sets
of process groups and parents that have retired members (so that a lookup by label, a
group's members or a job's children know when to ask the store as well as memory).

Every lookup of a retired job by id, label or tree reads it back whole and puts it in memory
again (*revived*): whoever changes it then (a retry, a removal, a callback's run) changes the
one object the index holds, never a copy. A retired job has no callback state of its own to
lose: the trigger engine keeps every callback, and finds the jobs it names through these
lookups. Read-only listings (ListJobs, the Subscribe snapshot) read retired jobs without
reviving them.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

from . import queries
from .core.model import Job
from .core.states import JobStatus, WorkStatus
from .core.visibility import ReadScope
from .queries import JobQuery
from .store.history import FinishedFilter
from .store.protocol import HistoryReads
from .store.records import RetiredSummary

# Rows read at a time when a listing goes on into the retired jobs.
_LISTING_BATCH = 200
# Jobs read at a time from the store for a snapshot of every job.
_SNAPSHOT_BATCH = 1000


class RetiredJobs:
    """What the index keeps of its retired jobs: their number and statuses by user, their
    frames by status (by user too, for the users whose totals were asked for), and the
    groups and parents that have retired members. Kept true as jobs retire and revive."""

    def __init__(self, history: HistoryReads | None) -> None:
        self._history = history
        self._summary = RetiredSummary()
        self._frames: dict[WorkStatus, int] = {}
        # Filled on demand (a user's own overview): a pass over that user's stored frames.
        self._frames_by_user: dict[str, dict[WorkStatus, int]] = {}

    def reset(self, summary: RetiredSummary | None, resident: Iterable[Job]) -> None:
        """After a load: ``summary`` of the jobs the store kept (None: none), ``resident``
        the jobs loaded (their frames are the store's, less the retired ones')."""
        self._summary = summary if summary is not None else RetiredSummary()
        self._frames_by_user = {}
        self._frames = {}
        if summary is None:
            return
        frames = Counter(summary.stored_frames)
        for job in resident:
            if job.status is not JobStatus.REMOVED:
                frames.subtract(job.tally)
        self._frames = {status: count for status, count in frames.items() if count}

    @property
    def count(self) -> int:
        """How many jobs are retired now."""
        return self._summary.count

    def in_pgrp(self, pgrp: int) -> bool:
        """Whether ``pgrp`` may have retired members (True once it had one)."""
        return pgrp in self._summary.pgrps

    def has_children(self, parent_id: int) -> bool:
        """Whether ``parent_id`` may have retired children (True once it had one)."""
        return parent_id in self._summary.parents

    def retired(self, job: Job) -> None:
        """``job`` leaves memory: its part of the totals stays, counted here."""
        summary = self._summary
        summary.count += 1
        summary.pgrps.add(job.pgrp)
        if job.pid:
            summary.parents.add(job.pid)
        self._add(job, 1)

    def revived(self, job: Job) -> None:
        """``job`` was read back into memory: it is counted there again, no longer here."""
        self._summary.count -= 1
        self._add(job, -1)

    def _add(self, job: Job, sign: int) -> None:
        by_status = self._summary.jobs_by_user.setdefault(job.user, {})
        by_status[job.status] = by_status.get(job.status, 0) + sign
        if job.status is JobStatus.REMOVED:
            return
        frame_totals = [self._frames]
        if (of_user := self._frames_by_user.get(job.user)) is not None:
            frame_totals.append(of_user)
        for totals in frame_totals:
            for status, count in job.tally.items():
                if count:
                    totals[status] = totals.get(status, 0) + sign * count

    def totals(
        self, scope: ReadScope | None = None, resident: Iterable[Job] = ()
    ) -> tuple[Counter[JobStatus], Counter[WorkStatus]]:
        """The retired jobs and their frames by status, of the users ``scope`` sees (None:
        everyone's). ``resident``: the jobs in memory, needed the first time one user's
        frames are asked for (the store's count of them, less those in memory)."""
        jobs: Counter[JobStatus] = Counter()
        for user, job_statuses in self._summary.jobs_by_user.items():
            if scope is None or scope.sees_owner(user):
                jobs.update(job_statuses)
        if scope is None or scope.user is None:
            return jobs, Counter(self._frames)
        return jobs, Counter(self._user_frames(scope.user, resident))

    def _user_frames(self, user: str, resident: Iterable[Job]) -> dict[WorkStatus, int]:
        found = self._frames_by_user.get(user)
        if found is None:
            frames: Counter[WorkStatus] = Counter()
            if self._history is not None and self.count:
                frames.update(self._history.final_frames_of(user))
                for job in resident:
                    final = job.status.is_final and job.status is not JobStatus.REMOVED
                    if final and job.user == user:
                        frames.subtract(job.tally)
            found = self._frames_by_user[user] = {s: c for s, c in frames.items() if c}
        return found

    # --- listings: memory and store merged, nothing revived ------------------------------

    def listing(self, resident: Mapping[int, Job], query: JobQuery) -> list[Job]:
        """The jobs ``query`` selects, newest first, up to one more than its limit: those of
        ``resident`` and the retired ones the store holds, merged."""
        found = queries.list_jobs(resident, query)
        if not self.count or self._history is None:
            return found
        statuses = query.statuses or frozenset(s for s in JobStatus if s is not JobStatus.REMOVED)
        where = FinishedFilter(statuses, query.users, query.pgrps, query.parent_id, query.name_glob)
        wanted = query.limit + 1
        stored: list[Job] = []
        for job in self._history.finished_jobs_before(query.before_id, where, _LISTING_BATCH):
            if len(stored) >= wanted:
                break
            # A job also in memory (revived, or finished and not yet retired) is memory's.
            if job.id in resident or not queries.name_matches(job, query.name_glob):
                continue
            stored.append(job)
        merged = sorted([*found, *stored], key=lambda job: job.id, reverse=True)[:wanted]
        if not stored:
            return merged
        # Only the retired jobs that made the page are read whole (work items, instances).
        kept = {id(job) for job in stored}
        whole = iter(self._history.with_rows([job for job in merged if id(job) in kept]))
        return [next(whole) if id(job) in kept else job for job in merged]

    def every_job(self, resident: Mapping[int, Job]) -> Iterator[Job]:
        """Every job, ``resident`` and retired, in id order: the retired ones read from the
        store a batch at a time as the caller goes on (who must not let the loop turn
        meanwhile: ``resident`` may not change under it), so that a snapshot of the whole
        history never holds more than a batch of it as jobs."""
        jobs = sorted(resident.values(), key=lambda job: job.id)
        if not self.count or self._history is None:
            return iter(jobs)
        return heapq.merge(jobs, self._stored_only(resident), key=lambda job: job.id)

    def _stored_only(self, resident: Mapping[int, Job]) -> Iterator[Job]:
        assert self._history is not None
        after = 0
        while batch := self._history.jobs_after(after, _SNAPSHOT_BATCH):
            yield from (job for job in batch if job.id not in resident)
            after = batch[-1].id
