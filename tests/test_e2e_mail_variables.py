"""Every mail variable, expanded by a live supervisor and read back from a real SMTP server.

One job whose frame 3 fails fires three mail callbacks whose template names every variable:
on the work event (the frame), on the subjob event (its instance) and on the job event; and
the example of docs/callbacks.md, section "Mail", runs as written. Each expanded value is
checked against what the supervisor reports of the job (issue 14, item 7).
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from latchwork.server.mail_variables import NAMES, utc
from latchwork.v1 import job_pb2, supervisor_pb2

from .serverproc import ServerProcess
from .smtp_inbox import Inbox, running_inbox
from .waiting import wait_job

DOC = (Path(__file__).resolve().parent.parent / "docs" / "callbacks.md").read_text()
EVERY = "\n".join(f"{name}=${{{name}}}" for name in sorted(NAMES))
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
ELAPSED = re.compile(r"(\d+):(\d\d):(\d\d)")


def _doc_example() -> dict[str, Any]:
    [block] = re.findall(r"## Mail\n.*?```python\n(.*?)```", DOC, re.S)
    callback = ast.literal_eval(block)
    assert isinstance(callback, dict)
    return callback


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with running_inbox() as running:
        yield running


@pytest.fixture
def mail_server(tmp_path: Path, smtp: tuple[Inbox, int]) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path / "data",
        slots=1,
        env={"LATCHWORK_SMTP_HOST": "127.0.0.1", "LATCHWORK_SMTP_PORT": str(smtp[1])},
    ).start()
    yield server
    server.stop()


def _mail(triggers: str, tag: str) -> dict[str, str]:
    return {"triggers": triggers, "language": "mail", "code": f"Subject: {tag}\n{EVERY}\n"}


def _seconds(stamp: Timestamp) -> float:
    return stamp.seconds + stamp.nanos / 1e9


def _values(message: Message) -> dict[str, str]:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    lines = body.decode().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _near(elapsed: str, seconds: float) -> bool:
    """``h:mm:ss`` within a second of ``seconds`` (the supervisor rounds its own floats)."""
    match = ELAPSED.fullmatch(elapsed)
    assert match, elapsed
    h, m, s = (int(g) for g in match.groups())
    return abs(h * 3600 + m * 60 + s - seconds) <= 1


def test_every_variable_expands_for_work_subjob_and_job_events(
    mail_server: ServerProcess, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    with mail_server.client() as client:
        job = client.submit(
            [
                {
                    "name": "shot010 comp",
                    "label": "comp",
                    "prototype": "cmdrange",
                    "package": {"cmdline": "test QB_FRAME_NUMBER != 3 || exit 3", "range": "1-3"},
                    "cpus": 1,
                    "priority": 100,
                    "timeout": 3600,
                    "cwd": "/tmp",
                    "data": {"shot": "010", "show": "a"},
                    "env": {"LW_MAIL": "yes"},
                    "hosts": "testhost",
                    "omithosts": "node9",
                    "omitgroups": "slow",
                    "cluster": "/show/a",
                    "requirements": "host.os == linux",
                    "mailaddress": "wrangler@example.com",
                    "callbacks": [
                        _mail("failed-work-self-*", "work"),
                        _mail("failed-subjob-self-*", "subjob"),
                        _mail("failed-job-self", "job"),
                        _doc_example(),
                    ],
                }
            ]
        ).jobs[0]
        done = wait_job(client, job.id, timeout=60)
        assert done.status == job_pb2.JOB_STATUS_FAILED
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = [r for r in client.callback_runs(job_id=job.id) if r.outcome]
            if len(runs) == 4:
                break
            time.sleep(0.05)
        assert len(runs) == 4
        assert all(r.outcome == supervisor_pb2.CALLBACK_OUTCOME_OK for r in runs), runs
        info = client.get_job(job.id)
    deadline = time.monotonic() + 10
    while len(inbox.messages) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    mails = {str(m["Subject"]): m for m in inbox.messages}
    frame = next(w for w in info.work if w.name == "3")
    user = info.user

    job_values = {
        "JOB_ACCOUNT": "",
        "JOB_CLUSTER": "/show/a",
        "JOB_CPUS": "1",
        "JOB_DATA": "shot=010, show=a",
        "JOB_DOMAIN": "",
        "JOB_FLAGS": "",
        "JOB_GLOBALORDER": "",
        "JOB_GROUPS": "",
        "JOB_HOSTORDER": "",
        "JOB_HOSTS": "testhost",
        "JOB_ID": str(job.id),
        "JOB_KIND": "",
        "JOB_LABEL": "comp",
        "JOB_LOCALORDER": "",
        "JOB_NAME": "shot010 comp",
        "JOB_OMITGROUPS": "slow",
        "JOB_OMITHOSTS": "node9",
        "JOB_PACKAGE": "cmdline=test QB_FRAME_NUMBER != 3 || exit 3, range=1-3, cwd=/tmp, "
        "env.LW_MAIL=yes",
        "JOB_PGRP": str(info.pgrp),
        "PGRP": str(info.pgrp),
        "JOB_PID": "0",
        "JOB_PRIORITY": "100",
        "JOB_PROTOTYPE": "cmdrange",
        "JOB_REQUIREMENTS": "host.os == linux",
        "JOB_RESTRICTIONS": "",
        "JOB_STATUS": "failed",
        "JOB_TIMECOMPLETE": utc(_seconds(info.end_time)),
        "JOB_TIMEOUT": "3600",
        "JOB_TIMESTART": utc(_seconds(info.start_time)),
        "JOB_TIMESUBMIT": utc(_seconds(info.submit_time)),
        "JOB_TYPE": "cmdrange",
        "JOB_USER": user,
        "USER": user,
        "WORK_COUNTS": "2 complete, 1 failed",
    }
    no_work = dict.fromkeys(
        [
            "WORK_HOST",
            "WORK_STATUS",
            "WORK_PID",
            "WORK_SUBID",
            "WORK_ADDRESS",
            "WORK_RESULTPACKAGE",
            "WORK_TIMESTART",
            "WORK_TIMECOMPLETE",
        ],
        "",
    )
    expected = {
        "work": {
            **job_values,
            "HOST": "testhost",
            "TRIGGERS": "failed-work-self-*",
            "TRIGGER": "failed-work-self-*",
            "WORK_NAME": "3",
            "WORK_HOST": "testhost",
            "WORK_STATUS": "failed",
            "WORK_PID": str(job.id),
            "WORK_SUBID": "0",
            "WORK_ADDRESS": "testhost",
            "WORK_RESULTPACKAGE": "exit_code=3",
            "WORK_TIMESTART": utc(_seconds(frame.start_time)),
            "WORK_TIMECOMPLETE": utc(_seconds(frame.end_time)),
            "SUBJOB_ID": "0",
            "SUBJOB_STATUS": "failed",
            "SUBJOB_PID": str(job.id),
            "SUBJOB_ADDRESS": "testhost",
            "EVENT_NAME": "failed",
            "EVENT_TYPE": "work",
            "EVENT_MESSAGE": "exit code 3",
        },
        "subjob": {
            **job_values,
            **no_work,
            "HOST": "testhost",
            "TRIGGERS": "failed-subjob-self-*",
            "TRIGGER": "failed-subjob-self-*",
            "WORK_NAME": "",
            "SUBJOB_ID": "0",
            "SUBJOB_STATUS": "failed",
            "SUBJOB_PID": str(job.id),
            "SUBJOB_ADDRESS": "testhost",
            "EVENT_NAME": "failed",
            "EVENT_TYPE": "subjob",
            "EVENT_MESSAGE": "",
        },
        "job": {
            **job_values,
            **no_work,
            "HOST": "",
            "TRIGGERS": "failed-job-self",
            "TRIGGER": "failed-job-self",
            "WORK_NAME": "",
            "SUBJOB_ID": "",
            "SUBJOB_STATUS": "",
            "SUBJOB_PID": "",
            "SUBJOB_ADDRESS": "",
            "EVENT_NAME": "failed",
            "EVENT_TYPE": "job",
            "EVENT_MESSAGE": "",
        },
    }
    for tag, want in expected.items():
        got = _values(mails[tag])
        assert set(got) == NAMES, tag
        timed = {"JOB_TIMEELAPSED", "EVENT_TIME", "WORK_TIMEELAPSED"}
        assert {k: v for k, v in got.items() if k not in timed} == want, tag
        assert ISO.fullmatch(got["EVENT_TIME"]), tag
        assert _near(got["JOB_TIMEELAPSED"], _seconds(info.end_time) - _seconds(info.start_time))
        if tag == "work":
            ran = _seconds(frame.end_time) - _seconds(frame.start_time)
            assert _near(got["WORK_TIMEELAPSED"], ran)
        else:
            assert got["WORK_TIMEELAPSED"] == ""

    # The docs' example, as written.
    subject = "shot010 comp frame 3 failed on testhost"
    body = mails[subject].get_payload(decode=True)
    assert isinstance(body, bytes)
    lines = body.decode().splitlines()
    assert lines[0] == f"Job {job.id} (comp) is failed: 2 complete, 1 failed."
    assert re.fullmatch(r"Frame 3: exit code 3 after \d+:\d\d:\d\d, instance 0\.", lines[1])
    assert lines[2] == (
        f"Fired by failed-work-self-* for {user}. $NOT_A_VARIABLE stays as written; $ is a dollar."
    )
