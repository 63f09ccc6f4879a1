"""Every mail run ends (issue 10, item 9): a real supervisor and a real local SMTP server.

A line break in a subject (a job name with ``\\r``, U+2028 in the template) or in an address
used to raise inside the mail library, out of the run: the run record stayed unfinished and
was run again at every start. Subjects are now flattened to one line; bad addresses refuse the
mail with a message naming them; and either way the run ends, once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from latchwork.client import Client
from latchwork.v1 import supervisor_pb2

from .serverproc import ServerProcess
from .smtp_inbox import Inbox, running_inbox


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with running_inbox() as running:
        yield running


def _job(name: str, code: str, mailaddress: str = "wrangler@example.com") -> dict[str, Any]:
    return {
        "name": name,
        "package": {"cmdline": "true"},
        "mailaddress": mailaddress,
        "callbacks": [{"triggers": "submit-job-self", "language": "mail", "code": code}],
    }


def _finished(client: Client, job_ids: list[int]) -> dict[int, supervisor_pb2.CallbackRun]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = {r.job_id: r for i in job_ids for r in client.callback_runs(job_id=i)}
        if len(runs) == len(job_ids) and all(r.outcome for r in runs.values()):
            return runs
        time.sleep(0.05)
    raise AssertionError(f"runs never finished: {runs}")


def test_line_breaks_in_subjects_and_addresses_end_the_run(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    server = ServerProcess(
        tmp_path / "data",
        slots=0,
        env={"LATCHWORK_SMTP_HOST": "127.0.0.1", "LATCHWORK_SMTP_PORT": str(port)},
    ).start()
    try:
        with server.client() as client:
            jobs = client.submit(
                [
                    _job("shot\r010", "Subject: $JOB_NAME is $JOB_STATUS\nsee $JOB_ID"),
                    _job("shot020", "Subject: shot\u2028020 was submitted\nbody"),
                    _job("shot030", "hello", "wrangler@example.com\r\nBcc: evil@example.com"),
                ]
            ).jobs
            ids = [j.id for j in jobs]
            runs = _finished(client, ids)
        name_cr, sep_2028, bad_address = (runs[i] for i in ids)
        assert name_cr.outcome == supervisor_pb2.CALLBACK_OUTCOME_OK, name_cr.error
        assert sep_2028.outcome == supervisor_pb2.CALLBACK_OUTCOME_OK, sep_2028.error
        assert bad_address.outcome == supervisor_pb2.CALLBACK_OUTCOME_ERROR
        assert "contains a line break" in bad_address.error
        assert "wrangler@example.com" in bad_address.error
        deadline = time.monotonic() + 10
        while len(inbox.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(str(m["Subject"]) for m in inbox.messages) == [
            "shot 010 is pending",
            "shot 020 was submitted",
        ]
        assert "evil@example.com" not in inbox.recipients
        assert all("Bcc" not in m for m in inbox.messages)

        # Nothing is left to run again: a restart replays no run and sends no mail.
        server.stop()
        server.start()
        with server.client() as client:
            time.sleep(1.0)  # time for a replay to happen, if one were pending
            again = {r.id: r for i in ids for r in client.callback_runs(job_id=i)}
        assert sorted(again) == sorted(r.id for r in runs.values())
        assert [again[r.id].outcome for r in runs.values()] == [r.outcome for r in runs.values()]
        assert len(inbox.messages) == 2
    finally:
        server.stop()
