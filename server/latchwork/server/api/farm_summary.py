"""SummarizeFarm on the wire: the farm at a glance (core.farm_summary) for one reader.

Every dashboard asks for it every few seconds. For a reader who sees everything (open mode,
``visibility = "all"``, an admin) it is read off the totals the supervisor keeps
(:mod:`..core.farm_counts`) and the event log's newest failures: no pass over the jobs. A reader
who sees only their own jobs needs a pass over every job:
- one summary per reader scope (everyone, or one user under ``visibility = "own"``) is shared
  for :data:`SHARED_SECONDS`, and callers who ask while it is being made wait for that one, so
  ten open dashboards cost what one does;
- the pass goes :data:`CHUNK` jobs at a time with the event loop free in between, so 100,000
  jobs never hold up a Subscribe or a dependency for the whole pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from latchwork.v1 import job_pb2, supervisor_pb2

from ..core.farm_summary import FarmSummary, count_jobs, finish_summary, recent_failures
from ..core.visibility import ReadScope
from ..supervisor import Supervisor
from . import convert

SHARED_SECONDS = 5.0
CHUNK = 1_000

Summary = supervisor_pb2.SummarizeFarmResponse


class FarmSummaries:
    """Summaries by reader scope, each reused while younger than :data:`SHARED_SECONDS`."""

    def __init__(self, supervisor: Supervisor, clock: Callable[[], float] = time.monotonic) -> None:
        self._supervisor = supervisor
        self._clock = clock
        self._made: dict[str | None, tuple[float, Summary]] = {}
        self._making: dict[str | None, asyncio.Task[Summary]] = {}

    async def summary(self, scope: ReadScope) -> Summary:
        made = self._made.get(scope.user)
        if made is not None and self._clock() - made[0] < SHARED_SECONDS:
            return made[1]
        task = self._making.get(scope.user)
        if task is None:
            task = asyncio.ensure_future(self._make(scope))
            self._making[scope.user] = task
            task.add_done_callback(lambda _: self._making.pop(scope.user, None))
        # shield: one caller giving up must not cancel the summary the others wait for
        return await asyncio.shield(task)

    async def _make(self, scope: ReadScope) -> Summary:
        supervisor = self._supervisor
        started = self._clock()
        head_seq = supervisor.event_log.head_seq
        if scope.everything:
            counts = supervisor.farm_counts
            summary = finish_summary(
                counts.jobs, counts.frames, supervisor.event_log.recent_failures(), head_seq
            )
        else:
            summary = await self._count_scope(scope, head_seq)
        response = Summary(
            jobs_by_status={
                job_pb2.JobStatus.Name(convert.JOB_STATUS_TO_PB[status]): count
                for status, count in summary.jobs_by_status.items()
            },
            frames_by_status={
                job_pb2.WorkStatus.Name(convert.WORK_STATUS_TO_PB[status]): count
                for status, count in summary.frames_by_status.items()
            },
            recent_failures=[convert.event_to_pb(event) for event in summary.recent_failures],
            head_seq=summary.head_seq,
            job_names={
                event.job_id: job.spec.name
                for event in summary.recent_failures
                if (job := supervisor.get_job(event.job_id)) is not None
            },
        )
        if len(self._made) > 1000:  # one entry per user under "own": keep it bounded
            self._made.clear()
        self._made[scope.user] = (started, response)
        return response

    async def _count_scope(self, scope: ReadScope, head_seq: int) -> FarmSummary:
        """The summary of one user's jobs: a pass over every job in memory, a chunk at a time,
        on top of the totals kept of the retired ones."""
        supervisor = self._supervisor
        failures = recent_failures(supervisor.event_log.newest_first(), scope)
        jobs = supervisor.resident_jobs()
        # The retired jobs (out of memory) are counted by user as they retire.
        job_counts, frame_counts = supervisor.retired_totals(scope)
        for start in range(0, len(jobs), CHUNK):
            if start:
                await asyncio.sleep(0)
            count_jobs(jobs[start : start + CHUNK], scope, job_counts, frame_counts)
        return finish_summary(job_counts, frame_counts, failures, head_seq)
