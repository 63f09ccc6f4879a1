"""Finished jobs leave a real supervisor's memory (``keep_finished_seconds``, issue 16 item 1):
its answers over gRPC stay the same, across a restart too, and a retired job can be acted on.
Run on SQLite, and on PostgreSQL in the PostgreSQL leg (Makefile, PG_TESTS)."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from latchwork.client import Client
from latchwork.v1 import job_pb2, supervisor_pb2

from .serverproc import ServerProcess
from .waiting import wait_job

KEEP_NO_TIME = {"LATCHWORK_KEEP_FINISHED_SECONDS": "0"}


def gauge(server: ServerProcess, name: str) -> float:
    with urllib.request.urlopen(f"{server.http_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        if family.name == name:
            return float(family.samples[0].value)
    raise AssertionError(f"no {name} in /metrics")


def wait_retired(server: ServerProcess, count: int) -> None:
    """Until ``count`` jobs are out of memory (the supervisor retires them once a second)."""
    deadline = time.monotonic() + 20
    while gauge(server, "latchwork_jobs_retired") < count:
        assert time.monotonic() < deadline, "the finished jobs never left memory"
        time.sleep(0.2)


def frames(label: str, command: str, **more: Any) -> dict[str, Any]:
    return {
        "name": f"shot {label}",
        "label": label,
        "prototype": "cmdrange",
        "package": {"cmdline": command, "range": "1-3"},
        **more,
    }


def answers(client: Client) -> dict[str, Any]:
    """What clients read of the farm: every job (as listed, and one by one), the snapshot
    of a Subscribe, and the overview's totals."""
    listed = list(client.list_jobs())
    snapshot: list[job_pb2.Job] = []
    for item in client._stub.Subscribe(  # noqa: SLF001 - the raw stream, to stop at its end
        supervisor_pb2.SubscribeRequest(snapshot=True), timeout=30
    ):
        if item.HasField("snapshot_end"):
            break
        snapshot.append(item.snapshot_job)
    summary = client.summarize_farm()
    return {
        "listed": [job.SerializeToString(deterministic=True) for job in listed],
        "one by one": [
            client.get_job(job.id).SerializeToString(deterministic=True) for job in listed
        ],
        "snapshot": sorted(job.id for job in snapshot),
        "jobs": dict(summary.jobs_by_status),
        "frames": dict(summary.frames_by_status),
    }


def test_answers_stay_the_same_as_jobs_leave_memory_and_after_a_restart(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env=KEEP_NO_TIME).start()
    try:
        with server.client() as client:
            lead = client.submit([frames("comp", "true")]).jobs[0]
            children = client.submit(
                [
                    frames("left", "true", pid=lead.id),
                    frames("right", "exit 3", pid=lead.id, retry=0),
                ],
                pgrp=lead.pgrp,
            ).jobs
            live = client.submit([frames("later", "true", status="blocked")]).jobs[0]
            for job in (lead, *children):
                wait_job(client, job.id)
            # Read at once: the finished jobs are likely still in memory (they retire at the
            # supervisor's next pass, within a second), so what follows compares the store's
            # answers with memory's; never less than with the store's own.
            before = answers(client)
            assert len(before["listed"]) == 4 and before["snapshot"] == sorted(
                [lead.id, *(c.id for c in children), live.id]
            )
            assert before["jobs"]["JOB_STATUS_FAILED"] == 1
            wait_retired(server, 3)
            assert gauge(server, "latchwork_jobs_in_memory") == 1
            assert answers(client) == before
        server.stop()

        server.start()
        assert gauge(server, "latchwork_jobs_in_memory") == 1  # the restart loaded the live one
        assert gauge(server, "latchwork_jobs_retired") == 3
        with server.client() as client:
            assert answers(client) == before
            # a retired job is acted on as any other: retried, it runs again
            right = children[1]
            client.control("retry", [right.id])
            again = wait_job(client, right.id)
            assert again.status == job_pb2.JOB_STATUS_FAILED
            assert [w.attempts for w in again.work] == [2, 2, 2]
            # and a Submit into its retired group sees the labels there
            added = client.submit([frames("more", "true", pid=lead.id)], pgrp=lead.pgrp).jobs[0]
            assert wait_job(client, added.id).status == job_pb2.JOB_STATUS_COMPLETE
            assert [job.id for job in client.list_jobs(parent_id=lead.id)] == [
                added.id,
                children[1].id,
                children[0].id,
            ]
    finally:
        server.stop()
