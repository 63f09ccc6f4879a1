"""Every example of docs/triggers.md runs as written against a real supervisor."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.client import Client
from latchwork.v1 import job_pb2, supervisor_pb2

from .serverproc import ServerProcess
from .waiting import wait_job

DOC = (Path(__file__).resolve().parent.parent / "docs" / "triggers.md").read_text()


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC, re.S)


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("docs") / "data", slots=4).start()
    yield server
    server.stop()


def test_the_page_has_examples() -> None:
    assert len(_blocks("python")) >= 8
    assert _blocks("triggers") and _blocks("invalid-triggers")


def test_valid_triggers_parse(docs_server: ServerProcess) -> None:
    with docs_server.client() as client:
        for line in _blocks("triggers")[0].strip().splitlines():
            reply = client.validate_trigger(line)
            assert not reply.HasField("error"), (line, reply.error)
            assert reply.canonical


def test_invalid_triggers_are_refused_as_documented(docs_server: ServerProcess) -> None:
    with docs_server.client() as client:
        for line in _blocks("invalid-triggers")[0].strip().splitlines():
            trigger, expected = (part.strip() for part in line.split("=>"))
            reply = client.validate_trigger(trigger)
            assert reply.HasField("error"), trigger
            head, _, hint = reply.error.message.partition("; ")
            shown = f"{head} at {reply.error.offset}" + (f"; {hint}" if hint else "")
            assert expected in shown, (trigger, shown)


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_python_example(docs_server: ServerProcess, index: int) -> None:
    code = _blocks("python")[index]
    with docs_server.client() as lw:

        def runs(job_id: int) -> list[supervisor_pb2.CallbackRun]:
            return list(lw.callback_runs(job_id=job_id))

        namespace = {
            "lw": lw,
            "wait": lambda job_id: wait_job(lw, job_id, timeout=30),
            "runs": runs,
            "time": time,
            "COMPLETE": job_pb2.JOB_STATUS_COMPLETE,
            "BLOCKED": job_pb2.JOB_STATUS_BLOCKED,
            "Client": Client,
        }
        exec(compile(code, f"docs/triggers.md example {index}", "exec"), namespace)
