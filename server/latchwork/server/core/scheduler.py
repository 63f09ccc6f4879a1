"""Which work runs next, and where: the most urgent job (lowest priority number, then oldest)
whose routing suits the host asking for work.

Kept as lazy heaps so that choosing the next work item costs O(log n) however many jobs and
frames wait: entries are pushed whenever something may have become runnable and checked when
popped, instead of being kept exactly up to date.

Routing (docs/routing.md) adds one level. Jobs are queued by their *routing*: the eight Qube
routing strings of their spec (``reservations``, ``requirements``, ``hosts``...). Jobs with the
same strings route alike, so they share one queue (a lazy heap of jobs), and whether a host
suits them is asked once per queue, not once per job; every job without routing attributes is
in one queue, whose check is only "up, with a free slot". A second lazy heap orders the queues
by their most urgent job. To choose for a host, the queues are taken from that heap in order;
one whose routing does not suit the host is set aside (and put back after the decision, so no
entry is lost) and the next is tried. The work per decision is bounded: at most
``max_refused`` queues are set aside, after which the host gets nothing this time (it asks
again when work is offered or its own work ends). So a host is passed over only when more
than ``max_refused`` distinct routings, each more urgent than anything it could run, wait for
other hosts; with one routing (no routing attributes at all) a decision costs what it did
before routing existed, plus one check of the host.

The parsed routing of each queued job is cached here by job id, keyed by its strings (a change
of them after submit, issue 12's ModifyJobs, is seen at the next offer and parsed again).
Parsing happens lazily, on the first offer of the job after a load: the store keeps only the
strings the user wrote.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from .model import Job, JobSpec, Subjob, WorkItem
from .routing.hosts import Host, HostState
from .routing.licences import GlobalResources
from .routing.restrictions import ROOT_CLUSTER
from .routing.routing import ANYWHERE, JobRouting, RoutingRejected, parse_routing, suits
from .states import WorkStatus

RoutingKey = tuple[str, str, str, str, str, str, str, str]
"""A job's eight routing strings, in :data:`~.routing.routing.ROUTING_ATTRIBUTES` order."""

NO_ROUTING: RoutingKey = ("", "", "", "", "", "", "", "")

MAX_REFUSED_QUEUES = 64
"""Queues (distinct routings) set aside per decision before a host is given nothing."""


def routing_key(spec: JobSpec) -> RoutingKey:
    return (
        spec.reservations, spec.requirements, spec.hosts, spec.omithosts, spec.groups,
        spec.omitgroups, spec.cluster, spec.restrictions,
    )  # fmt: skip


def parse_key(key: RoutingKey) -> JobRouting:
    """The routing of ``key``; checked at submit, so a refusal here (a job stored by an older
    version, say) routes the job nowhere rather than anywhere: it waits, with its reason."""
    if key == NO_ROUTING:
        return ANYWHERE
    names = (
        "reservations", "requirements", "hosts", "omithosts", "groups", "omitgroups", "cluster",
        "restrictions",
    )  # fmt: skip
    try:
        return parse_routing(dict(zip(names, key, strict=True)))
    except RoutingRejected:
        return UNROUTABLE


UNROUTABLE = JobRouting(hosts=frozenset({"-"}))
"""Matches no host (no host is named ``-``)."""


@dataclass(slots=True)
class _Queue:
    """The jobs of one routing: a lazy heap of (priority, job id)."""

    key: RoutingKey
    routing: JobRouting
    heap: list[tuple[int, int]] = field(default_factory=list)
    queued: set[int] = field(default_factory=set)
    listed: tuple[int, int] | None = None  # the entry this queue has in the queues' heap
    listing: int = 0  # which push of it is current: one current entry per queue, ever


class Scheduler:
    def __init__(self, max_refused: int = MAX_REFUSED_QUEUES) -> None:
        self._queues: dict[RoutingKey, _Queue] = {}
        # (priority, job id, listing, key): ``listing`` is unique per push, so an entry is
        # current only if it is the queue's latest push; every older one is stale, even when
        # the queue is listed again under the same job (which once made duplicates that used
        # up the bound of queues set aside per decision).
        self._tops: list[tuple[int, int, int, RoutingKey]] = []
        self._listings = 0
        self._pending: dict[int, list[int]] = {}
        self._by_id: dict[int, Job] = {}
        self._routing: dict[int, tuple[RoutingKey, JobRouting]] = {}
        self._max_refused = max_refused

    # --- routing of jobs -------------------------------------------------------------------

    def routing_of(self, job: Job) -> JobRouting:
        """The parsed routing of ``job`` (cached while it is queued)."""
        return self._routed(job)[1]

    def _routed(self, job: Job) -> tuple[RoutingKey, JobRouting]:
        key = routing_key(job.spec)
        if key == NO_ROUTING:
            return NO_ROUTING, ANYWHERE
        cached = self._routing.get(job.id)
        if cached is not None and cached[0] == key:
            return cached
        queue = self._queues.get(key)
        cached = (key, queue.routing if queue is not None else parse_key(key))
        self._routing[job.id] = cached
        return cached

    # --- offering --------------------------------------------------------------------------

    def offer(self, job: Job, work: WorkItem | None = None) -> None:
        """Note that ``job`` (and ``work`` in it) may be runnable now."""
        if work is not None:
            heapq.heappush(self._pending.setdefault(job.id, []), work.index)
        self._by_id[job.id] = job
        key, routing = self._routed(job)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue(key, routing)
        if job.id not in queue.queued:
            queue.queued.add(job.id)
            entry = (job.priority, job.id)
            heapq.heappush(queue.heap, entry)
            if queue.listed is None or entry < queue.listed:
                self._list(queue, entry)

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
        self._routing.pop(job_id, None)

    def entries(self) -> tuple[int, int]:
        """The entries its queues hold (stale ones included) and the jobs queued: what
        :meth:`drop` keeps in proportion."""
        queues = self._queues.values()
        return sum(len(q.heap) for q in queues), sum(len(q.queued) for q in queues)

    def drop(self, job: Job) -> None:
        """``job`` leaves memory (it is final and retires): nothing of it may stay here.

        Its queue entry is left for :meth:`_head` to skip (a heap has no cheap removal),
        unless such entries have come to outnumber the live ones: then the queue is rebuilt
        without them. Otherwise a queue no worker drains (a head node with no slots, jobs
        killed while blocked) would keep an entry per job it ever held.
        """
        self.forget(job.id)
        queue = self._queues.get(routing_key(job.spec))
        if queue is None or job.id not in queue.queued:
            return
        queue.queued.discard(job.id)
        if len(queue.heap) > 2 * len(queue.queued) + 64:
            queue.heap = sorted({entry for entry in queue.heap if entry[1] in queue.queued})
            if (queue.heap[0] if queue.heap else None) != queue.listed:
                self._relist(queue)

    def requeue(self, job: Job) -> None:
        """``job``'s priority changed after submit (core.modify): take its entry out of its
        queue and offer it again under the new one. O(jobs queued), for a rare request."""
        for queue in list(self._queues.values()):
            if job.id in queue.queued:
                queue.queued.discard(job.id)
                queue.heap = [entry for entry in queue.heap if entry[1] != job.id]
                heapq.heapify(queue.heap)
                if (queue.heap[0] if queue.heap else None) != queue.listed:
                    self._relist(queue)
        if job.id in self._by_id:
            self.offer(job)

    # --- choosing --------------------------------------------------------------------------

    def next(
        self, host: Host | None = None, licences: GlobalResources | None = None
    ) -> tuple[Job, WorkItem, Subjob] | None:
        """The next work item to start (on ``host``, when given: the most urgent whose routing
        suits it, ``licences`` included) and the instance to run it in, or None."""
        if host is not None and (host.state is not HostState.UP or host.free_slots < 1):
            return None
        refused: list[tuple[int, int, int, RoutingKey]] = []
        picked = None
        while self._tops:
            entry = self._tops[0]
            queue = self._queues.get(entry[3])
            if queue is None or queue.listing != entry[2]:
                heapq.heappop(self._tops)  # stale: the queue was listed again since
                continue
            head = self._head(queue)
            if head is None or queue.heap[0] != queue.listed:
                heapq.heappop(self._tops)  # what led it cannot run now: list its new top
                self._relist(queue)
                continue
            if host is not None and not _suits(queue.routing, host, licences):
                refused.append(heapq.heappop(self._tops))
                if len(refused) >= self._max_refused:
                    break
                continue
            heapq.heappop(self._pending[head[0].id])
            picked = head
            break
        for entry in refused:
            heapq.heappush(self._tops, entry)
        return picked

    def _head(self, queue: _Queue) -> tuple[Job, WorkItem, Subjob] | None:
        """The queue's most urgent runnable work (left queued), dropping the entries before
        it that cannot run now."""
        heap = queue.heap
        while heap:
            _, job_id = heap[0]
            job = self._by_id.get(job_id)
            work = self._peek_pending(job) if job is not None else None
            if job is None or work is None or not job.dispatchable:
                heapq.heappop(heap)
                queue.queued.discard(job_id)
                if job is not None and work is None:
                    self.forget(job_id)
                continue
            if routing_key(job.spec) != queue.key:
                # Its routing changed after submit: it belongs to another queue now.
                heapq.heappop(heap)
                queue.queued.discard(job_id)
                self.offer(job)
                continue
            subjob = job.free_subjob()
            if subjob is None:
                # Every instance is busy; it is offered again when one is released.
                heapq.heappop(heap)
                queue.queued.discard(job_id)
                continue
            return job, work, subjob
        return None

    def _relist(self, queue: _Queue) -> None:
        """Put the queue back in the queues' heap under its current top (or drop it)."""
        if queue.heap:
            self._list(queue, queue.heap[0])
        else:
            queue.listed = None
            del self._queues[queue.key]

    def _list(self, queue: _Queue, entry: tuple[int, int]) -> None:
        """List ``queue`` under ``entry`` (its most urgent job); its older entries go stale."""
        self._listings += 1
        queue.listed = entry
        queue.listing = self._listings
        heapq.heappush(self._tops, (*entry, self._listings, queue.key))

    def _peek_pending(self, job: Job) -> WorkItem | None:
        heap = self._pending.get(job.id)
        while heap:
            item = job.work[heap[0]]
            if item.status is WorkStatus.PENDING:
                return item
            heapq.heappop(heap)
        return None


def _suits(routing: JobRouting, host: Host, licences: GlobalResources | None) -> bool:
    if routing is ANYWHERE:
        # Up with a free slot is checked once per decision in next(); what is left for a job
        # with no routing attributes is the host's own restrictions, against the root cluster.
        return host.restrictions is None or host.restrictions.allows(ROOT_CLUSTER)
    return suits(routing, host, licences)
