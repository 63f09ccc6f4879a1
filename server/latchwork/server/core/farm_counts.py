"""The farm's jobs and frames by status, kept true commit by commit instead of counted.

Every dashboard's overview and every metrics scrape wants these totals; counting them meant a
pass over every job held (100,000 on a busy farm), which held up the event loop for whole
milliseconds at a time. Instead each job remembers what it adds to the totals
(:attr:`Job.counted`: its status, and its frames by status unless it was removed) and after a
commit the jobs it touched are counted again: their old part taken away, the new one added.
A commit costs a few additions per job it touched, and reading the totals costs nothing.

Pure: the commit pipeline calls :meth:`FarmCounts.note` for the jobs a stored commit touched
and :meth:`FarmCounts.reset` whenever the model is (re)loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .model import Counted, Job
from .states import JobStatus, WorkStatus

_STATUSES = tuple(WorkStatus)
_INTERNED_MAX = 4096


class FarmCounts:
    """Totals over every job held: jobs by status (removed ones included, as the overview
    shows them) and frames by status (removed jobs' frames no longer count)."""

    def __init__(self) -> None:
        self.jobs: dict[JobStatus, int] = dict.fromkeys(JobStatus, 0)
        self.frames: dict[WorkStatus, int] = dict.fromkeys(WorkStatus, 0)
        # Most jobs add one of a few parts (10 frames pending, 10 complete...): one tuple each
        # is shared by all of them, so remembering the parts costs a pointer per job.
        self._interned: dict[Counted, Counted] = {}

    def reset(
        self,
        jobs: Iterable[Job],
        base_jobs: Mapping[JobStatus, int] | None = None,
        base_frames: Mapping[WorkStatus, int] | None = None,
    ) -> None:
        """Count ``jobs`` afresh, on top of ``base_jobs`` and ``base_frames``: the totals of
        jobs not held in memory (retired: the supervisor's history)."""
        self.jobs = dict.fromkeys(JobStatus, 0)
        self.frames = dict.fromkeys(WorkStatus, 0)
        for status, count in (base_jobs or {}).items():
            self.jobs[status] += count
        for work_status, count in (base_frames or {}).items():
            self.frames[work_status] += count
        for job in jobs:
            job.counted = None
            self.note(job)

    def adopt(self, job: Job) -> None:
        """``job``, already in the totals (it was counted while out of memory), remembers
        its part of them, so that its next :meth:`note` takes that part away."""
        job.counted = self._part(job)

    def note(self, job: Job) -> None:
        """Count ``job`` as it is now, in place of what it added before."""
        part = self._part(job)
        old = job.counted
        if part is old:
            return
        if old is not None:
            self._add(old, -1)
        self._add(part, 1)
        job.counted = part

    def _add(self, part: Counted, sign: int) -> None:
        status, frames = part
        self.jobs[status] += sign
        for work_status, count in zip(_STATUSES, frames, strict=False):  # () once removed
            if count:
                self.frames[work_status] += sign * count

    def _part(self, job: Job) -> Counted:
        tally = job.tally
        frames = () if job.status is JobStatus.REMOVED else tuple(tally[s] for s in _STATUSES)
        part: Counted = (job.status, frames)
        interned = self._interned.get(part)
        if interned is None:
            if len(self._interned) >= _INTERNED_MAX:
                self._interned.clear()
            interned = self._interned[part] = part
        return interned
