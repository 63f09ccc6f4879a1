"""Large Submits written staged: short transactions, visible only at the end.

Storing 100,000 work items takes a few hundred ms: in one transaction it would hold the event
loop, and every other RPC, that long. :class:`Stager` writes such a Submit in chunks instead and
holds, meanwhile, what the Submit will use (its job ids and labels) so that no other Submit
takes them. It owns the labels' reservation (:meth:`Stager.reserved_labels`); the job ids it
takes from the host's counter, which never gives them again; the final commit is the host's,
reached through the narrow :class:`StagingHost`.

On PostgreSQL, whose store has a side connection, the chunks go from a thread on it, and so
do those of far smaller Submits (a few thousand rows): their rows, in the commit queue's
transaction, made every report queued behind them wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from typing import Protocol

from .core.model import Job, JobSpec
from .core.submission import (
    FieldError,
    JobLookup,
    SubmissionRejected,
    context_problems,
    place_job,
)
from .core.triggers.dependency import Desugared, hold, read_dependency
from .store.protocol import Store
from .store.records import StagedChunk
from .throttled_log import ThrottledLog
from .triggering import Triggering

log = logging.getLogger(__name__)
_storage_log = ThrottledLog(log)

STAGE_ABOVE_ROWS = 5_000
STAGE_ABOVE_JOBS = 500
"""A Submit with more work items and instances, or more jobs, than these is written staged
(see :meth:`Stager.submit`). Below, one transaction is cheaper (~3 us per row and ~30 us per
job on the loop, under 30 ms in all) and faster: staging a Submit of 250 jobs and 2,750 rows
made it 4 ms slower (bench/submit_throughput.py)."""
STAGE_APART_ABOVE_ROWS = 1_000
"""On a store with a side connection (PostgreSQL), a Submit of more rows than this is staged
from a thread on that connection: its rows cost the database ~4 us each, which in the one
transaction of the commit queue every write behind it would wait for (docs/benchmarks.md,
session 16)."""
STAGE_CHUNK_ROWS = 2_000
"""Rows per staged transaction: a few ms on the loop each (~1-2 us per row)."""
STAGE_PAUSE_SECONDS = 0.001
"""Between two staged chunks: long enough for other RPCs to be served (see Stager.submit)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A submission whose own checks passed off the event loop, its jobs built (work items,
    instances) but not yet placed: ids, group, labels and owner are given when it is applied."""

    jobs: list[Job]


@dataclass(frozen=True, slots=True)
class SubmitResult:
    jobs: list[Job]
    pgrp: int
    seq: int


@dataclass(slots=True)
class _Reservation:
    """What a Submit being staged holds: its job ids and its labels in its group."""

    first_id: int
    last_id: int
    pgrp: int
    """The group the jobs go into (the first job's id for a new group)."""
    labels: list[str]
    """In job order."""


class StagingHost(JobLookup, Protocol):
    """What the stager needs from its host (``Submissions``): the checks against the stored
    state, the job id counter, and the one commit that makes the staged jobs visible."""

    def take_job_ids(self, count: int) -> int:
        """Advance the job id counter by ``count``; the first id taken. These ids are never
        given again, even if the Submit fails."""
        ...

    def stored_labels(self, pgrp: int) -> Container[str]:
        """The labels of the jobs stored (visible) in ``pgrp``, reservations left out."""
        ...

    async def commit_staged(
        self,
        specs: Sequence[JobSpec],
        jobs: list[Job],
        desugared: list[Desugared | None],
        submission: tuple[str, str] | None,
        now: float,
    ) -> int:
        """Compile the callbacks and submit the jobs in one commit (raises with every
        problem), made before the first await; the seq of the Submit's last event."""
        ...


def fresh_label(job_id: int, taken: set[str]) -> str:
    """A label for a job submitted without one, not in ``taken`` (which it is added to)."""
    label = f"job{job_id}"
    suffix = 1
    while label in taken:
        suffix += 1
        label = f"job{job_id}_{suffix}"
    taken.add(label)
    return label


class Stager:
    """Writes large Submits staged and holds, meanwhile, the job ids and labels they took."""

    def __init__(
        self,
        host: StagingHost,
        store: Store,
        triggering: Triggering,
        clock: Callable[[], float],
        *,
        retry_seconds: float,
    ) -> None:
        """``retry_seconds``: how long the deletion of a failed Submit's staged rows waits,
        when the store refuses it, before it is tried again."""
        self._host = host
        self._store = store
        self._triggering = triggering
        self._clock = clock
        self._retry_seconds = retry_seconds
        # Submits being staged: the labels they hold per group (a retry of one waits for it in
        # the host: server/request_turns.py).
        self._reserved_labels: dict[int, set[str]] = {}
        self._cleanups: set[asyncio.Task[None]] = set()

    def reserved_labels(self, pgrp: int) -> set[str]:
        """The labels held in ``pgrp`` by Submits being staged (do not modify)."""
        return self._reserved_labels.get(pgrp, set())

    @staticmethod
    def should_stage(rows: int, jobs: int, *, apart: bool = False) -> bool:
        """Whether a Submit of ``jobs`` jobs and ``rows`` work items and instances is staged;
        ``apart``: the store stages on a side connection, from a thread."""
        return rows > (STAGE_APART_ABOVE_ROWS if apart else STAGE_ABOVE_ROWS) or (
            jobs > STAGE_ABOVE_JOBS
        )

    async def submit(
        self,
        specs: Sequence[JobSpec],
        pgrp: int,
        user: str,
        submission: tuple[str, str] | None,
        prepared: Prepared,
    ) -> SubmitResult:
        """Apply a large, prepared Submit in steps, still atomically (all jobs or none).

        1. on the loop: the checks against the stored state, then the job ids and labels are
           reserved (the host's ``labels_in_pgrp`` sees them, so a concurrent Submit
           cannot take them);
        2. in a thread: the jobs are placed and held (dependencies) and their rows built;
        3. chunk by chunk, each a short transaction (other requests served in between): the
           rows are written staged, invisible to everything that reads jobs; on the loop, or,
           where the store has a side connection (PostgreSQL), from a thread on it, so that
           neither the loop nor the commits queued on the loop's connection wait for them;
        4. on the loop, in one transaction (the host's ``commit_staged``): the checks again,
           callbacks, events, the submission record, and the jobs made visible.

        On any failure the staged rows are deleted (also at the next start, should the
        process die meanwhile) and the reservation released; job ids it took are not reused
        (a gap in job ids, never in event seqs: events are written in step 4 only).
        """
        errors = context_problems(specs, pgrp, self._host)
        if errors:
            raise SubmissionRejected(errors)
        now = self._clock()
        first_id = self._host.take_job_ids(len(specs))
        group = pgrp or first_id
        taken = self._host.labels_in_pgrp(pgrp) if pgrp else set()
        taken.update(spec.label for spec in specs if spec.label)
        labels = [spec.label or fresh_label(first_id + i, taken) for i, spec in enumerate(specs)]
        held = _Reservation(first_id, first_id + len(specs) - 1, group, labels)
        self._reserve(held)
        staged = False
        try:
            jobs, desugared, chunks, problems = await asyncio.to_thread(
                self._build, specs, prepared, held, user, now
            )
            if problems:
                raise SubmissionRejected(problems)
            staged = True
            for chunk in chunks:
                if self._store.side_connection:  # the loop serves others during the write
                    await asyncio.to_thread(self._store.stage, chunk)
                else:
                    self._store.stage(chunk)
                    await asyncio.sleep(STAGE_PAUSE_SECONDS)
            # Released for the final checks, which see only what is stored; nothing awaits
            # from here to the final commit, so no other Submit can see the labels free.
            self._release(held)
            return await self._finish(specs, pgrp, jobs, desugared, held, submission, now)
        except BaseException:
            if staged:
                # Kept reserved until deleted: the rows still hold the ids and labels.
                self._reserve(held)
                cleanup = asyncio.get_running_loop().create_task(self._drop(held))
                self._cleanups.add(cleanup)
                cleanup.add_done_callback(self._cleanups.discard)
            else:
                self._release(held)
            raise

    def _build(
        self,
        specs: Sequence[JobSpec],
        prepared: Prepared,
        held: _Reservation,
        user: str,
        now: float,
    ) -> tuple[list[Job], list[Desugared | None], list[StagedChunk], list[FieldError]]:
        """Place and hold the jobs and build their rows: pure, run in a thread."""
        jobs: list[Job] = []
        desugared: list[Desugared | None] = []
        problems: list[FieldError] = []
        for offset, (spec, unplaced) in enumerate(zip(specs, prepared.jobs, strict=True)):
            job_id, label = held.first_id + offset, held.labels[offset]
            job = place_job(unplaced, job_id, held.pgrp, label, spec.user or user, now)
            dependency, found = read_dependency(spec.dependency, f"jobs[{offset}]")
            problems.extend(found)
            if dependency is not None:
                hold(job, dependency)
            jobs.append(job)
            desugared.append(dependency)
        if problems:
            return jobs, desugared, [], problems
        return jobs, desugared, self._store.staged_chunks(jobs, STAGE_CHUNK_ROWS), []

    async def _finish(
        self,
        specs: Sequence[JobSpec],
        pgrp: int,
        jobs: list[Job],
        desugared: list[Desugared | None],
        held: _Reservation,
        submission: tuple[str, str] | None,
        now: float,
    ) -> SubmitResult:
        """Step 4 of :meth:`submit`: check again and make the jobs visible, in one piece on
        the loop (the reservation is released: only the stored state counts)."""
        errors = context_problems(specs, pgrp, self._host)
        used = self._host.stored_labels(held.pgrp)
        errors.extend(
            FieldError(f"jobs[{i}].label", f"label {job.label!r} was taken meanwhile")
            for i, job in enumerate(jobs)
            if job.label in used and not specs[i].label
        )
        if errors:
            raise SubmissionRejected(errors)
        seq = await self._host.commit_staged(specs, jobs, desugared, submission, now)
        return SubmitResult(jobs, held.pgrp, seq)

    def _reserve(self, held: _Reservation) -> None:
        self._reserved_labels.setdefault(held.pgrp, set()).update(held.labels)

    def _release(self, held: _Reservation) -> None:
        labels = self._reserved_labels.get(held.pgrp)
        if labels is not None:
            labels.difference_update(held.labels)
            if not labels:
                del self._reserved_labels[held.pgrp]

    async def _drop(self, held: _Reservation) -> None:
        """Delete a failed Submit's staged rows, then release what it reserved. Retried
        while the store refuses (a full disk); a restart deletes them too."""
        while True:
            try:
                self._store.delete_staged(held.first_id, held.last_id)
                break
            except Exception as error:
                _storage_log.warning("could not delete staged jobs (%s); retrying", error)
                await asyncio.sleep(self._retry_seconds)
        self._release(held)
