"""Each generated client reads an INVALID_ARGUMENT's field violations as the Python client does.

The supervisor puts a ``google.rpc.BadRequest`` in the details of every INVALID_ARGUMENT
(server/latchwork/server/api/errors.py, docs/errors.md). Every language's ``invalid-request``
example (clients/<lang>/run-example.sh invalid-request) submits 25 jobs without a command line
against a real ``latchwork serve`` and prints what its helper decoded: the same list, in the same
order, as ``LatchworkError.violations`` in Python.
"""

from __future__ import annotations

import json
import os
import subprocess

import grpc
import pytest

from latchwork.client import InvalidArgumentError
from tests.language_clients.example_run import LANGUAGES, REPO
from tests.serverproc import ServerProcess


def run_invalid_request(language: str, address: str) -> dict[str, object]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LATCHWORK_")}
    env = {**inherited, "LATCHWORK_ADDRESS": address, "LATCHWORK_USER": "example"}
    script = REPO / "clients" / language / "run-example.sh"
    done = subprocess.run(
        [str(script), "invalid-request"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed: dict[str, object] = json.loads(done.stdout)
    return printed


@pytest.mark.parametrize("language", LANGUAGES)
def test_helper_reads_the_field_violations(language: str, server: ServerProcess) -> None:
    with server.client() as lw, pytest.raises(InvalidArgumentError) as refused:
        lw.submit([{"name": f"shot{i}"} for i in range(25)])
    expected = [{"field": v.field, "description": v.description} for v in refused.value.violations]
    assert len(expected) == 20 and expected[0]["field"] == "jobs[0].command.cmdline"

    printed = run_invalid_request(language, server.address)
    assert printed["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert printed["violations"] == expected
    assert printed["message"] == refused.value.message
    assert str(printed["message"]).endswith("; and 5 more")
