"""Job and work states, and how a job's state follows from its work.

A job's state is derived rather than stored independently: the holds an operator places on
a job (blocked, suspended, removed) combine with the states of its work items, so the two can
never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class JobStatus(StrEnum):
    PENDING = "pending"
    BLOCKED = "blocked"
    WAITING = "waiting"
    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETE = "complete"
    FAILED = "failed"
    KILLED = "killed"
    REMOVED = "removed"

    @property
    def is_final(self) -> bool:
        return self in FINAL_JOB_STATUSES


FINAL_JOB_STATUSES = frozenset(
    {JobStatus.COMPLETE, JobStatus.FAILED, JobStatus.KILLED, JobStatus.REMOVED}
)


class WorkStatus(StrEnum):
    PENDING = "pending"
    BLOCKED = "blocked"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    KILLED = "killed"

    @property
    def is_done(self) -> bool:
        return self in DONE_WORK_STATUSES


DONE_WORK_STATUSES = frozenset({WorkStatus.COMPLETE, WorkStatus.FAILED, WorkStatus.KILLED})


def derive_job_status(
    counts: Mapping[WorkStatus, int],
    *,
    blocked: bool,
    suspended: bool,
    removed: bool,
    active_instances: bool = False,
) -> JobStatus:
    """The job's state from its work and holds.

    Order matters: removal wins over everything; a job whose work is all done is final even if
    it is also held; a suspended job shows as suspended even while its processes exist. A job
    whose instances are between two work items is still running (``active_instances``), so
    its state does not flicker at every frame.
    """
    if removed:
        return JobStatus.REMOVED
    total = sum(counts.values())
    done = counts[WorkStatus.COMPLETE] + counts[WorkStatus.FAILED] + counts[WorkStatus.KILLED]
    if total and done == total:
        if counts[WorkStatus.FAILED]:
            return JobStatus.FAILED
        if counts[WorkStatus.KILLED]:
            return JobStatus.KILLED
        return JobStatus.COMPLETE
    if suspended:
        return JobStatus.SUSPENDED
    if counts[WorkStatus.RUNNING] or (active_instances and counts[WorkStatus.PENDING]):
        return JobStatus.RUNNING
    if blocked:
        return JobStatus.BLOCKED
    if counts[WorkStatus.BLOCKED] and not counts[WorkStatus.PENDING]:
        return JobStatus.BLOCKED
    return JobStatus.PENDING
