"""Triggers and qube callbacks over real gRPC: fail fast, run records, durability of latches."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from latchwork.client import Client, LatchworkError
from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2

from .serverproc import ServerProcess
from .waiting import events_until, wait_job


def _job(label: str, **extra: object) -> dict[str, object]:
    return {"name": label, "label": label, "package": {"cmdline": "true"}, **extra}


def test_bad_callbacks_reject_the_whole_submission_with_paths_and_offsets(client: Client) -> None:
    with pytest.raises(LatchworkError) as caught:
        client.submit(
            [
                _job("A"),
                _job(
                    "B",
                    callbacks=[
                        {"triggers": "complete-job-A && compelte-job-A", "code": "unblock-self"}
                    ],
                ),
                _job("C", callbacks=[{"triggers": "complete-job-Nope", "code": "unblock-self"}]),
                _job("D", callbacks=[{"triggers": "complete-job-A", "code": "unblok-self"}]),
                _job("E", callbacks=[{"triggers": "complete-job-A", "code": "unblock-work-self"}]),
                _job("F", dependency="link-complete-job-A, link-complete-job-Ghost"),
                _job(
                    "G",
                    callbacks=[{"triggers": "complete-job-A", "language": "cobol", "code": "x"}],
                ),
            ]
        )
    error = caught.value
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    by_field = {v.field: v.description for v in error.violations}
    assert set(by_field) == {
        "jobs[1].callbacks[0].triggers",
        "jobs[2].callbacks[0].triggers",
        "jobs[3].callbacks[0].code",
        "jobs[4].callbacks[0].code",
        "jobs[5].dependency",
        "jobs[6].callbacks[0].language",
    }
    assert (
        "unknown event name 'compelte' (offset 18); did you mean 'complete'?"
        in by_field["jobs[1].callbacks[0].triggers"]
    )
    assert "no job labelled 'Nope'" in by_field["jobs[2].callbacks[0].triggers"]
    assert "did you mean 'unblock-self'?" in by_field["jobs[3].callbacks[0].code"]
    assert "needs a work item" in by_field["jobs[4].callbacks[0].code"]
    assert "'Ghost'" in by_field["jobs[5].dependency"]
    assert "(offset 21)" in by_field["jobs[5].dependency"]
    assert "unknown language 'cobol'" in by_field["jobs[6].callbacks[0].language"]
    assert list(client.list_jobs()) == []


def test_languages_disabled_by_configuration_are_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "data", env={"LATCHWORK_LANGUAGES": "qube"}).start()
    try:
        with server.client() as client, pytest.raises(LatchworkError) as caught:
            client.submit(
                [
                    _job(
                        "A",
                        callbacks=[
                            {"triggers": "done-job-self", "language": "python", "code": "x = 1"}
                        ],
                    )
                ]
            )
    finally:
        server.stop()
    assert caught.value.violations[0].field == "jobs[0].callbacks[0].language"
    assert "disabled in this supervisor's configuration" in caught.value.violations[0].description


def test_validate_trigger_returns_structure_and_resolves_against_a_job(client: Client) -> None:
    reply = client.validate_trigger("(complete-job-A and done-work-B-*) OR failed-job-C")
    assert reply.canonical == "(complete-job-A && done-work-B-*) || failed-job-C"
    assert len(reply.expr.any_of.operands) == 2
    first = reply.expr.any_of.operands[0].all_of.operands
    assert (first[1].atom.name, first[1].atom.event_type, first[1].atom.extra) == (
        "done",
        "work",
        "*",
    )
    job = client.submit([_job("X", status="blocked")]).jobs[0]
    resolved = client.validate_trigger("complete-job-Y", job_id=job.id)
    assert resolved.error.offset == 13 and "no job labelled 'Y'" in resolved.error.message


def test_add_callbacks_catches_up_and_runs_are_recorded_and_streamed(client: Client) -> None:
    done = client.submit([_job("A")])
    wait_job(client, done.jobs[0].id)
    waiting = client.submit([_job("B", status="blocked")], pgrp=done.pgrp).jobs[0]
    added = client.add_callbacks(
        waiting.id, [{"triggers": "complete-job-A", "code": "unblock-self"}]
    )
    assert added[0].id > 0
    assert wait_job(client, waiting.id).status == job_pb2.JOB_STATUS_COMPLETE
    runs = list(client.callback_runs(job_id=waiting.id))
    assert len(runs) == 1
    assert runs[0].outcome == supervisor_pb2.CALLBACK_OUTCOME_OK
    assert runs[0].triggers == "complete-job-A"
    callback_events = events_until(
        client,
        lambda e: e.event_type == event_pb2.EVENT_TYPE_CALLBACK,
        include_callback_runs=True,
    )
    assert callback_events[-1].callback_run_id == runs[0].id
    assert callback_events[-1].job_id == waiting.id
    without = events_until(
        client,
        lambda e: (
            e.job_id == waiting.id
            and e.name == event_pb2.EVENT_NAME_COMPLETE
            and e.event_type == event_pb2.EVENT_TYPE_JOB
        ),
    )
    assert all(e.event_type != event_pb2.EVENT_TYPE_CALLBACK for e in without)


def test_max_limits_firings(client: Client) -> None:
    job = client.submit(
        [
            {
                "name": "frames",
                "label": "frames",
                "prototype": "cmdrange",
                "package": {"cmdline": "true", "range": "1-5"},
                "callbacks": [{"triggers": "complete-work-self-*", "code": "block-self", "max": 1}],
            }
        ]
    ).jobs[0]
    events_until(
        client,
        lambda e: e.event_type == event_pb2.EVENT_TYPE_CALLBACK,
        include_callback_runs=True,
    )
    detail = client.get_job(job.id)
    assert detail.callbacks[0].fired == 1


def test_latches_survive_a_crash(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ServerProcess(data).start()
    with first.client() as client:
        jobs = client.submit(
            [
                _job("A"),
                _job("C", status="blocked"),
                _job(
                    "B",
                    status="blocked",
                    callbacks=[
                        {"triggers": "complete-job-A && complete-job-C", "code": "unblock-self"}
                    ],
                ),
            ]
        ).jobs
        wait_job(client, jobs[0].id)
    first.kill9()
    second = ServerProcess(data).start()
    try:
        with second.client() as client:
            assert client.get_job(jobs[2].id).status == job_pb2.JOB_STATUS_BLOCKED
            client.control("unblock", [jobs[1].id])
            # A's latch was stored before the crash: C completing is all B still needed.
            assert wait_job(client, jobs[2].id).status == job_pb2.JOB_STATUS_COMPLETE
    finally:
        second.stop()
