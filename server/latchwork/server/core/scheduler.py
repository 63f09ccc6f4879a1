"""Which work runs next: the most urgent job (lowest priority number, then oldest) first.

Kept as lazy heaps so that choosing the next work item costs O(log n) however many jobs and
frames wait: entries are pushed whenever something may have become runnable and checked when
popped, instead of being kept exactly up to date.
"""

from __future__ import annotations

import heapq

from .model import Job, Subjob, WorkItem
from .states import WorkStatus


class Scheduler:
    def __init__(self) -> None:
        self._jobs: list[tuple[int, int]] = []
        self._queued_jobs: set[int] = set()
        self._pending: dict[int, list[int]] = {}
        self._by_id: dict[int, Job] = {}

    def offer(self, job: Job, work: WorkItem | None = None) -> None:
        """Note that ``job`` (and ``work`` in it) may be runnable now."""
        if work is not None:
            heapq.heappush(self._pending.setdefault(job.id, []), work.index)
        self._by_id[job.id] = job
        if job.id not in self._queued_jobs:
            self._queued_jobs.add(job.id)
            heapq.heappush(self._jobs, (job.priority, job.id))

    def offer_new(self, job: Job) -> None:
        """Note that every work item of a new ``job`` may be runnable: all its indices at
        once (in order, so already a heap), those not pending are skipped when reached."""
        if not job.tally[WorkStatus.PENDING]:
            return
        heap = self._pending.setdefault(job.id, [])
        if heap:
            heap.extend(range(len(job.work)))
            heapq.heapify(heap)
        else:
            heap.extend(range(len(job.work)))
        self.offer(job)

    def forget(self, job_id: int) -> None:
        self._pending.pop(job_id, None)
        self._by_id.pop(job_id, None)

    def next(self) -> tuple[Job, WorkItem, Subjob] | None:
        """The next work item to start and the instance to run it in, or None."""
        while self._jobs:
            _, job_id = self._jobs[0]
            job = self._by_id.get(job_id)
            work = self._peek_pending(job) if job is not None else None
            if job is None or work is None or not job.dispatchable:
                heapq.heappop(self._jobs)
                self._queued_jobs.discard(job_id)
                if job is not None and work is None:
                    self.forget(job_id)
                continue
            subjob = job.free_subjob()
            if subjob is None:
                # Every instance is busy; it is offered again when one is released.
                heapq.heappop(self._jobs)
                self._queued_jobs.discard(job_id)
                continue
            heapq.heappop(self._pending[job_id])
            return job, work, subjob
        return None

    def _peek_pending(self, job: Job) -> WorkItem | None:
        heap = self._pending.get(job.id)
        while heap:
            item = job.work[heap[0]]
            if item.status is WorkStatus.PENDING:
                return item
            heapq.heappop(heap)
        return None
