"""Python and mail callbacks end to end: a real supervisor, its sandbox, a real SMTP server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from latchwork.client import LatchworkError
from latchwork.v1 import job_pb2, supervisor_pb2

from .serverproc import ServerProcess
from .smtp_inbox import Inbox, running_inbox
from .waiting import wait_job


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with running_inbox() as running:
        yield running


@pytest.fixture
def mail_server(tmp_path: Path, inbox: tuple[Inbox, int]) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path / "data",
        env={"LATCHWORK_SMTP_HOST": "127.0.0.1", "LATCHWORK_SMTP_PORT": str(inbox[1])},
    ).start()
    yield server
    server.stop()


def _runs(client: Any, job_id: int) -> list[supervisor_pb2.CallbackRun]:
    return list(client.callback_runs(job_id=job_id))


def _wait_runs(client: Any, job_id: int, count: int) -> list[supervisor_pb2.CallbackRun]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = [r for r in _runs(client, job_id) if r.outcome]
        if len(runs) >= count:
            return runs
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} runs of job {job_id}")


def test_python_frame_to_frame_unblock(server: ServerProcess) -> None:
    code = "qb.workunblock('%d:%s' % (qb.jobid(), event.binding))\nprint('frame', event.binding)"
    with server.client() as client:
        jobs = client.submit(
            [
                {
                    "name": "A",
                    "label": "A",
                    "prototype": "cmdrange",
                    "package": {"cmdline": "sleep 0.1", "range": "1-4"},
                },
                {
                    "name": "B",
                    "label": "B",
                    "prototype": "cmdrange",
                    "package": {"cmdline": "true", "range": "1-4"},
                    "agenda": [{"name": str(n), "status": "blocked"} for n in range(1, 5)],
                    "callbacks": [
                        {"triggers": "complete-work-A-*", "language": "python", "code": code}
                    ],
                },
            ]
        ).jobs
        b = wait_job(client, jobs[1].id, timeout=60)
        assert b.status == job_pb2.JOB_STATUS_COMPLETE
        runs = _runs(client, b.id)
        assert sorted(r.binding for r in runs) == ["1", "2", "3", "4"]
        assert all(r.outcome == supervisor_pb2.CALLBACK_OUTCOME_OK for r in runs)
        assert {r.output.splitlines()[0] for r in runs} == {f"frame {n}" for n in range(1, 5)}


def test_a_raising_callback_applies_nothing_and_reports_its_line(server: ServerProcess) -> None:
    code = "qb.unblock(qb.jobid())\nx = 1\nraise ValueError('no thanks')\n"
    with server.client() as client:
        job = client.submit(
            [
                {
                    "name": "held",
                    "package": {"cmdline": "true"},
                    "status": "blocked",
                    "callbacks": [
                        {"triggers": "submit-job-self", "language": "python", "code": code}
                    ],
                }
            ]
        ).jobs[0]
        run = _wait_runs(client, job.id, 1)[0]
        assert run.outcome == supervisor_pb2.CALLBACK_OUTCOME_ERROR
        assert "no thanks" in run.error and run.error_line == 3
        assert client.get_job(job.id).status == job_pb2.JOB_STATUS_BLOCKED


def test_python_syntax_errors_are_refused_at_submit(server: ServerProcess) -> None:
    with server.client() as client, pytest.raises(LatchworkError) as caught:
        client.submit(
            [
                {
                    "name": "bad",
                    "package": {"cmdline": "true"},
                    "callbacks": [
                        {"triggers": "done-job-self", "language": "python", "code": "x = (\n"}
                    ],
                }
            ]
        )
    assert caught.value.violations[0].field == "jobs[0].callbacks[0].code"


def test_mail_language_and_mail_status(
    mail_server: ServerProcess, inbox: tuple[Inbox, int]
) -> None:
    handler, _ = inbox
    with mail_server.client() as client:
        job = client.submit(
            [
                {
                    "name": "comp",
                    "label": "comp",
                    "package": {"cmdline": "true"},
                    "mailaddress": "wrangler@example.com, td@example.com",
                    "callbacks": [
                        {
                            "triggers": "complete-job-self",
                            "language": "mail",
                            "code": "Subject: $JOB_NAME is $JOB_STATUS\n"
                            "Job $JOB_ID ($JOB_LABEL) ended.",
                        },
                        {
                            "triggers": "complete-job-self",
                            "language": "qube",
                            "code": "mail-status",
                        },
                    ],
                }
            ]
        ).jobs[0]
        wait_job(client, job.id)
        runs = _wait_runs(client, job.id, 2)
        assert all(r.outcome == supervisor_pb2.CALLBACK_OUTCOME_OK for r in runs), runs
    deadline = time.monotonic() + 10
    while len(handler.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    subjects = sorted(m["Subject"] for m in handler.messages)
    assert subjects == [f"[latchwork] job {job.id} (comp) is complete", "comp is complete"]
    custom = next(m for m in handler.messages if m["Subject"] == "comp is complete")
    payload = custom.get_payload()
    assert isinstance(payload, str), payload  # a plain-text mail: one text part
    assert payload.strip() == f"Job {job.id} (comp) ended."
    assert custom["To"] == "wrangler@example.com, td@example.com"


def test_mail_is_refused_without_smtp(server: ServerProcess) -> None:
    with server.client() as client, pytest.raises(LatchworkError) as caught:
        client.submit(
            [
                {
                    "name": "m",
                    "package": {"cmdline": "true"},
                    "mailaddress": "a@b.c",
                    "callbacks": [{"triggers": "done-job-self", "language": "mail", "code": "hi"}],
                }
            ]
        )
    assert "no SMTP server is configured" in caught.value.violations[0].description
