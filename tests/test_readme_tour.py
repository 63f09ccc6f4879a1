"""The README's five-minute tour runs as written (against a test supervisor)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .serverproc import ServerProcess

README = Path(__file__).resolve().parent.parent / "README.md"


def _latchwork(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latchwork.client.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LATCHWORK_ADDRESS": server.address},
    )


def test_cli_tour(server: ServerProcess, tmp_path: Path) -> None:
    text = README.read_text()
    job = json.loads(re.search(r"<<'JSON'\n(.*?)\nJSON", text, re.S).group(1))  # type: ignore[union-attr]
    path = tmp_path / "frames.json"
    path.write_text(json.dumps(job))
    submitted = _latchwork(server, "submit", str(path))
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.split()[0]
    assert submitted.stdout.split("\t")[1] == "render"
    watched = _latchwork(server, "watch", "--job", job_id, "--until-done")
    assert watched.returncode == 0, watched.stderr
    assert "complete-job" in watched.stdout
    shown = _latchwork(server, "job", job_id)
    assert shown.returncode == 0 and "status complete" in shown.stdout
    logs = _latchwork(server, "logs", f"{job_id}:7")
    assert logs.stdout == "rendering frame 7\n"
    listed = _latchwork(server, "jobs")
    assert "beauty pass" in listed.stdout
    retried = _latchwork(server, "retry", f"{job_id}:7")
    assert retried.returncode == 0 and "retry" in retried.stdout


def test_cli_exit_codes(server: ServerProcess, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "a", "label": "x", "package": {"cmdline": "true"}}] * 2))
    refused = _latchwork(server, "submit", str(bad))
    assert refused.returncode == 1
    assert "jobs[1].label" in refused.stderr
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"name": "a", "package": {"cmdline": "true"}, "colour": "red"}))
    assert _latchwork(server, "submit", str(unknown)).returncode == 2
    failing = tmp_path / "failing.json"
    failing.write_text(json.dumps({"name": "f", "package": {"cmdline": "exit 3"}}))
    job_id = _latchwork(server, "submit", str(failing)).stdout.split()[0]
    assert _latchwork(server, "watch", "--job", job_id, "--until-done").returncode == 4
    unreachable = subprocess.run(
        [sys.executable, "-m", "latchwork.client.cli", "--address", "127.0.0.1:1", "jobs"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unreachable.returncode == 3


def test_python_tour(server: ServerProcess, capsys) -> None:  # type: ignore[no-untyped-def]
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)  # type: ignore[union-attr]
    exec(compile(code.replace("localhost:50051", server.address), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "EVENT_NAME_COMPLETE" in printed
    assert printed.rstrip().endswith("plate 3")
