"""clients/README.md's grpcurl tour, run against a live supervisor through reflection."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from tests.language_clients.example_run import REPO
from tests.serverproc import ServerProcess

GRPCURL = REPO / "build" / "clients" / "go-tools" / "grpcurl"


def _tour() -> list[list[str]]:
    text = (REPO / "clients" / "README.md").read_text()
    block = re.search(r"<!-- grpcurl-tour.*?```sh\n(.*?)```", text, re.S)
    assert block, "clients/README.md has no grpcurl tour"
    return [shlex.split(line) for line in block.group(1).splitlines() if line.strip()]


def _json_documents(text: str) -> list[dict[str, Any]]:
    decoder, documents, at = json.JSONDecoder(), [], 0
    while (start := text.find("{", at)) != -1:
        document, at = decoder.raw_decode(text, start)
        documents.append(document)
    return documents


def test_the_grpcurl_tour_works_through_reflection(tmp_path: Path) -> None:
    assert GRPCURL.is_file(), "grpcurl is built by `make clients-build` (clients/go/build.sh)"
    commands = _tour()
    assert [c[0] for c in commands] == ["grpcurl"] * len(commands)
    server = ServerProcess(tmp_path / "data").start()
    try:
        outputs = []
        for command in commands:
            argv = [
                str(GRPCURL),
                *(server.address if a == "localhost:50051" else a for a in command[1:]),
            ]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            streaming = "-max-time" in command
            if streaming:
                assert "DeadlineExceeded" in done.stderr, done.stderr
            else:
                assert done.returncode == 0, (command, done.stderr)
            outputs.append(done.stdout)
    finally:
        server.stop()
    listed, service, job_spec, submitted, got, streamed, validated, health = outputs
    assert {"latchwork.v1.SupervisorService", "latchwork.v1.WorkerService"} <= set(listed.split())
    assert "rpc Subscribe ( .latchwork.v1.SubscribeRequest ) returns ( stream" in service
    assert "message JobSpec {" in job_spec
    (job,) = _json_documents(submitted)[0]["jobs"]
    assert job["id"] == "1" and job["user"] == "alice"
    assert _json_documents(got)[0]["job"]["spec"]["name"] == "hello"
    # The job completes within the 5 s the stream is read: its complete events arrive.
    events = [d["event"] for d in _json_documents(streamed)]
    assert {e["event_type"] for e in events} >= {"EVENT_TYPE_WORK", "EVENT_TYPE_JOB"}
    assert {e["name"] for e in events} == {"EVENT_NAME_COMPLETE"}
    assert _json_documents(validated)[0]["error"] == {
        "offset": 28,
        "message": "unknown event type 'wrok'; did you mean 'work'?",
    }
    assert _json_documents(health)[0] == {"status": "SERVING"}
