"""Read-only queries over the supervisor's in-memory state: no commit, no effect.

Plain functions over the maps the supervisor keeps in its :class:`~.job_index.JobIndex` (jobs
by id, children by parent id, labels by process group) and the event log, so that each can be
read and tested without the rest.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .core.errors import NotFound
from .core.events import Event
from .core.model import Job, WorkItem
from .core.states import JobStatus
from .eventlog import EventLog


@dataclass(slots=True)
class JobQuery:
    statuses: frozenset[JobStatus] = frozenset()
    users: frozenset[str] = frozenset()
    pgrps: frozenset[int] = frozenset()
    name_glob: str = ""
    parent_id: int = 0
    before_id: int = 0
    limit: int = 100


def list_jobs(jobs: Mapping[int, Job], query: JobQuery) -> list[Job]:
    """The jobs ``query`` selects, newest first (removed ones only when asked for), up to
    one more than its limit."""
    result: list[Job] = []
    select_jobs(jobs, sorted(jobs, reverse=True), query, result)
    return result


#: Jobs looked at in one go by :func:`list_jobs_sliced`, about 5 ms of a search by name.
LIST_SLICE = 10_000
#: The pause between two slices: a turn of the loop (``sleep(0)``) is not enough for a gRPC
#: call waiting meanwhile, which needs a few hand-overs between gRPC's thread and the loop.
LIST_PAUSE_SECONDS = 0.001


async def list_jobs_sliced(
    jobs: Mapping[int, Job], query: JobQuery, gone: set[int]
) -> tuple[list[Job], list[int]]:
    """:func:`list_jobs`, letting the loop go on every :data:`LIST_SLICE` jobs looked at: a
    search that matches few of 100,000 jobs held looks at all of them (about 50 ms). Also
    returns the ids of the slices it looked at (the older ones cannot make the page); ``gone``
    gets those that had left ``jobs`` by then."""
    ids = sorted(jobs, reverse=True)
    result: list[Job] = []
    end = 0
    while end < len(ids):
        if end:
            await asyncio.sleep(LIST_PAUSE_SECONDS)
        start, end = end, end + LIST_SLICE
        if select_jobs(jobs, ids[start:end], query, result, gone):
            break
    return result, ids[:end]


def select_jobs(
    jobs: Mapping[int, Job],
    ids: Iterable[int],
    query: JobQuery,
    result: list[Job],
    gone: set[int] | None = None,
) -> bool:
    """Add to ``result`` the jobs of ``ids`` (newest first) that ``query`` selects, until it
    holds one more than the limit (then True). An id no longer in ``jobs`` goes to ``gone``."""
    statuses = query.statuses or frozenset(s for s in JobStatus if s is not JobStatus.REMOVED)
    for job_id in ids:
        if query.before_id and job_id >= query.before_id:
            continue
        job = jobs.get(job_id)
        if job is None:
            if gone is not None:
                gone.add(job_id)
            continue
        if job.status not in statuses:
            continue
        if query.users and job.user not in query.users:
            continue
        if query.pgrps and job.pgrp not in query.pgrps:
            continue
        if query.parent_id and job.pid != query.parent_id:
            continue
        if not name_matches(job, query.name_glob):
            continue
        result.append(job)
        if len(result) > query.limit:
            return True
    return False


def name_matches(job: Job, name_glob: str) -> bool:
    """Whether the job's name matches ``name_glob`` (shell-style, case-sensitive; "": any)."""
    return not name_glob or fnmatch.fnmatchcase(job.spec.name, name_glob)


def work_of(jobs: Mapping[int, Job], job_id: int, work_name: str) -> tuple[Job, WorkItem]:
    """The job and its work item by name; :class:`NotFound` names which one is missing."""
    job = jobs.get(job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    item = job.work_named(work_name)
    if item is None:
        raise NotFound(f"job {job_id} has no work {work_name!r}")
    return job, item


def children_of(children: Mapping[int, list[int]], job_id: int) -> list[int]:
    """The ids of the job's direct children (a copy: the caller may keep it)."""
    return list(children.get(job_id, ()))


def pgrp_members(labels: Mapping[int, Mapping[str, int]], pgrp: int) -> list[int]:
    """The ids of the jobs in process group ``pgrp``, in order."""
    return sorted(labels.get(pgrp, {}).values())


def event_at(log: EventLog, seq: int) -> Event | None:
    """The event numbered ``seq``, or None once the log no longer holds it."""
    found = log.read(seq - 1, 1)
    return found[0] if found and found[0].seq == seq else None
