"""Runaway callbacks are contained (issue 10, item 7): a real supervisor, real gRPC.

Three callbacks that feed each other (blocked -> unblock, unblocked -> block, started by the
submission) ran forever before the firing budget; now the cascade is cut at its depth budget,
the callback is suspended for good (across a restart), and its owner hears why on the stream.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.client import Client
from latchwork.v1 import event_pb2, job_pb2

from .serverproc import ServerProcess
from .waiting import events_until

DOC = (Path(__file__).resolve().parent.parent / "docs" / "callbacks.md").read_text()

LOOP = [
    {"triggers": "blocked-job-self", "code": "unblock-self"},
    {"triggers": "unblocked-job-self", "code": "block-self"},
    {"triggers": "submit-job-self", "code": "block-self"},
]


@pytest.fixture
def idle_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """No local slots: the looping job never runs, so only the callbacks move it."""
    process = ServerProcess(tmp_path / "data", slots=0).start()
    yield process
    process.stop()


def _is_suspension(event: event_pb2.Event) -> bool:
    return (event.name, event.event_type) == (
        event_pb2.EVENT_NAME_SUSPENDED,
        event_pb2.EVENT_TYPE_CALLBACK,
    )


def _wait_suspended(client: Client, job_id: int, after_seq: int = 0) -> event_pb2.Event:
    seen = events_until(
        client,
        _is_suspension,
        job_ids=[job_id],
        include_callback_runs=True,
        after_seq=after_seq,
        timeout=20,
    )
    return seen[-1]


def _settled_runs(client: Client, job_id: int) -> int:
    """The number of the job's runs once it stops changing (bounded wait)."""
    count, deadline = -1, time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = list(client.callback_runs(job_id=job_id))
        if len(runs) == count and all(r.outcome for r in runs):
            return count
        count = len(runs)
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} kept running callbacks: {count} runs")


def test_the_three_line_loop_is_suspended_and_its_owner_told(idle_server: ServerProcess) -> None:
    with idle_server.client() as client:
        job = client.submit(
            [{"name": "loop", "user": "alice", "package": {"cmdline": "true"}, "callbacks": LOOP}]
        ).jobs[0]
        suspended = _wait_suspended(client, job.id)
        callbacks = client.get_job(job.id).callbacks
        assert suspended.user == "alice" and suspended.job_id == job.id
        assert f"callback {callbacks[0].id} (blocked-job-self) suspended" in suspended.message
        assert "depth 101" in suspended.message and "budget is 100" in suspended.message
        # The message is the one docs/callbacks.md shows (with this callback's id).
        [documented] = re.findall(r"## Firing budget.*?```text\n(.*?)\n```", DOC, re.S)
        assert suspended.message == documented.replace("callback 12", f"callback {callbacks[0].id}")
        # Contained: 101 runs (depths 0 to 100), then nothing more.
        assert _settled_runs(client, job.id) == 101
        # GetJob and `latchwork job` show which callback is suspended, and why.
        shown = client.get_job(job.id).callbacks
        assert "reached depth 101; the budget is 100" in shown[0].suspended
        assert [c.suspended for c in shown[1:]] == ["", ""]
        printed = idle_server.cli("job", str(job.id))
        assert f"suspended: {shown[0].suspended}" in printed.stdout
        # Another user is served as usual.
        other = client.submit([{"name": "other", "user": "bob", "package": {"cmdline": "true"}}])
        assert other.jobs[0].status == job_pb2.JOB_STATUS_PENDING
        head = client.control("block", [other.jobs[0].id]).seq

    idle_server.stop()
    idle_server.start()
    with idle_server.client() as client:
        # Still suspended after the restart: the unblock fires `unblocked-job-self` (block-self)
        # once, and the block it makes no longer fires the suspended callback.
        client.control("unblock", [job.id])
        assert _settled_runs(client, job.id) == 102
        assert client.get_job(job.id).status == job_pb2.JOB_STATUS_BLOCKED

        # The documented way back: add the callback again; a new one has a fresh budget. It
        # catches up on the job's `blocked` (depth 0) and the loop runs again until its next
        # firing at depth 101, one of `unblocked-job-self`: that one is suspended in turn.
        [again] = client.add_callbacks(job.id, [LOOP[0]])
        resuspended = _wait_suspended(client, job.id, after_seq=head)
        assert f"callback {callbacks[1].id} (unblocked-job-self) suspended" in (resuspended.message)
        assert _settled_runs(client, job.id) == 102 + 101
        assert again.id > callbacks[-1].id


def test_the_configured_budget_is_the_one_applied(tmp_path: Path) -> None:
    """``callback_cascade_depth`` from the environment reaches the running supervisor."""
    process = ServerProcess(
        tmp_path / "data", slots=0, env={"LATCHWORK_CALLBACK_CASCADE_DEPTH": "7"}
    ).start()
    try:
        with process.client() as client:
            job = client.submit(
                [{"name": "loop", "package": {"cmdline": "true"}, "callbacks": LOOP}]
            )
            suspended = _wait_suspended(client, job.jobs[0].id)
            assert "depth 8" in suspended.message and "budget is 7" in suspended.message
    finally:
        process.stop()
