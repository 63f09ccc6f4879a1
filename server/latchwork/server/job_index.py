"""The supervisor's in-memory model: every job that can still change by id, labels per
process group, children per parent, the job id counter, and what is derived from them at load
(the scheduler's queue and the running leases).

One object, because the pieces change together: a job is indexed once, when its commit
begins (:mod:`commit_pipeline`), and the whole of it is rebuilt from the store at start and
after a commit that could not be stored (:meth:`JobIndex.load`). Everything else reads it;
only the commit pipeline, a Submit taking job ids, and the scheduler's offers change it.

Finished jobs leave it after a while (:mod:`.retired_jobs`, :meth:`JobIndex.retire_finished`):
its lookups then read them from the store, so that a caller never needs to know which jobs
are in memory.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator

from . import queries
from .core.changes import Changes
from .core.errors import NotFound
from .core.farm_counts import FarmCounts
from .core.model import Job, WorkItem
from .core.scheduler import Scheduler
from .core.states import JobStatus, WorkStatus
from .core.visibility import ReadScope
from .leases import LeaseRegistry
from .queries import JobQuery
from .retired_jobs import EVERY_JOB, HistorySnapshot, Narrowing, RetiredJobs
from .store.protocol import HistoryReads
from .store.records import RetiredSummary


class JobIndex:
    """Jobs by id, by label within a process group and by parent; the job id counter; the
    scheduler's queue of pending work. The maps and the scheduler are replaced at each load:
    read them through this object, never keep them."""

    def __init__(
        self,
        leasing: LeaseRegistry,
        history: HistoryReads | None = None,
        *,
        keep_finished_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``leasing``: the lease registry, whose entries are restored at each load.
        ``history``: the store's reads of retired jobs; ``keep_finished_seconds``: how long a
        finished job stays in memory before it retires (None: for ever, and no store read)."""
        self.jobs: dict[int, Job] = {}
        """The jobs in memory (resident): the live ones and those finished recently."""
        self._history = history
        self._keep_finished = keep_finished_seconds if history is not None else None
        self._clock = clock
        self.retired = RetiredJobs(history)
        # When each resident final job was first seen final (the start of its countdown).
        self._final_since: dict[int, float] = {}
        self._labels: dict[int, dict[str, int]] = {}
        self._children: dict[int, list[int]] = {}
        self._leasing = leasing
        self.scheduler = Scheduler()
        self.counts = FarmCounts()
        """The farm's totals by status, noted after each stored commit (:meth:`recount`)."""
        self._last_job_id = 0
        # The highest job id a staged Submit took: never reused, even if the Submit failed.
        self._taken_last_id = 0
        self.on_revive: Callable[[Job], None] = lambda _job: None
        """Called with each retired job read back into memory, once it is indexed (the
        trigger side compiles its callbacks: :mod:`.dormant_callbacks`)."""

    # --- loading -------------------------------------------------------------------------

    @property
    def retires(self) -> bool:
        """Whether finished jobs leave memory (the load then leaves retired ones out)."""
        return self._keep_finished is not None

    def retired_before(self) -> float | None:
        """The cutoff for a load: jobs finished before it stay in the store (None: all load)."""
        return None if self._keep_finished is None else self._clock() - self._keep_finished

    def load(
        self, last_job_id: int, jobs: Iterable[Job], retired: RetiredSummary | None = None
    ) -> None:
        """Start over from the stored jobs: index them, restore the running leases and queue
        the pending work. ``retired``: what is kept of the jobs left in the store."""
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
        self.retired.reset(retired, self.jobs.values())
        self._final_since = {}
        if self.retires:
            now = self._clock()
            finals = [
                (min(j.end_time or now, now), j.id) for j in self.jobs.values() if j.status.is_final
            ]
            # Oldest first, as the commits add them after (retire_finished stops at the first
            # one too young).
            self._final_since = {job_id: since for since, job_id in sorted(finals)}
        self.counts.reset(self.jobs.values(), *self.retired.totals())

    def retired_totals(
        self, scope: ReadScope | None = None
    ) -> tuple[Counter[JobStatus], Counter[WorkStatus]]:
        """The retired jobs and their frames by status, of the users ``scope`` sees."""
        return self.retired.totals(scope, self.jobs.values())

    def recount(self, changes: Changes) -> None:
        """Count again the jobs a stored commit added or touched (and start or stop the
        countdown of those that became final or live again)."""
        note = self.counts.note
        touched = [*changes.new_jobs, *changes.dirty_jobs.values(), *changes.respecified.values()]
        for job in touched:
            note(job)
        if self.retires:
            since = self._final_since
            for job in touched:
                if not job.status.is_final:
                    since.pop(job.id, None)
                elif job.id not in since:
                    since[job.id] = changes.now

    # --- retiring finished jobs ----------------------------------------------------------

    def retire_finished(self, max_rows: int | None = None) -> list[int]:
        """Let the jobs finished at least ``keep_finished_seconds`` ago, that run nothing,
        leave memory; the ids of those that did. ``max_rows``: a caller on the loop retires
        a slice at a time, of about this many jobs, work items and instances (at least one
        job), since what a job costs to let go of grows with its frames. Called on the loop between
        commits, never inside one.

        The countdowns are kept oldest first, so the pass stops at the first job too young:
        its cost is the jobs it retires (and those it must leave, still stopping a frame).

        Safe between any two turns of the loop because no caller keeps an existing job
        across an await and then changes it: a staged Submit holds only its own new jobs,
        and checks the group and parents it names again, on the loop, right before its
        commit (``Stager._finish``); a callback's run looks its owner up again when it ends.
        """
        if self._keep_finished is None:
            return []
        cutoff = self._clock() - self._keep_finished
        leaving: list[Job] = []
        gone: list[int] = []
        rows = 0
        for job_id, since in self._final_since.items():
            if since > cutoff or (max_rows is not None and leaving and rows >= max_rows):
                break
            job = self.jobs.get(job_id)
            if job is None or not job.status.is_final:
                gone.append(job_id)
            elif not (job.tally[WorkStatus.RUNNING] or any(s.busy for s in job.subjobs)):
                leaving.append(job)
                rows += 1 + len(job.work) + len(job.subjobs)
            # else a frame still stopping: its report is still to come
        for job_id in gone:
            del self._final_since[job_id]
        for job in leaving:
            self._forget(job)
        return [job.id for job in leaving]

    def _forget(self, job: Job) -> None:
        del self.jobs[job.id]
        del self._final_since[job.id]
        labels = self._labels.get(job.pgrp)
        if labels is not None and labels.get(job.label) == job.id:
            del labels[job.label]
            if not labels:
                del self._labels[job.pgrp]
        siblings = self._children.get(job.pid) if job.pid else None
        if siblings is not None:
            siblings.remove(job.id)
            if not siblings:
                del self._children[job.pid]
        self.scheduler.drop(job)
        self.retired.retired(job)

    def resident_ids(self) -> Collection[int]:
        """The ids of the jobs in memory (a live view; never reads the store)."""
        return self.jobs.keys()

    def _revive(self, job_id: int) -> Job | None:
        """The retired job ``job_id`` read back into memory (None: no such job)."""
        assert self._history is not None
        found = self._history.load_jobs([job_id])
        if not found:
            return None
        job = found[0]
        self.add(job)
        self.retired.revived(job)
        self.counts.adopt(job)
        if job.status.is_final:
            # Its countdown starts again (last in line): it is in use.
            self._final_since.pop(job.id, None)
            self._final_since[job.id] = self._clock()
        self.on_revive(job)
        return job

    def peek_job(self, job_id: int) -> Job | None:
        """The job, from memory or else as the store has it, without reviving it: for a read
        that keeps nothing of it (resolving a stored callback's trigger). Never change it."""
        job = self.jobs.get(job_id)
        if job is None and self._may_be_retired(job_id):
            assert self._history is not None
            found = self._history.load_jobs([job_id])
            job = found[0] if found else None
        return job

    def peek_by_label(self, pgrp: int, label: str) -> Job | None:
        """:meth:`job_by_label` without reviving (as :meth:`peek_job`)."""
        return self._by_label(pgrp, label, self.peek_job)

    def _may_be_retired(self, job_id: int) -> bool:
        return bool(self.retired.count) and 0 < job_id <= self._last_job_id

    def add_new(self, job: Job) -> None:
        """Index a job its commit creates (the open snapshots leave it out)."""
        self.add(job)
        self.retired.created(job)

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
        """The job, from memory or else read back from the store (revived)."""
        job = self.jobs.get(job_id)
        if job is None and self._may_be_retired(job_id):
            job = self._revive(job_id)
        return job

    def resident_jobs(self) -> list[Job]:
        """The jobs in memory, unsorted: with :attr:`retired`'s totals, what a count of
        every job adds up (all_jobs' sort of 100,000 jobs would be most of the cost)."""
        return list(self.jobs.values())

    def all_jobs(self) -> list[Job]:
        """Every job, removed and retired ones included, in id order (retired ones read
        from the store, not revived)."""
        return list(self.every_job())

    def every_job(self) -> Iterator[Job]:
        """:meth:`all_jobs` one at a time (a batch of retired ones read at a time); read it
        through without letting the loop turn."""
        return self.retired.every_job(self.jobs)

    def job_by_label(self, pgrp: int, label: str) -> Job | None:
        return self._by_label(pgrp, label, self.get_job)

    def _by_label(self, pgrp: int, label: str, retired: Callable[[int], Job | None]) -> Job | None:
        """The job labelled ``label`` in ``pgrp``: from memory, else the stored id's job as
        ``retired`` gives it (read back, or only looked at)."""
        job_id = self._labels.get(pgrp, {}).get(label)
        if job_id is not None:
            return self.jobs.get(job_id)
        if self._history is not None and self.retired.in_pgrp(pgrp):
            stored_id = self._history.job_id_by_label(pgrp, label)
            return retired(stored_id) if stored_id else None
        return None

    def stored_labels(self, pgrp: int) -> Collection[str]:
        """The labels of the jobs in ``pgrp`` (those a Submit being staged holds left out)."""
        labels = self._labels.get(pgrp, {})
        if self._history is not None and self.retired.in_pgrp(pgrp):
            return {*labels, *self._history.labels_in_pgrp(pgrp)}
        return labels

    def children_of(self, job_id: int) -> list[int]:
        children = queries.children_of(self._children, job_id)
        if self._history is not None and self.retired.has_children(job_id):
            return sorted({*children, *self._history.child_ids(job_id)})
        return children

    def subtree(self, root_id: int) -> list[Job]:
        """The job and everything below it in the job tree, parents first."""
        result: list[Job] = []
        queue = [root_id]
        while queue:
            job = self.get_job(queue.pop(0))
            if job is not None:
                result.append(job)
                queue.extend(self.children_of(job.id))
        return result

    def pgrp_members(self, pgrp: int) -> list[int]:
        members = queries.pgrp_members(self._labels, pgrp)
        if self._history is not None and self.retired.in_pgrp(pgrp):
            return sorted({*members, *self._history.labels_in_pgrp(pgrp).values()})
        return members

    def list_jobs(self, query: JobQuery) -> list[Job]:
        """The jobs ``query`` selects, newest first, up to one more than its limit: those in
        memory and the retired ones the store holds, merged (retired ones not revived)."""
        return self.retired.listing(self.jobs, query)

    async def list_jobs_aside(self, query: JobQuery) -> list[Job]:
        """:meth:`list_jobs`, letting the loop go on: memory looked at a slice at a time, the
        store's part read in a thread."""
        return await self.retired.listing_aside(self.jobs, query)

    def history_snapshot(
        self, on_revived: Callable[[Job], None], narrowed: Narrowing = EVERY_JOB
    ) -> contextlib.AbstractContextManager[HistorySnapshot]:
        """Every job as it is now: those in memory, and the retired ones to be read from a
        thread while the loop goes on (:class:`~.retired_jobs.HistorySnapshot`)."""
        return self.retired.snapshot(self.jobs, self._last_job_id, on_revived, narrowed)

    def work_of(self, job_id: int, work_name: str) -> tuple[Job, WorkItem]:
        """The job and its work item by name; :class:`NotFound` names which one is missing."""
        job = self.get_job(job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
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
