"""The supervisor's Prometheus metrics: what the farm holds, read when scraped, and the few
timings that can only be taken as they happen.

Gauges (jobs and frames by state, hosts, leases, subscribers, the sandbox's queue) cost
nothing between scrapes: a collector reads them from the model at scrape time, on the event
loop, like any other read. Counters and histograms that need the moment something happens
(a commit's latency, a callback run's end) come from one O(1) hook on the store's write
(:attr:`SqliteStore.on_write`), which every commit goes through after it succeeded.

The families, their labels and suggested alerts are listed in docs/operations.md#metrics.
The registry is this object's own, never the process-global one: a test process holds many
supervisors, and each one's figures are its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from .core.changes import Changes
from .core.runs import CallbackRun
from .core.states import JobStatus, WorkStatus
from .eventlog import EventLog
from .supervisor import Supervisor
from .throttled_log import ThrottledLog

log = logging.getLogger(__name__)
_hook_log = ThrottledLog(log)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The exposition's content type, for the HTTP side's ``/metrics``."""

# Seconds. A local commit is well under a millisecond; a full-durability one an fsync.
COMMIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
# A qube callback runs in microseconds; a Python one in milliseconds up to its wall limit.
RUN_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0)


class RunQueueDepth(Protocol):
    """The callback runner's queue (:class:`~.callrunner.OwnerQueue`): runs waiting."""

    def waiting(self) -> int: ...


class SandboxStats(Protocol):
    """What the metrics read of the Python sandbox pool (read-only)."""

    size: int
    replaced: int

    @property
    def idle_workers(self) -> int: ...


class Metrics:
    """One supervisor's metrics in a registry of their own; :meth:`exposition` is the text a
    ``/metrics`` endpoint serves.

    ``run_queue`` and ``sandbox``: the callback runner's queue and the Python sandbox pool, as
    app.py wires them (None when there is none: their families then read 0).
    """

    def __init__(
        self,
        supervisor: Supervisor,
        *,
        run_queue: RunQueueDepth | None = None,
        sandbox: SandboxStats | None = None,
        process: bool = True,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._supervisor = supervisor
        self._clock: Callable[[], float] = supervisor.clock
        self.commit_seconds = Histogram(
            "latchwork_store_commit_seconds",
            "Time to write one commit's transaction to the store.",
            buckets=COMMIT_BUCKETS,
            registry=self.registry,
        )
        self.callback_runs = Counter(
            "latchwork_callback_runs",
            "Callback runs ended, by language and outcome (ok, error, limit).",
            ["language", "outcome"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "latchwork_callback_run_duration_seconds",
            "How long callback runs took, by language and outcome.",
            ["language", "outcome"],
            buckets=RUN_BUCKETS,
            registry=self.registry,
        )
        self.dependency_seconds = Histogram(
            "latchwork_dependency_latency_seconds",
            "From the event that fired a callback to its actions applied (stored), by language.",
            ["language"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str], tuple[Counter, Histogram, Histogram]] = {}
        self.registry.register(_ModelCollector(supervisor, run_queue, sandbox))
        if process:
            ProcessCollector(namespace="latchwork", registry=self.registry)
        supervisor.store.on_write = self._committed

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format (:data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)

    def close(self) -> None:
        """Stop taking the store's commits (the registry stays readable)."""
        if self._supervisor.store.on_write == self._committed:
            self._supervisor.store.on_write = None

    def _committed(self, changes: Changes, seconds: float) -> None:
        """The store's hook, after each successful write: never raises into the commit."""
        try:
            self.commit_seconds.observe(seconds)
            if changes.finished_runs:
                self._runs_ended(changes.finished_runs)
        except Exception as error:
            _hook_log.warning("metrics: a commit could not be counted (%s)", error)

    def _runs_ended(self, runs: Sequence[CallbackRun]) -> None:
        now = self._clock()
        for run in runs:
            callback = self._supervisor.get_callback(run.callback_id)
            language = callback.spec.language if callback is not None else "unknown"
            outcome = run.outcome or "unknown"
            count, duration, latency = self._instruments(language, outcome)
            count.inc()
            duration.observe(run.duration_ms / 1000)
            if outcome == "ok" and run.due_time > 0:
                latency.observe(max(now - run.due_time, 0.0))

    def _instruments(self, language: str, outcome: str) -> tuple[Counter, Histogram, Histogram]:
        """The labelled children for a run's end, looked up once per label pair."""
        key = (language, outcome)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = (
                self.callback_runs.labels(language, outcome),
                self.run_seconds.labels(language, outcome),
                self.dependency_seconds.labels(language),
            )
        return found


class _ModelCollector(Collector):
    """The gauges read from the model at scrape time (nothing on the hot paths)."""

    def __init__(
        self,
        supervisor: Supervisor,
        run_queue: RunQueueDepth | None,
        sandbox: SandboxStats | None,
    ) -> None:
        self._supervisor = supervisor
        self._run_queue = run_queue
        self._sandbox = sandbox

    def describe(self) -> list[Metric]:
        # Names only (no reading of the model) when the registry describes its collectors.
        return list(self._families(read=False))

    def collect(self) -> Iterator[Metric]:
        return self._families(read=True)

    def _families(self, *, read: bool) -> Iterator[Metric]:
        yield from self._jobs_and_frames(read)
        yield from self._event_log(read)
        yield from self._hosts(read)
        yield from self._sandbox_families(read)

    def _jobs_and_frames(self, read: bool) -> Iterator[Metric]:
        jobs = dict.fromkeys(JobStatus, 0)
        frames = dict.fromkeys(WorkStatus, 0)
        if read:
            # The totals the supervisor keeps commit by commit (core.farm_counts).
            jobs.update(self._supervisor.farm_counts.jobs)
            frames.update(self._supervisor.farm_counts.frames)
        by_job = GaugeMetricFamily("latchwork_jobs", "Jobs held, by status.", labels=["status"])
        for job_status, count in jobs.items():
            by_job.add_metric([job_status.value], count)
        yield by_job
        by_frame = GaugeMetricFamily(
            "latchwork_frames",
            "Work items (frames) of jobs not removed, by status.",
            labels=["status"],
        )
        for work_status, count in frames.items():
            by_frame.add_metric([work_status.value], count)
        yield by_frame
        index = self._supervisor.index
        yield GaugeMetricFamily(
            "latchwork_jobs_in_memory",
            "Jobs held in memory: the live ones and those finished recently "
            "(keep_finished_seconds).",
            value=len(index.jobs) if read else 0,
        )
        yield GaugeMetricFamily(
            "latchwork_jobs_retired",
            "Finished jobs out of memory, read from the store when asked for.",
            value=index.retired.count if read else 0,
        )

    def _event_log(self, read: bool) -> Iterator[Metric]:
        feed = self._supervisor.event_log
        counted = feed if read and isinstance(feed, EventLog) else None
        yield CounterMetricFamily(
            "latchwork_events_appended",
            "Events appended to the event log since the supervisor started.",
            value=counted.published if counted is not None else 0,
        )
        yield GaugeMetricFamily(
            "latchwork_event_head_seq",
            "The seq of the newest event in the log.",
            value=feed.head_seq if read else 0,
        )
        yield GaugeMetricFamily(
            "latchwork_subscribers",
            "Subscribe streams following the event log now (the dashboard's included).",
            value=counted.subscribers if counted is not None else 0,
        )

    def _hosts(self, read: bool) -> Iterator[Metric]:
        states = {"up": 0, "locked": 0, "down": 0}
        slots = {"total": 0, "in_use": 0}
        leases = 0
        if read:
            registry = self._supervisor.hosts
            for host in registry.hosts():
                state = "down" if not host.up else "locked" if host.locked else "up"
                states[state] += 1
                if host.up:
                    slots["total"] += host.info.slots
                    slots["in_use"] += host.in_use.slots
            leases = registry.running_leases()
        hosts = GaugeMetricFamily(
            "latchwork_hosts",
            "Hosts known, by state (up, locked: up but locked, down).",
            labels=["state"],
        )
        for state, count in states.items():
            hosts.add_metric([state], count)
        yield hosts
        slot_family = GaugeMetricFamily(
            "latchwork_host_slots",
            "Slots of the hosts that are up: total and in use.",
            labels=["state"],
        )
        for state, count in slots.items():
            slot_family.add_metric([state], count)
        yield slot_family
        yield GaugeMetricFamily(
            "latchwork_leases",
            "Frames leased to workers and running on a known host now.",
            value=leases,
        )

    def _sandbox_families(self, read: bool) -> Iterator[Metric]:
        pool, queue = self._sandbox, self._run_queue
        yield GaugeMetricFamily(
            "latchwork_sandbox_queue_depth",
            "Python and mail callback runs waiting for the callback runner.",
            value=queue.waiting() if read and queue is not None else 0,
        )
        workers = GaugeMetricFamily(
            "latchwork_sandbox_workers",
            "Python sandbox worker processes, by state.",
            labels=["state"],
        )
        idle = pool.idle_workers if read and pool is not None else 0
        size = pool.size if pool is not None else 0
        workers.add_metric(["idle"], idle)
        workers.add_metric(["busy"], max(size - idle, 0))
        yield workers
        yield CounterMetricFamily(
            "latchwork_sandbox_worker_recycles",
            "Sandbox workers replaced (after a limit, a crash or their run quota).",
            value=pool.replaced if read and pool is not None else 0,
        )
