"""Crash and shutdown: nothing acknowledged is lost, running work is requeued, seqs continue."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from latchwork.v1 import event_pb2, job_pb2

from .serverproc import ServerProcess
from .waiting import events_until, job_final, wait_job


def _running_frames(client, job_id: int, at_least: int) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if client.get_job(job_id).counts.running >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError("frames did not start")


def _frame_processes(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if marker in " ".join(proc.info["cmdline"] or ()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_kill_9_while_frames_run_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    marker = f"latchwork-crash-{time.monotonic_ns()}"
    first = ServerProcess(data).start()
    with first.client() as client:
        other = (
            client.submit([{"name": "queued", "package": {"cmdline": "true"}, "status": "blocked"}])
            .jobs[0]
            .id
        )
        job_id = (
            client.submit(
                [
                    {
                        "name": "crash",
                        "prototype": "cmdrange",
                        "package": {
                            "cmdline": f"sleep 1.5; echo {marker} QB_FRAME_NUMBER",
                            "range": "1-6",
                        },
                        "cpus": 2,
                    }
                ]
            )
            .jobs[0]
            .id
        )
        _running_frames(client, job_id, 2)
        assert _frame_processes(marker), "frames should be running"
    first.kill9()

    second = ServerProcess(data).start()
    try:
        with second.client() as client:
            # The orphaned frames of the dead supervisor were killed, not left to run twice.
            time.sleep(0.3)
            survivors = [p for p in _frame_processes(marker) if p.ppid() == 1]
            assert not survivors, f"orphans survived: {survivors}"
            assert client.get_job(other).status == job_pb2.JOB_STATUS_BLOCKED
            job = wait_job(client, job_id, timeout=60)
            assert job.status == job_pb2.JOB_STATUS_COMPLETE
            events = events_until(client, job_final(job_id))
            seqs = [e.seq for e in events]
            assert seqs == list(range(1, len(seqs) + 1)), "the sequence continued without a gap"
            requeued = [
                e
                for e in events
                if e.event_type == event_pb2.EVENT_TYPE_WORK
                and e.name == event_pb2.EVENT_NAME_RETRIED
            ]
            assert len(requeued) >= 2
            assert all("restarted" in e.message for e in requeued)
            for work in job.work:
                assert work.retries == 0, "a requeue after a crash is not the frame's failure"
                out = client.work_output(job_id, work.name)
                assert out.data == f"{marker} {work.name}\n".encode()
    finally:
        second.stop()


def test_sigterm_requeues_running_work_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    marker = f"latchwork-term-{time.monotonic_ns()}"
    first = ServerProcess(data).start()
    with first.client() as client:
        job_id = (
            client.submit(
                [
                    {
                        "name": "term",
                        "prototype": "cmdrange",
                        "package": {"cmdline": f"sleep 1; echo {marker}", "range": "1-2"},
                        "cpus": 2,
                    }
                ]
            )
            .jobs[0]
            .id
        )
        _running_frames(client, job_id, 2)
    assert first.stop() == 0
    assert not _frame_processes(marker), "shutdown must end the frames it requeued"

    second = ServerProcess(data).start()
    try:
        with second.client() as client:
            events = events_until(client, job_final(job_id))
            requeued = [e for e in events if e.name == event_pb2.EVENT_NAME_RETRIED and e.work_name]
            assert {e.work_name for e in requeued} == {"1", "2"}
            assert all("shut down" in e.message for e in requeued)
            assert client.get_job(job_id).status == job_pb2.JOB_STATUS_COMPLETE
    finally:
        second.stop()
