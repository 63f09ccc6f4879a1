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
reviving them; in a thread, on the store's reader connection, since they may read the whole
history (:class:`HistorySnapshot` says why a snapshot read so is still exact).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from . import queries
from .core.model import Job
from .core.states import JobStatus, WorkStatus
from .core.visibility import ReadScope
from .queries import JobQuery
from .store.history import FinishedFilter, JobsWhere
from .store.protocol import HistoryReads
from .store.records import RetiredSummary

#: Jobs read at a time from the store for a snapshot of every job.
SNAPSHOT_BATCH = 1000

Encoded = TypeVar("Encoded")


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
        # The snapshots open (:meth:`snapshot`): told of each revival and new job.
        self._snapshots: list[HistorySnapshot] = []
        # One long read of the history in a thread at a time: they take turns on the store's
        # reader anyway, and waiting here rather than in a thread leaves the executor's
        # threads to others (a Submit's request-id lookup on PostgreSQL).
        self._read_turn = asyncio.Lock()

    def reset(self, summary: RetiredSummary | None, resident: Iterable[Job]) -> None:
        """After a load: ``summary`` of the jobs the store kept (None: none), ``resident``
        the jobs loaded (their frames are the store's, less the retired ones')."""
        for snapshot in self._snapshots:
            snapshot.reloaded = True
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
        """``job`` was read back into memory: it is counted there again, no longer here (and
        the open snapshots hear of it, before anything can change it)."""
        self._summary.count -= 1
        self._add(job, -1)
        for snapshot in self._snapshots:
            snapshot.revived(job)

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
        stored = self._history.read_finished_page(*_page_read(frozenset(resident), query))
        return _merged(found, stored, query.limit + 1)

    async def listing_aside(self, resident: Mapping[int, Job], query: JobQuery) -> list[Job]:
        """:meth:`listing`, the loop let go meanwhile: the jobs in memory looked at a slice at
        a time, the store read in a thread (a search by name among a million finished jobs
        takes half a second)."""
        gone: set[int] = set()
        found, looked_at = await queries.list_jobs_sliced(resident, query, gone)
        if not self.count or self._history is None:
            return found
        # Left to the store: the jobs not in memory when looked at (retired meanwhile) and
        # those not looked at (retired before, or read back since: memory's, below).
        read = _page_read(frozenset(looked_at).difference(gone), query)
        async with self._read_turn:
            stored = await asyncio.to_thread(self._history.read_finished_page, *read)
        # Revived meanwhile: the job is memory's now (the same job, maybe changed since).
        return _merged(found, [resident.get(job.id, job) for job in stored], query.limit + 1)

    def every_job(self, resident: Mapping[int, Job]) -> Iterator[Job]:
        """Every job, ``resident`` and retired, in id order: the retired ones read from the
        store a batch at a time as the caller goes on (who must not let the loop turn
        meanwhile: ``resident`` may not change under it). A whole view for tests and tools,
        read on the loop; a Subscribe's snapshot reads the history in a thread instead
        (:meth:`snapshot`)."""
        jobs = sorted(resident.values(), key=lambda job: job.id)
        if not self.count or self._history is None:
            return iter(jobs)
        return heapq.merge(jobs, self._stored_only(resident), key=lambda job: job.id)

    def _stored_only(self, resident: Mapping[int, Job]) -> Iterator[Job]:
        assert self._history is not None
        after = 0
        while batch := self._history.read_jobs_after(after, SNAPSHOT_BATCH):
            yield from (job for job in batch if job.id not in resident)
            after = batch[-1].id

    # --- a snapshot of every job, its retired part read in a thread ----------------------

    @contextlib.contextmanager
    def snapshot(
        self,
        resident: Mapping[int, Job],
        last_id: int,
        on_revived: Callable[[Job], None],
        narrowed: Narrowing,
    ) -> Iterator[HistorySnapshot]:
        """Every job as it is now, the retired ones to be read from a thread
        (:class:`HistorySnapshot`) while the loop goes on; ``on_revived`` is called with each
        retired job read back into memory meanwhile, before anything can change it."""
        if narrowed.job_ids:  # (a few jobs of 100,000 held: not a pass over all of them)
            in_memory = [resident[i] for i in sorted(narrowed.job_ids) if i in resident]
        else:
            in_memory = sorted(resident.values(), key=lambda job: job.id)
        snapshot = HistorySnapshot(
            self._history if self.count else None,
            in_memory,
            last_id,
            on_revived,
            self._read_turn,
            narrowed,
        )
        self._snapshots.append(snapshot)
        try:
            yield snapshot
        finally:
            self._snapshots.remove(snapshot)

    def created(self, job: Job) -> None:
        """``job`` is new (its commit begins): no open snapshot may show it."""
        for snapshot in self._snapshots:
            snapshot.created.add(job.id)


@dataclass(frozen=True, slots=True)
class Narrowing:
    """The jobs a snapshot's caller asks for, as far as the store's reads can narrow to them
    (empty: every job); the caller still filters what is read."""

    job_ids: frozenset[int] = frozenset()
    where: JobsWhere | None = None


#: Every job.
EVERY_JOB = Narrowing()


class HistorySnapshot:
    """Every job as it was when it was opened (:meth:`RetiredJobs.snapshot`): the jobs then
    in memory (:attr:`resident`, those asked for by id if any, to be read before the loop
    turns) and the retired ones, read
    from the store a batch at a time in a thread (:meth:`read_after`); on the loop, the
    reader leaves out those in :attr:`created` and takes those revived meanwhile as
    ``on_revived`` had them.

    Why a retired job read later is as it was at the opening: nothing changes a retired job
    in the store but a change made in memory after it was read back (revived), and the
    snapshot hears of the revival first (``on_revived``, with the job as it was). The jobs
    in memory at the opening are left out of the store's batches, and so are newer ones:
    those above the last id, and those whose ids a large Submit took before the opening but
    that became visible after it (:attr:`created`)."""

    def __init__(
        self,
        history: HistoryReads | None,
        resident: list[Job],
        last_id: int,
        on_revived: Callable[[Job], None],
        read_turn: asyncio.Lock,
        narrowed: Narrowing,
    ) -> None:
        self.resident = resident
        self.on_revived = on_revived
        self.created: set[int] = set()
        """Jobs whose commits began after the opening."""
        self.reloaded = False
        """Set when the supervisor took its state back from the store meanwhile (a failed
        commit): the snapshot can no longer be made true, and must be given up."""
        self._history = history
        self._resident_ids = frozenset(job.id for job in resident)
        self._last_id = last_id
        self._revived: set[int] = set()
        self._read_turn = read_turn
        self._where = narrowed.where
        # Asked for by id: only those are read (by id), not the whole history.
        self._ids: list[int] | None = None
        if narrowed.job_ids:
            self._ids = sorted(
                job_id
                for job_id in narrowed.job_ids
                if 0 < job_id <= last_id and job_id not in self._resident_ids
            )

    async def read_after(
        self, after_id: int, encode: Callable[[list[Job]], Encoded]
    ) -> tuple[Encoded, int]:
        """The next retired jobs above ``after_id``, in id order, as ``encode`` makes them
        (in the thread too: it is work the loop would otherwise do), and the id to read after
        next (0: no more)."""
        if self._history is None or after_id >= self._last_id or self._ids == []:
            return encode([]), 0  # nothing in the store to read: no turn waited for
        async with self._read_turn:
            return await asyncio.to_thread(self._read_after, after_id, encode)

    def _read_after(
        self, after_id: int, encode: Callable[[list[Job]], Encoded]
    ) -> tuple[Encoded, int]:
        assert self._history is not None
        if self._ids is not None:
            start = bisect.bisect_right(self._ids, after_id)
            ids = self._ids[start : start + SNAPSHOT_BATCH]
            more = start + SNAPSHOT_BATCH < len(self._ids)
            return encode(self._history.read_jobs(ids) if ids else []), (ids[-1] if more else 0)
        batch = self._history.read_jobs_after(after_id, SNAPSHOT_BATCH, self._last_id, self._where)
        jobs = [job for job in batch if job.id not in self._resident_ids]
        return encode(jobs), (batch[-1].id if len(batch) == SNAPSHOT_BATCH else 0)

    def revived(self, job: Job) -> None:
        """A retired job was read back into memory: the first time, ``on_revived`` hears of
        it, as it was at the opening."""
        if job.id not in self._revived and job.id not in self._resident_ids:
            self._revived.add(job.id)
            self.on_revived(job)


def _page_read(
    in_memory: frozenset[int], query: JobQuery
) -> tuple[int, FinishedFilter, int, Callable[[Job], bool]]:
    """What :meth:`~.store.protocol.HistoryReads.read_finished_page` is asked for a page of
    ``query``: the jobs looked at in memory left out (memory has them, maybe changed)."""
    statuses = query.statuses or frozenset(s for s in JobStatus if s is not JobStatus.REMOVED)
    where = FinishedFilter(statuses, query.users, query.pgrps, query.parent_id, query.name_glob)
    glob = query.name_glob

    def keep(job: Job) -> bool:
        return job.id not in in_memory and queries.name_matches(job, glob)

    return query.before_id, where, query.limit + 1, keep


def _merged(found: list[Job], stored: list[Job], wanted: int) -> list[Job]:
    """``found`` in memory and ``stored``, each newest first: the first ``wanted`` of both."""
    return sorted([*found, *stored], key=lambda job: job.id, reverse=True)[:wanted]
