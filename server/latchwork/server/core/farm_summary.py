"""The farm at a glance: jobs and frames by status, and the newest failures, as one reader sees
them. What a dashboard's overview shows.

For a reader who sees every job the supervisor keeps the totals up to date
(:mod:`.farm_counts`). For one who sees only their own, they are counted from the jobs' own
tallies (each job keeps its work items counted by status), so a summary costs one pass over
the jobs, never over their frames; :func:`count_jobs` takes them in chunks so that the API can
let the event loop breathe between chunks on a farm of 100,000 jobs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter

from .events import Event, EventName
from .model import Job
from .states import JobStatus, WorkStatus
from .visibility import ReadScope

RECENT_FAILURES = 20
"""How many failures a summary lists, newest first."""
FAILURE_SCAN = 50_000
"""How many of the newest events are searched for them (the in-memory window)."""

_status = attrgetter("status")


@dataclass(frozen=True, slots=True)
class FarmSummary:
    jobs_by_status: dict[JobStatus, int]
    frames_by_status: dict[WorkStatus, int]
    recent_failures: list[Event]
    head_seq: int


def count_jobs(
    jobs: Sequence[Job],
    scope: ReadScope,
    job_counts: Counter[JobStatus],
    frame_counts: Counter[WorkStatus],
) -> None:
    """Add the ``jobs`` ``scope`` sees to the counts (a chunk at a time, if the caller likes).
    A removed job counts as a job, but its frames no longer count as the farm's."""
    seen = jobs if scope.everything else [job for job in jobs if scope.sees(job)]
    job_counts.update(map(_status, seen))
    tallies = [job.tally for job in seen if job.status is not JobStatus.REMOVED]
    for status in WorkStatus:
        frame_counts[status] += sum(map(itemgetter(status), tallies))


def recent_failures(newest_events: Iterable[Event], scope: ReadScope) -> list[Event]:
    """The newest ``failed`` events of jobs ``scope`` sees, newest first; ``newest_events``
    newest first (only the first :data:`FAILURE_SCAN` are read)."""
    failures: list[Event] = []
    for scanned, event in enumerate(newest_events):
        if scanned >= FAILURE_SCAN or len(failures) >= RECENT_FAILURES:
            break
        if event.name is EventName.FAILED and event.job_id and scope.sees_event(event):
            failures.append(event)
    return failures


def summarize_farm(
    jobs: Sequence[Job], newest_events: Iterable[Event], head_seq: int, scope: ReadScope
) -> FarmSummary:
    """The whole summary in one go."""
    job_counts: Counter[JobStatus] = Counter()
    frame_counts: Counter[WorkStatus] = Counter()
    count_jobs(jobs, scope, job_counts, frame_counts)
    return finish_summary(job_counts, frame_counts, recent_failures(newest_events, scope), head_seq)


def finish_summary(
    job_counts: Mapping[JobStatus, int],
    frame_counts: Mapping[WorkStatus, int],
    failures: list[Event],
    head_seq: int,
) -> FarmSummary:
    return FarmSummary(
        {status: n for status, n in job_counts.items() if n},
        {status: n for status, n in frame_counts.items() if n},
        failures,
        head_seq,
    )
