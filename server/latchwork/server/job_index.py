"""The supervisor's in-memory model: every job by id, labels per process group, children per
parent, the job id counter, and what is derived from them at load (the scheduler's queue and
the running leases).

One object, because the pieces change together: a job is indexed once, when its commit
begins (:mod:`commit_pipeline`), and the whole of it is rebuilt from the store at start and
after a commit that could not be stored (:meth:`JobIndex.load`). Everything else reads it;
only the commit pipeline, a Submit taking job ids, and the scheduler's offers change it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Collection, Iterable, Iterator

from . import queries
from .core.changes import Changes
from .core.farm_counts import FarmCounts
from .core.model import Job, WorkItem
from .core.scheduler import Scheduler
from .core.states import WorkStatus
from .leases import LeaseRegistry
from .queries import JobQuery


class JobIndex:
    """Jobs by id, by label within a process group and by parent; the job id counter; the
    scheduler's queue of pending work. The maps and the scheduler are replaced at each load:
    read them through this object, never keep them."""

    def __init__(self, leasing: LeaseRegistry) -> None:
        """``leasing``: the lease registry, whose entries are restored at each load."""
        self.jobs: dict[int, Job] = {}
        self._labels: dict[int, dict[str, int]] = {}
        self._children: dict[int, list[int]] = {}
        self._leasing = leasing
        self.scheduler = Scheduler()
        self.counts = FarmCounts()
        """The farm's totals by status, noted after each stored commit (:meth:`recount`)."""
        self._last_job_id = 0
        # The highest job id a staged Submit took: never reused, even if the Submit failed.
        self._taken_last_id = 0

    # --- loading -------------------------------------------------------------------------

    def load(self, last_job_id: int, jobs: Iterable[Job]) -> None:
        """Start over from the stored jobs: index them, restore the running leases and queue
        the pending work."""
        self.jobs = {}
        self._labels = {}
        self._children = {}
        self._leasing.reset()
        self.scheduler = Scheduler()
        self._last_job_id = max(last_job_id, self._taken_last_id)
        for job in jobs:
            self.add(job)
            for item in job.work:
                if item.status is WorkStatus.RUNNING and item.lease_id:
                    self._leasing.restore(item.lease_id, job, item)
                elif item.status is WorkStatus.PENDING:
                    self.scheduler.offer(job, item)
        self.counts.reset(self.jobs.values())

    def recount(self, changes: Changes) -> None:
        """Count again the jobs a stored commit added or touched."""
        note = self.counts.note
        for job in changes.new_jobs:
            note(job)
        for job in changes.dirty_jobs.values():
            note(job)
        for job in changes.respecified.values():
            note(job)

    def add(self, job: Job) -> None:
        self.jobs[job.id] = job
        self._labels.setdefault(job.pgrp, {})[job.label] = job.id
        if job.pid:
            self._children.setdefault(job.pid, []).append(job.id)

    # --- job ids -------------------------------------------------------------------------

    def next_job_id(self) -> int:
        """The id the next job submitted in one piece gets."""
        return self._last_job_id + 1

    def advance_job_ids(self, last_id: int) -> None:
        """Jobs up to ``last_id`` were created (a Submit in one piece; on a failed commit the
        load takes the counter back from the store)."""
        self._last_job_id = last_id

    def take_job_ids(self, count: int) -> int:
        """Advance the job id counter by ``count`` (a Submit being staged); the first id.
        These ids are never given again, even after a load."""
        first_id = self._last_job_id + 1
        self._last_job_id += count
        self._taken_last_id = self._last_job_id
        return first_id

    # --- lookups -------------------------------------------------------------------------

    def get_job(self, job_id: int) -> Job | None:
        return self.jobs.get(job_id)

    def jobs_in_any_order(self) -> list[Job]:
        """Every job, removed ones included, unsorted: for counting, where all_jobs' sort of
        100,000 jobs would be the larger part of the cost."""
        return list(self.jobs.values())

    def all_jobs(self) -> list[Job]:
        """Every job, removed ones included, in id order."""
        return sorted(self.jobs.values(), key=lambda job: job.id)

    def job_by_label(self, pgrp: int, label: str) -> Job | None:
        job_id = self._labels.get(pgrp, {}).get(label)
        return self.jobs.get(job_id) if job_id is not None else None

    def stored_labels(self, pgrp: int) -> Collection[str]:
        """The labels of the jobs in ``pgrp`` (those a Submit being staged holds left out)."""
        return self._labels.get(pgrp, {})

    def children_of(self, job_id: int) -> list[int]:
        return queries.children_of(self._children, job_id)

    def subtree(self, root_id: int) -> list[Job]:
        """The job and everything below it in the job tree, parents first."""
        return queries.subtree(self.jobs, self._children, root_id)

    def pgrp_members(self, pgrp: int) -> list[int]:
        return queries.pgrp_members(self._labels, pgrp)

    def list_jobs(self, query: JobQuery) -> list[Job]:
        return queries.list_jobs(self.jobs, query)

    def work_of(self, job_id: int, work_name: str) -> tuple[Job, WorkItem]:
        return queries.work_of(self.jobs, job_id, work_name)

    # --- the scheduler -------------------------------------------------------------------

    def offer(self, changes: Changes) -> bool:
        """Tell the scheduler what ``changes`` may have made runnable; True if anything."""
        offered = False
        for job in changes.new_jobs:
            if job.tally[WorkStatus.PENDING]:
                self.scheduler.offer_new(job)
                offered = True
        for job, work in changes.made_pending:
            # Queued even while the job is held: releasing the hold re-offers the job only.
            self.scheduler.offer(job, work)
            offered = True
        changes.made_pending.clear()
        for job in changes.dirty_jobs.values():
            if job.dispatchable and job.tally[WorkStatus.PENDING]:
                self.scheduler.offer(job)
                offered = True
        return offered


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (on again after, if it was)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def freeze_long_lived() -> None:
    """Exempt every object alive now from Python's cyclic garbage collector (``gc.freeze``).

    After a large Submit most of them are its jobs and work items, which live as long as the
    supervisor. A full collection walks every object it tracks, about 1 ms per 1,000 work
    items held, holding the GIL and so the event loop: with 300,000 work items held it took
    80-140 ms, in whatever request happened to allocate (docs/benchmarks.md, "Health latency
    during the largest legal Submit"). Frozen objects are still freed by reference counting
    when dropped; only cyclic garbage among them would stay, and jobs are never dropped.
    """
    gc.freeze()


# Work items, instances and jobs added, in Submits of any size, after which what is alive is
# frozen: a full collection then walks at most about this many jobs' objects (a few ms).
FREEZE_AFTER_ROWS = 5_000


class GrowthFreezer:
    """Freezes what is alive (:func:`freeze_long_lived`) once Submits added ``after_rows`` work
    items, instances and jobs since the last freeze, whatever their sizes.

    Without it, only a staged Submit froze: history built from Submits below the staging
    threshold stayed with the collector, and each full collection walked all of it, growing
    with the history (docs/benchmarks.md, "History and memory"). Each freeze also keeps for
    good whatever cyclic garbage-to-be is alive at that moment (a request in flight); freezing
    per ``after_rows`` rather than per Submit bounds that.
    """

    def __init__(
        self,
        enabled: bool,
        *,
        after_rows: int | None = None,
        freeze: Callable[[], None] = freeze_long_lived,
    ) -> None:
        """``enabled``: False for the supervisors of a test process (the freeze is process-wide).
        ``after_rows``: :data:`FREEZE_AFTER_ROWS` by default."""
        self._enabled = enabled
        self._after_rows = FREEZE_AFTER_ROWS if after_rows is None else after_rows
        self._freeze = freeze
        self._unfrozen_rows = 0

    def added(self, jobs: Iterable[Job]) -> None:
        """``jobs`` joined the model: count them, and freeze if enough did since the last time."""
        if not self._enabled:
            return
        self._unfrozen_rows += sum(1 + len(job.work) + len(job.subjobs) for job in jobs)
        if self._unfrozen_rows >= self._after_rows:
            self.freeze_now()

    def freeze_now(self) -> None:
        if self._enabled:
            self._freeze()
            self._unfrozen_rows = 0
