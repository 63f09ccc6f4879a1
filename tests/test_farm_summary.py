"""SummarizeFarm (the dashboard's overview) and Subscribe's caught-up heartbeat, against a real
supervisor over gRPC; the counting rule itself as a unit."""

from __future__ import annotations

from pathlib import Path

from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.farm_summary import RECENT_FAILURES, summarize_farm
from latchwork.server.core.visibility import EVERYTHING, ReadScope
from latchwork.v1 import event_pb2, supervisor_pb2

from .serverproc import ServerProcess
from .unit.factories import frames_spec, new_job
from .waiting import wait_job


def test_the_summary_counts_what_the_caller_sees(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=2).start()
    try:
        with server.client() as client:
            ok, bad = client.submit(
                [
                    {"name": "ok", "package": {"cmdline": "true"}},
                    {"name": "bad", "prototype": "cmdrange"}
                    | {"package": {"cmdline": "exit 3", "range": "1-2"}},
                ]
            ).jobs
            held = client.submit(
                [{"name": "held", "status": "blocked", "package": {"cmdline": "true"}}]
            ).jobs[0]
            wait_job(client, ok.id)
            wait_job(client, bad.id)
            summary = client.summarize_farm()
        assert dict(summary.jobs_by_status) == {
            "JOB_STATUS_COMPLETE": 1,
            "JOB_STATUS_FAILED": 1,
            "JOB_STATUS_BLOCKED": 1,
        }
        assert dict(summary.frames_by_status) == {
            "WORK_STATUS_COMPLETE": 1,
            "WORK_STATUS_FAILED": 2,
            "WORK_STATUS_PENDING": 1,  # a held job holds its work as it is
        }
        failed = [(e.job_id, e.work_name) for e in summary.recent_failures if e.work_name]
        assert sorted(failed) == [(bad.id, "1"), (bad.id, "2")]
        seqs = [e.seq for e in summary.recent_failures]
        assert seqs == sorted(seqs, reverse=True)  # newest first
        assert summary.job_names[bad.id] == "bad"
        assert summary.head_seq > 0 and held.id not in summary.job_names
    finally:
        server.stop()


def test_the_caught_up_heartbeat_ends_a_replay_at_once(tmp_path: Path) -> None:
    """A reader of a job's past events learns it has them all from the heartbeat sent as the
    stream catches up; with heartbeats otherwise an hour apart, that is the only one."""
    server = ServerProcess(tmp_path / "data", slots=1).start()
    try:
        with server.client() as client:
            job = client.submit([{"name": "one", "package": {"cmdline": "true"}}]).jobs[0]
            wait_job(client, job.id)
            client.submit([{"name": "other", "package": {"cmdline": "true"}}])
            request = supervisor_pb2.SubscribeRequest(
                job_ids=[job.id], after_seq=0, heartbeat_seconds=3600, caught_up_heartbeat=True
            )
            stream = client._stub.Subscribe(request, timeout=60)  # noqa: SLF001 - raw stream
            names = []
            for item in stream:
                if item.HasField("heartbeat"):
                    head = item.heartbeat.head_seq
                    break
                names.append(item.event.name)
            stream.cancel()
        assert names[0] == event_pb2.EVENT_NAME_SUBMIT
        assert event_pb2.EVENT_NAME_COMPLETE in names
        assert head >= 1
    finally:
        server.stop()


def _failed(job_id: int, user: str, seq: int) -> Event:
    event = Event(EventName.FAILED, EventType.WORK, job_id=job_id, user=user, work_name="1")
    event.seq = seq
    return event


def test_the_rule_scopes_counts_and_failures_and_bounds_the_list() -> None:
    mine, theirs = new_job(frames_spec("1-3"), job_id=1), new_job(frames_spec("1"), job_id=2)
    mine.user = "ana"
    events = [_failed(2, theirs.user, 100)] + [_failed(1, "ana", s) for s in range(99, 0, -1)]
    everyone = summarize_farm([mine, theirs], events, 100, EVERYTHING)
    assert sum(everyone.jobs_by_status.values()) == 2
    assert len(everyone.recent_failures) == RECENT_FAILURES
    assert everyone.recent_failures[0].job_id == 2
    own = summarize_farm([mine, theirs], events, 100, ReadScope("ana"))
    assert sum(own.jobs_by_status.values()) == 1 and sum(own.frames_by_status.values()) == 3
    assert {e.job_id for e in own.recent_failures} == {1}
