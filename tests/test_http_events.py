"""The event stream over HTTP (server-sent events): live events, resumption with
Last-Event-ID without gaps or duplicates, keepalives, and the gap once events are trimmed."""

from __future__ import annotations

import time
from pathlib import Path

from latchwork.v1 import event_pb2

from .http_client import EventStream, Http
from .serverproc import ServerProcess
from .waiting import wait_job


def test_events_stream_live_and_resume_after_the_last_id(server: ServerProcess) -> None:
    stream = EventStream(server.http_url, "/api/events?keepalive=1")
    assert stream.response.status == 200
    assert stream.response.headers["Content-Type"] == "text/event-stream"
    events = iter(stream)
    # A keepalive says the subscription is in place and idle: what follows is live.
    assert next(events).event == "comment"
    with server.client() as client:
        job = client.submit(
            [{"name": "f", "prototype": "cmdrange", "package": {"cmdline": "true", "range": "1-4"}}]
        ).jobs[0]
        wait_job(client, job.id)
    first: list[int] = []
    for event in events:
        if event.event == "lw":
            body = event.json()
            assert int(event.id) == int(body["seq"]) and int(body["job_id"]) == job.id
            first.append(int(event.id))
            if len(first) == 3:
                break
    stream.close()
    resumed = EventStream(server.http_url, "/api/events", {"Last-Event-ID": str(first[-1])})
    rest: list[int] = []
    for event in resumed:
        if event.event == "lw":
            rest.append(int(event.id))
            if event.json()["name"] == "EVENT_NAME_COMPLETE" and event.json()["event_type"] == (
                "EVENT_TYPE_JOB"
            ):
                break
    resumed.close()
    seqs = first + rest
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no gap, no repeat"
    assert seqs[0] == 1, "the first event after the stream opened is the submit"


def test_keepalives_flow_while_nothing_happens(server: ServerProcess) -> None:
    stream = EventStream(server.http_url, "/api/events?keepalive=1")
    started = time.monotonic()
    comments = []
    for event in stream:
        if event.event == "comment":
            comments.append(event.data)
            if len(comments) == 2:
                break
    stream.close()
    assert comments == ["keepalive", "keepalive"]
    assert time.monotonic() - started < 30


def test_job_filter_and_a_bad_resume_point(server: ServerProcess) -> None:
    with server.client() as client:
        one = client.submit([{"name": "one", "package": {"cmdline": "true"}}]).jobs[0]
        two = client.submit([{"name": "two", "package": {"cmdline": "true"}}]).jobs[0]
        wait_job(client, one.id)
        wait_job(client, two.id)
    stream = EventStream(server.http_url, f"/api/events?after_seq=0&job={two.id}")
    for event in stream:
        assert event.event == "lw"
        assert int(event.json()["job_id"]) == two.id
        if event.json()["name"] == "EVENT_NAME_COMPLETE":
            break
    stream.close()
    bad = Http(server.http_url).get("/api/events", headers={"Last-Event-ID": "yesterday"})
    assert bad.status == 400 and bad.error["field_violations"][0]["field"] == "Last-Event-ID"


def test_a_trimmed_resume_point_is_a_gap_event(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data",
        env={"LATCHWORK_RETENTION_EVENTS": "10", "LATCHWORK_RETENTION_CHECK_SECONDS": "0.2"},
    ).start()
    try:
        with server.client() as client:
            job = client.submit(
                [
                    {
                        "name": "f",
                        "prototype": "cmdrange",
                        "package": {"cmdline": "true", "range": "1-10"},
                    }
                ]
            ).jobs[0]
            wait_job(client, job.id)
            deadline = time.monotonic() + 10
            oldest = 1
            while oldest <= 2 and time.monotonic() < deadline:
                first = next(iter(client.subscribe(after_seq=0)))
                assert isinstance(first, event_pb2.Event)
                oldest = first.seq
                time.sleep(0.1)
        assert oldest > 2, "retention never trimmed"
        stream = EventStream(server.http_url, "/api/events", {"Last-Event-ID": "1"})
        got = list(stream)
        stream.close()
        assert [e.event for e in got] == ["gap"]
        assert got[0].json()["oldest_seq"] >= oldest
    finally:
        server.stop()


def test_an_open_stream_does_not_hold_the_stop(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    stream = EventStream(server.http_url, "/api/events?after_seq=0")
    try:
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 10, "the stream ended with the supervisor"
        # Whatever was sent before the stop, then the end of the stream (no hang).
        assert {event.event for event in stream} <= {"lw", "comment"}
    finally:
        stream.close()


def test_a_resume_point_beyond_the_head_is_a_gap_event(server: ServerProcess) -> None:
    """A ``Last-Event-ID`` past the head (a supervisor whose store was replaced) is Subscribe's
    OUT_OF_RANGE: one ``gap`` event with its message, and the stream ends (the page reloads),
    instead of a stream that silently waits for seqs that may never come."""
    stream = EventStream(server.http_url, "/api/events", {"Last-Event-ID": "999999"})
    got = list(stream)
    stream.close()
    assert [event.event for event in got] == ["gap"]
    assert "after_seq 999999 is beyond the log's head" in got[0].json()["message"]
