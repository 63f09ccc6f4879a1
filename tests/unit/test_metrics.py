"""The Prometheus metrics (server/metrics.py) of a supervisor with real work running: real
frames in the local pool, a Python callback in a real sandbox worker, a dependency, a
subscriber. The exposition is parsed as Prometheus parses it, and every family listed in
docs/operations.md#metrics is present and moves when the work runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from latchwork.sandbox.python.cage import CAGE_OFF
from latchwork.sandbox.python.pool import Limits, SandboxPool
from latchwork.server.api.subscribe import subscription
from latchwork.server.callrunner import CallbackRunner, OwnerQueue
from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.model import CallbackSpec, JobSpec
from latchwork.server.core.states import JobStatus
from latchwork.server.localpool import LocalPool
from latchwork.server.mailer import Mailer, MailSettings
from latchwork.server.metrics import Metrics
from latchwork.server.store import SqliteStore
from latchwork.server.supervisor import Supervisor
from latchwork.v1 import supervisor_pb2

from .factories import python_supervisor

WAIT_SECONDS = 60.0
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(metrics: Metrics) -> Samples:
    """Every sample of the exposition, by name and labels."""
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def families(metrics: Metrics) -> set[str]:
    text = metrics.exposition().decode()
    return {family.name for family in text_string_to_metric_families(text)}


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def until(check: Callable[[], bool], what: str) -> None:
    """Wait for ``check`` (bounded: a generous deadline, never a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class Farm:
    supervisor: Supervisor
    metrics: Metrics
    sandbox: SandboxPool


@pytest.fixture
async def farm(tmp_path: Path) -> AsyncIterator[Farm]:
    store = SqliteStore(tmp_path / "latchwork.db")
    queue = OwnerQueue.for_slots(1)
    supervisor = python_supervisor(store, tmp_path, queue)
    # One run per worker: every Python run recycles its worker (the recycles family moves).
    sandbox = SandboxPool(1, Limits(runs_per_worker=1), cage=CAGE_OFF)
    await sandbox.start()
    runner = CallbackRunner(supervisor, sandbox, Mailer(MailSettings()), queue, concurrency=1)
    metrics = Metrics(supervisor, run_queue=queue, sandbox=sandbox)
    pool = LocalPool(supervisor, supervisor.outputs, slots=2, host="here")
    tasks = [asyncio.create_task(pool.run()), asyncio.create_task(runner.serve())]
    try:
        yield Farm(supervisor, metrics, sandbox)
    finally:
        await pool.stop()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await sandbox.close()
        metrics.close()
        supervisor.code_checker.close()
        store.close()


FAMILIES = {
    "latchwork_jobs",
    "latchwork_frames",
    "latchwork_jobs_in_memory",
    "latchwork_jobs_retired",
    "latchwork_events_appended",
    "latchwork_event_head_seq",
    "latchwork_subscribers",
    "latchwork_callback_runs",
    "latchwork_callback_run_duration_seconds",
    "latchwork_dependency_latency_seconds",
    "latchwork_sandbox_queue_depth",
    "latchwork_sandbox_workers",
    "latchwork_sandbox_worker_recycles",
    "latchwork_hosts",
    "latchwork_host_slots",
    "latchwork_leases",
    "latchwork_store_commit_seconds",
}


def test_every_family_is_present_on_an_idle_supervisor(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "latchwork.db")
    try:
        metrics = Metrics(python_supervisor(store, tmp_path))
        assert families(metrics) >= FAMILIES
        found = samples(metrics)
        assert value(found, "latchwork_jobs", status="running") == 0
        assert value(found, "latchwork_sandbox_workers", state="idle") == 0
    finally:
        store.close()


async def test_the_families_move_when_work_runs(farm: Farm) -> None:
    supervisor, metrics = farm.supervisor, farm.metrics
    before = samples(metrics)
    assert families(metrics) >= FAMILIES
    stream = subscription(
        supervisor,
        supervisor_pb2.SubscribeRequest(after_seq=-1),
        heartbeat_seconds=1,
        encode=lambda event: b"",
    )
    await anext(stream)  # a heartbeat: the stream follows the log now
    assert value(samples(metrics), "latchwork_subscribers") == 1

    # A renders; B (blocked) is released by a Python callback when A completes; C depends
    # on B (a dependency: a hold and a qube callback).
    release = CallbackSpec("complete-job-A", "python", "qb.unblock(qb.jobid())")
    specs = [
        JobSpec(name="a", label="A", cmdline="true"),
        JobSpec(name="b", label="B", cmdline="true", status=JobStatus.BLOCKED, callbacks=[release]),
        JobSpec(name="c", label="C", cmdline="true", dependency="link-complete-job-B"),
    ]
    jobs = supervisor.submit(specs, user="alice").jobs
    await until(
        lambda: all(supervisor.index.jobs[job.id].status is JobStatus.COMPLETE for job in jobs),
        "the three jobs complete",
    )

    # The totals count what is committed (core.farm_counts); the last commit may land a turn
    # after the model changed.
    def counted_complete() -> bool:
        now = samples(metrics)
        return (
            value(now, "latchwork_jobs", status="complete") == 3
            and value(now, "latchwork_frames", status="complete") == 3
        )

    await until(counted_complete, "the jobs and frames counted complete")
    after = samples(metrics)
    events = value(after, "latchwork_events_appended_total")
    assert events > value(before, "latchwork_events_appended_total")
    assert value(after, "latchwork_event_head_seq") == supervisor.event_log.head_seq > 0
    python_ok = {"language": "python", "outcome": "ok"}
    qube_ok = {"language": "qube", "outcome": "ok"}
    assert value(after, "latchwork_callback_runs_total", **python_ok) == 1
    assert value(after, "latchwork_callback_runs_total", **qube_ok) >= 1
    assert value(after, "latchwork_callback_run_duration_seconds_count", **python_ok) == 1
    assert value(after, "latchwork_callback_run_duration_seconds_sum", **python_ok) > 0
    assert value(after, "latchwork_dependency_latency_seconds_count", language="python") == 1
    assert value(after, "latchwork_dependency_latency_seconds_count", language="qube") >= 1
    assert value(after, "latchwork_store_commit_seconds_count") > value(
        before, "latchwork_store_commit_seconds_count"
    )
    await until(
        lambda: value(samples(metrics), "latchwork_sandbox_worker_recycles_total") == 1,
        "the sandbox worker replaced",
    )
    await until(
        lambda: value(samples(metrics), "latchwork_sandbox_workers", state="idle") == 1,
        "the new worker idle",
    )
    assert value(samples(metrics), "latchwork_sandbox_queue_depth") == 0
    assert value(after, "latchwork_hosts", state="up") == 1
    assert value(after, "latchwork_host_slots", state="total") == 2

    # A frame that runs until killed holds a lease and a slot.
    [sleeper] = supervisor.submit([JobSpec(name="d", cmdline="sleep 60")], user="alice").jobs
    await until(lambda: value(samples(metrics), "latchwork_leases") == 1, "a lease counted")
    running = samples(metrics)
    assert value(running, "latchwork_frames", status="running") == 1
    assert value(running, "latchwork_jobs", status="running") == 1
    assert value(running, "latchwork_host_slots", state="in_use") == 1
    supervisor.control(OperatorAction.KILL, [sleeper.id], [])
    await until(lambda: value(samples(metrics), "latchwork_leases") == 0, "the lease released")
    assert value(samples(metrics), "latchwork_jobs", status="killed") == 1

    await stream.aclose()
    assert value(samples(metrics), "latchwork_subscribers") == 0


async def test_a_queued_python_run_counts_in_the_queue_depth(tmp_path: Path) -> None:
    """Runs handed to the runner wait in its queue until a runner takes them (none here)."""
    store = SqliteStore(tmp_path / "latchwork.db")
    queue = OwnerQueue.for_slots(1)
    supervisor = python_supervisor(store, tmp_path, queue)
    try:
        metrics = Metrics(supervisor, run_queue=queue)
        spec = JobSpec(
            cmdline="true",
            callbacks=[CallbackSpec("submit-job-self", "python", "x = 1")],
        )
        supervisor.submit([spec], user="alice")
        assert value(samples(metrics), "latchwork_sandbox_queue_depth") == 1
    finally:
        supervisor.code_checker.close()
        store.close()
