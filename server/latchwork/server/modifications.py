"""ModifyJobs (Qube's ``qbmodify``): change jobs after submit, all of them or none.

The jobs are looked up and their owner checked first (a caller changes their own jobs, an admin
anyone's), then the change is checked against every job by the rules a Submit obeys
(:func:`.core.modify.change_problems`); only when nothing is wrong is it applied to each, in
one ``Changes``, and committed through the one commit path: the ``modified`` events are
numbered, stored with the new specs, and fire the triggers that watch them
(``modified-job-self``). A new priority re-sorts the job in the scheduler's queue once the
commit is stored (a routing change needs nothing more: the commit offers the job again and
the scheduler files it under its new routing). What each field means: docs/modify.md.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from .commit_pipeline import CommitPipeline
from .core.changes import Changes
from .core.errors import FieldError, PermissionDenied
from .core.limits import Limits
from .core.model import Job
from .core.modify import JobChanges, change_problems, modify_job
from .core.submission import SubmissionRejected
from .eventlog import EventLog
from .job_index import JobIndex


@dataclass(frozen=True, slots=True)
class ModifyResult:
    """The jobs that changed (those already as asked left out) and the log's head after."""

    changed_job_ids: list[int]
    seq: int


class Modifications:
    """Checks and applies changes to jobs after submit."""

    def __init__(
        self,
        index: JobIndex,
        pipeline: CommitPipeline,
        event_log: EventLog,
        clock: Callable[[], float],
        limits: Limits,
        known_globals: Collection[str] | None = None,
    ) -> None:
        """``known_globals``: the configured global resources a ``global.<name>``
        reservation may name (None: any name), as for a Submit."""
        self._index = index
        self._pipeline = pipeline
        self._log = event_log
        self._clock = clock
        self._limits = limits
        self._known_globals = known_globals

    def modify(
        self,
        job_ids: Sequence[int],
        asked: JobChanges,
        reason: str = "",
        *,
        acting_user: str | None = None,
    ) -> ModifyResult:
        """Apply ``asked`` to every job of ``job_ids``, or to none.

        ``acting_user``: who asks, when only their own jobs may be changed (None: an admin,
        or a supervisor without tokens). Raises ``SubmissionRejected`` naming every problem
        (``job_ids[2]``, ``changes.priority``) or, first, ``PermissionDenied`` naming the
        jobs of others."""
        found, errors = self._jobs(job_ids)
        if acting_user is not None:
            others = [
                f"job_ids[{i}]: job {job.id} belongs to {job.user!r}"
                for i, job in found
                if job.user != acting_user
            ]
            if others:
                raise PermissionDenied(
                    "; ".join(others) + f"; {acting_user!r} is not an admin (nothing was changed)"
                )
        unique = list({job.id: job for _, job in found}.values())
        errors += change_problems(unique, asked, self._limits, self._known_globals)
        if errors:
            raise SubmissionRejected(errors)
        changes = Changes(now=self._clock())
        changed = [job for job in unique if modify_job(changes, job, asked, reason)]
        if not changed:
            return ModifyResult([], 0)
        self._pipeline.commit(changes)
        if asked.priority is not None:
            for job in changed:
                self._index.scheduler.requeue(job)
        return ModifyResult([job.id for job in changed], self._log.head_seq)

    def _jobs(self, job_ids: Sequence[int]) -> tuple[list[tuple[int, Job]], list[FieldError]]:
        """The jobs named that may be changed (with their place in ``job_ids``), and a
        problem for each of the others."""
        errors: list[FieldError] = []
        jobs: list[tuple[int, Job]] = []
        if not job_ids:
            errors.append(FieldError("job_ids", "name at least one job"))
        elif len(job_ids) > self._limits.jobs_per_submit:
            errors.append(
                FieldError(
                    "job_ids", f"{len(job_ids)} jobs; at most {self._limits.jobs_per_submit}"
                )
            )
            job_ids = ()
        for i, job_id in enumerate(job_ids):
            job = self._index.get_job(job_id)
            if job is None:
                errors.append(FieldError(f"job_ids[{i}]", f"job {job_id} does not exist"))
            elif job.removed:
                errors.append(FieldError(f"job_ids[{i}]", f"job {job_id} was removed"))
            else:
                jobs.append((i, job))
        return jobs, errors
