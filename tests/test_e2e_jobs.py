"""Acceptance of the supervisor over real gRPC against a real ``latchwork serve``."""

from __future__ import annotations

import time

import grpc
import pytest

from latchwork.client import Client, LatchworkError
from latchwork.v1 import event_pb2, job_pb2

from .waiting import events_until, job_final, wait_job


def frames_job(cmdline: str, frames: str = "1-10", **extra: object) -> dict[str, object]:
    return {
        "name": "frames",
        "prototype": "cmdrange",
        "package": {"cmdline": cmdline, "range": frames},
        **extra,
    }


def test_ten_frame_cmdrange_job_runs_with_gapless_ordered_events(client: Client) -> None:
    response = client.submit(
        [
            frames_job(
                "echo frame QB_FRAME_NUMBER job $LATCHWORK_JOB_ID; echo err $QB_FRAME_NUMBER >&2",
                cpus=2,
                label="render",
            )
        ]
    )
    job_id = response.jobs[0].id
    assert response.pgrp == job_id
    events = events_until(client, job_final(job_id))

    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "seqs must start at 1 and have no gap"
    assert events[0].name == event_pb2.EVENT_NAME_SUBMIT
    assert events[-1].name == event_pb2.EVENT_NAME_COMPLETE
    assert events[-1].event_type == event_pb2.EVENT_TYPE_JOB
    completed = [
        e.work_name
        for e in events
        if e.event_type == event_pb2.EVENT_TYPE_WORK and e.name == event_pb2.EVENT_NAME_COMPLETE
    ]
    assert sorted(completed, key=int) == [str(n) for n in range(1, 11)]
    for event in events:
        if (
            event.event_type == event_pb2.EVENT_TYPE_WORK
            and event.name == event_pb2.EVENT_NAME_COMPLETE
        ):
            started = [
                e.seq
                for e in events
                if e.work_name == event.work_name and e.name == event_pb2.EVENT_NAME_RUNNING
            ]
            assert started and started[0] < event.seq
    # The job state never flickers back to pending between frames.
    job_events = [e.name for e in events if e.event_type == event_pb2.EVENT_TYPE_JOB]
    assert job_events == [
        event_pb2.EVENT_NAME_SUBMIT,
        event_pb2.EVENT_NAME_RUNNING,
        event_pb2.EVENT_NAME_COMPLETE,
    ]

    job = client.get_job(job_id)
    assert job.status == job_pb2.JOB_STATUS_COMPLETE
    assert job.counts.complete == 10
    for frame in range(1, 11):
        out = client.work_output(job_id, str(frame))
        assert out.data == f"frame {frame} job {job_id}\n".encode()
        assert out.eof
        err = client.work_output(job_id, str(frame), stderr=True)
        assert err.data == f"err {frame}\n".encode()


def test_failing_frame_is_retried_then_fails_the_job(client: Client) -> None:
    job_id = (
        client.submit(
            [frames_job("if [ QB_FRAME_NUMBER = 3 ]; then echo boom; exit 7; fi", "1-4", retry=2)]
        )
        .jobs[0]
        .id
    )
    events = events_until(client, job_final(job_id), job_ids=[job_id])
    frame3 = [e for e in events if e.work_name == "3" and e.event_type == event_pb2.EVENT_TYPE_WORK]
    names = [e.name for e in frame3]
    assert names.count(event_pb2.EVENT_NAME_RUNNING) == 3
    assert names.count(event_pb2.EVENT_NAME_RETRIED) == 2
    assert names[-1] == event_pb2.EVENT_NAME_FAILED
    assert "exit code 7" in frame3[-1].message
    job = client.get_job(job_id)
    assert job.status == job_pb2.JOB_STATUS_FAILED
    assert job.counts.complete == 3 and job.counts.failed == 1
    work3 = next(w for w in job.work if w.name == "3")
    assert (work3.attempts, work3.retries, work3.exit_code) == (3, 2, 7)
    # Every attempt's output is kept.
    for attempt in (1, 2, 3):
        assert client.work_output(job_id, "3", attempt=attempt).data == b"boom\n"


def test_kill_stops_a_long_frame_within_a_second(client: Client) -> None:
    job_id = client.submit([frames_job("echo started; exec sleep 300", "1")]).jobs[0].id
    events_until(
        client,
        lambda e: (
            e.job_id == job_id
            and e.name == event_pb2.EVENT_NAME_RUNNING
            and e.event_type == event_pb2.EVENT_TYPE_WORK
        ),
    )
    # Wait until the process is really there (its output appeared).
    deadline = time.monotonic() + 10
    while not client.work_output(job_id, "1").data and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    client.control("kill", [job_id])
    job = wait_job(client, job_id, timeout=5)
    elapsed = time.monotonic() - started
    assert job.status == job_pb2.JOB_STATUS_KILLED
    assert elapsed < 1.0, f"kill took {elapsed:.2f} s"
    assert job.work[0].status == job_pb2.WORK_STATUS_KILLED


def test_kill_terminates_the_whole_process_group(client: Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "child-alive"
    job_id = client.submit([frames_job(f"(sleep 2; touch {marker}) & sleep 300", "1")]).jobs[0].id
    events_until(client, lambda e: e.job_id == job_id and e.name == event_pb2.EVENT_NAME_RUNNING)
    time.sleep(0.2)
    client.control("kill", [job_id])
    wait_job(client, job_id)
    time.sleep(2.5)
    assert not marker.exists(), "a background child of the killed frame survived"


def test_duplicate_label_and_bad_pid_reject_the_whole_submission(client: Client) -> None:
    before = list(client.list_jobs())
    with pytest.raises(LatchworkError) as caught:
        client.submit(
            [
                frames_job("true", label="comp"),
                frames_job("true", label="comp"),
                {"name": "orphan", "package": {"cmdline": "true"}, "pid": 999},
                {"name": "bad", "package": {"cmdline": ""}, "label": "9lives"},
            ]
        )
    error = caught.value
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field for v in error.violations}
    assert fields == {"jobs[1].label", "jobs[2].pid", "jobs[3].label", "jobs[3].command.cmdline"}
    assert "duplicate label 'comp'" in error.message
    assert "parent job 999 does not exist" in error.message
    assert list(client.list_jobs()) == before
    # Nothing was stored, so no event was written either.
    with pytest.raises(LatchworkError) as beyond:
        next(iter(client.subscribe(after_seq=1)))
    assert beyond.value.code == grpc.StatusCode.OUT_OF_RANGE


def test_labels_are_unique_within_a_process_group_not_across(client: Client) -> None:
    first = client.submit([frames_job("true", label="render", status="blocked")])
    second = client.submit([frames_job("true", label="render", status="blocked")])
    assert first.pgrp != second.pgrp
    with pytest.raises(LatchworkError) as caught:
        client.submit([frames_job("true", label="render")], pgrp=first.pgrp)
    assert caught.value.violations[0].field == "jobs[0].label"
    joined = client.submit([frames_job("true", label="comp", status="blocked")], pgrp=first.pgrp)
    assert joined.pgrp == first.pgrp and joined.jobs[0].pgrp == first.pgrp


def test_unlabelled_jobs_get_unique_labels(client: Client) -> None:
    response = client.submit([frames_job("true", status="blocked") for _ in range(3)])
    labels = [job.label for job in response.jobs]
    assert len(set(labels)) == 3
    assert all(label for label in labels)


def test_submit_is_idempotent_by_request_id(client: Client) -> None:
    jobs = [frames_job("true", status="blocked", label="once")]
    first = client.submit(jobs, request_id="req-1")
    again = client.submit(jobs, request_id="req-1")
    assert [j.id for j in again.jobs] == [j.id for j in first.jobs]
    assert len([j for j in client.list_jobs() if j.label == "once"]) == 1
    with pytest.raises(LatchworkError) as caught:
        client.submit([frames_job("false", status="blocked")], request_id="req-1")
    assert caught.value.code == grpc.StatusCode.ALREADY_EXISTS


def test_parent_child_tree_is_visible(client: Client) -> None:
    parent = client.submit([frames_job("true", status="blocked", label="shot")]).jobs[0]
    children = client.submit(
        [frames_job("true", status="blocked", pid=parent.id, label=f"c{i}") for i in range(2)]
    ).jobs
    detail = client.get_job(parent.id)
    assert sorted(detail.child_ids) == sorted(c.id for c in children)
    assert {j.id for j in client.list_jobs(parent_id=parent.id)} == {c.id for c in children}


def test_priority_orders_dispatch(server) -> None:  # type: ignore[no-untyped-def]
    with server.client() as client:
        low = client.submit([frames_job("sleep 0.2", "1", priority=500, status="blocked")]).jobs[0]
        high = client.submit([frames_job("sleep 0.2", "1", priority=10, status="blocked")]).jobs[0]
        mid = client.submit([frames_job("sleep 0.2", "1", priority=100, status="blocked")]).jobs[0]
        # Release all at once; with 2 slots the two most urgent start first.
        result = client.control("unblock", [low.id, high.id, mid.id])
        for job in (low, high, mid):
            wait_job(client, job.id)
        started = [
            e.job_id
            for e in events_until(client, job_final(low.id), after_seq=result.seq)
            if e.event_type == event_pb2.EVENT_TYPE_WORK and e.name == event_pb2.EVENT_NAME_RUNNING
        ]
        assert set(started[:2]) == {high.id, mid.id}
        assert started[2] == low.id


def test_cpus_limits_concurrency_per_job(client: Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    job_id = client.submit([frames_job("sleep 0.2", "1-4", cpus=1)]).jobs[0].id
    events = events_until(client, job_final(job_id), job_ids=[job_id])
    running = 0
    peak = 0
    for event in events:
        if event.event_type != event_pb2.EVENT_TYPE_WORK:
            continue
        if event.name == event_pb2.EVENT_NAME_RUNNING:
            running += 1
        elif event.name == event_pb2.EVENT_NAME_COMPLETE:
            running -= 1
        peak = max(peak, running)
    assert peak == 1
    assert {e.subjob_id for e in events if e.event_type == event_pb2.EVENT_TYPE_WORK} == {0}


def test_cmdline_job_runs_one_process_per_instance(client: Client) -> None:
    job_id = (
        client.submit(
            [
                {
                    "name": "sim",
                    "prototype": "cmdline",
                    "package": {"cmdline": "echo instance $LATCHWORK_SUBJOB_ID"},
                    "cpus": 2,
                }
            ]
        )
        .jobs[0]
        .id
    )
    job = wait_job(client, job_id)
    assert job.status == job_pb2.JOB_STATUS_COMPLETE
    assert [w.name for w in job.work] == ["0", "1"]


def test_agenda_timeout_emits_timeout_then_fails(client: Client) -> None:
    job_id = client.submit([frames_job("sleep 30", "1", agenda_timeout=1)]).jobs[0].id
    started = time.monotonic()
    events = events_until(client, job_final(job_id), job_ids=[job_id])
    assert time.monotonic() - started < 10
    names = [(e.name, e.event_type) for e in events]
    timeout_at = names.index((event_pb2.EVENT_NAME_TIMEOUT, event_pb2.EVENT_TYPE_WORK))
    failed_at = names.index((event_pb2.EVENT_NAME_FAILED, event_pb2.EVENT_TYPE_WORK))
    assert timeout_at < failed_at
    assert "timed out" in events[failed_at].message
    assert client.get_job(job_id).status == job_pb2.JOB_STATUS_FAILED


def test_instance_timeout_caps_the_subjob(client: Client) -> None:
    job_id = client.submit([frames_job("sleep 0.6", "1-5", timeout=1, cpus=1)]).jobs[0].id
    job = wait_job(client, job_id, timeout=30)
    assert job.status == job_pb2.JOB_STATUS_FAILED
    assert any("timed out" in w.message for w in job.work)


def test_block_unblock_suspend_resume_retry_remove(client: Client) -> None:
    job_id = client.submit([frames_job("sleep 0.3", "1-3", status="blocked")]).jobs[0].id
    assert client.get_job(job_id).status == job_pb2.JOB_STATUS_BLOCKED
    result = client.control("block", [job_id])
    assert not result.results[0].changed
    client.control("block", work=[(job_id, "2")])
    client.control("unblock", [job_id])
    job = wait_job(client, job_id)
    assert job.status == job_pb2.JOB_STATUS_COMPLETE
    client.control("retry", work=[(job_id, "2")])
    job = wait_job(client, job_id)
    assert next(w for w in job.work if w.name == "2").attempts == 2

    long_id = client.submit([frames_job("sleep 300", "1")]).jobs[0].id
    events_until(client, lambda e: e.job_id == long_id and e.name == event_pb2.EVENT_NAME_RUNNING)
    client.control("suspend", [long_id])
    assert client.get_job(long_id).status == job_pb2.JOB_STATUS_SUSPENDED
    client.control("resume", [long_id])
    assert client.get_job(long_id).status == job_pb2.JOB_STATUS_RUNNING
    client.control("remove", [long_id])
    assert client.get_job(long_id).status == job_pb2.JOB_STATUS_REMOVED
    assert long_id not in {j.id for j in client.list_jobs()}
    with pytest.raises(LatchworkError) as caught:
        client.control("retry", [long_id])
    assert caught.value.violations[0].field == "job_ids[0]"


def test_control_is_all_or_nothing(client: Client) -> None:
    job_id = client.submit([frames_job("true", status="blocked")]).jobs[0].id
    with pytest.raises(LatchworkError) as caught:
        client.control("unblock", [job_id, 424242], [(job_id, "nope")])
    assert {v.field for v in caught.value.violations} == {"job_ids[1]", "work[0].work_name"}
    assert client.get_job(job_id).status == job_pb2.JOB_STATUS_BLOCKED


def test_list_jobs_pages(client: Client) -> None:
    ids = [
        j.id for j in client.submit([frames_job("true", status="blocked") for _ in range(7)]).jobs
    ]
    from latchwork.v1 import supervisor_pb2

    page = client._stub.ListJobs(supervisor_pb2.ListJobsRequest(page_size=3))  # noqa: SLF001
    assert [j.id for j in page.jobs] == sorted(ids, reverse=True)[:3]
    assert page.next_page_token
    assert [j.id for j in client.list_jobs(page_size=3)] == sorted(ids, reverse=True)


def test_subscribe_filters_and_resumes(client: Client) -> None:
    a = client.submit([frames_job("true", "1-2")]).jobs[0].id
    b = client.submit([frames_job("true", "1-2")]).jobs[0].id
    wait_job(client, a)
    wait_job(client, b)
    only_b = events_until(client, job_final(b), job_ids=[b])
    assert {e.job_id for e in only_b} == {b}
    middle = only_b[2].seq
    resumed = events_until(client, job_final(b), after_seq=middle, job_ids=[b])
    assert resumed[0].seq > middle
    assert [e.seq for e in resumed] == [e.seq for e in only_b if e.seq > middle]
    names = events_until(
        client,
        job_final(b),
        names=[event_pb2.EVENT_NAME_COMPLETE],
        types=[event_pb2.EVENT_TYPE_JOB],
    )
    assert all(
        e.name == event_pb2.EVENT_NAME_COMPLETE and e.event_type == event_pb2.EVENT_TYPE_JOB
        for e in names
    )


def test_health_and_reflection_are_served(server) -> None:  # type: ignore[no-untyped-def]
    from grpc_health.v1 import health_pb2
    from grpc_reflection.v1alpha import reflection_pb2

    from .standard_rpcs import health_stub, server_reflection_stub

    with server.channel() as channel:
        health = health_stub(channel)
        reply = health.Check(
            health_pb2.HealthCheckRequest(service="latchwork.v1.SupervisorService")
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = server_reflection_stub(channel)
        responses = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = {s.name for r in responses for s in r.list_services_response.service}
        assert {"latchwork.v1.SupervisorService", "latchwork.v1.WorkerService"} <= names
