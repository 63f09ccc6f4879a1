"""Operator control: block, unblock, kill, retry, suspend, resume, remove, requeue jobs or work.

Which transition carries out each action is the core's table (:mod:`.core.actions`); this
service checks the targets, applies the action to each in one ``Changes`` and commits it, so an
operator's request is all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .commit_pipeline import CommitPipeline
from .core.actions import JOB_ACTIONS, WORK_ACTIONS, OperatorAction
from .core.changes import Changes
from .core.model import Job, WorkItem
from .core.states import JobStatus
from .core.submission import FieldError, SubmissionRejected
from .eventlog import EventLog
from .job_index import JobIndex


@dataclass(frozen=True, slots=True)
class ControlResult:
    job_id: int
    work_name: str
    changed: bool
    job_status: JobStatus


class Control:
    """Operator actions on jobs and work items, and the lookup of one work item."""

    def __init__(
        self,
        index: JobIndex,
        pipeline: CommitPipeline,
        event_log: EventLog,
        clock: Callable[[], float],
    ) -> None:
        self._index = index
        self._pipeline = pipeline
        self._log = event_log
        self._clock = clock

    def control(
        self,
        action: OperatorAction,
        job_ids: Sequence[int],
        work: Sequence[tuple[int, str]],
        reason: str = "",
    ) -> tuple[list[ControlResult], int]:
        """Apply an operator action to jobs and work items, all checked first (one error
        lists every problem) and then changed in one commit; the results and the head seq."""
        errors: list[FieldError] = []
        targets: list[tuple[Job, WorkItem | None]] = []
        if not job_ids and not work:
            errors.append(FieldError("job_ids", "name at least one job or work item"))
        for i, job_id in enumerate(job_ids):
            job = self._index.get_job(job_id)
            if job is None:
                errors.append(FieldError(f"job_ids[{i}]", f"job {job_id} does not exist"))
            elif job.removed and action is not OperatorAction.REMOVE:
                errors.append(FieldError(f"job_ids[{i}]", f"job {job_id} was removed"))
            else:
                targets.append((job, None))
        if work and action not in WORK_ACTIONS:
            errors.append(FieldError("work", f"{action.value} applies to whole jobs only"))
        for i, (job_id, work_name) in enumerate(work):
            job = self._index.get_job(job_id)
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
        changes = Changes(now=self._clock())
        results: list[ControlResult] = []
        for job, item in targets:
            if item is None:
                changed = JOB_ACTIONS[action](changes, job, reason)
            else:
                changed = WORK_ACTIONS[action](changes, job, item, reason)
            results.append(ControlResult(job.id, item.name if item else "", changed, job.status))
        self._pipeline.commit(changes)
        return [
            ControlResult(r.job_id, r.work_name, r.changed, self._index.jobs[r.job_id].status)
            for r in results
        ], self._log.head_seq

    def work_of(self, job_id: int, work_name: str) -> tuple[Job, WorkItem]:
        """The job and its work item by name; ``NotFound`` names which one is missing."""
        return self._index.work_of(job_id, work_name)
