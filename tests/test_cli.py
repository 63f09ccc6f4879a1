"""The ``latchwork`` command against a real supervisor: outputs and exit codes."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

from latchwork.client import Client

from .serverproc import ServerProcess

CLI = [sys.executable, "-m", "latchwork.client.cli"]


def _latchwork(
    server: ServerProcess, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
        env={**os.environ, "LATCHWORK_ADDRESS": server.address},
    )


def _wait(client: Client, job_id: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get_job(job_id).status in (6, 7, 8, 9):  # complete failed killed removed
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


# ---------------------------------------------------------------------------------- validate


def test_validate_prints_canonical_form_and_tree(server: ServerProcess) -> None:
    result = _latchwork(server, "validate", "(complete-job-A and complete-job-B) OR done-job-C")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "(complete-job-A && complete-job-B) || done-job-C"
    assert lines[1] == "  any of (||)"
    assert lines[2] == "    all of (&&)"
    assert lines[3].startswith("      atom complete-job-A  (name=complete type=job context=A")
    assert lines[5].startswith("    atom done-job-C")


def test_validate_bad_trigger_shows_caret_under_offset(server: ServerProcess) -> None:
    result = _latchwork(server, "validate", "complete-jbo-self")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert "unknown event type 'jbo'" in lines[0] and "(at 9)" in lines[0]
    assert lines[1] == "  complete-jbo-self"
    assert lines[2] == "  " + " " * 9 + "^"


def test_validate_against_a_job(server: ServerProcess, client: Client) -> None:
    job = client.submit([{"name": "a", "label": "A", "package": {"cmdline": "true"}}]).jobs[0]
    ok = _latchwork(server, "validate", "complete-job-A", "--job", str(job.id))
    assert ok.returncode == 0 and ok.stdout.startswith("complete-job-A\n")
    unknown = _latchwork(server, "validate", "complete-job-self && complete-job-Z", "--job", "1")
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines()[2] == "  " + " " * 34 + "^"
    missing = _latchwork(server, "validate", "complete-job-self", "--job", "999")
    assert missing.returncode == 1 and "999" in missing.stderr


# ------------------------------------------------------------------------------------- graph


def test_graph_dot_has_dependency_and_child_edges(server: ServerProcess, client: Client) -> None:
    held = {"name": "render", "label": "A", "status": "blocked", "package": {"cmdline": "true"}}
    first = client.submit([held])  # held until the graph was drawn: its dependents stay blocked
    a = first.jobs[0].id
    rest = client.submit(
        [
            {
                "name": "comp",
                "label": "B",
                "package": {"cmdline": "true"},
                "dependency": "link-complete-job-A",
            },
            {
                "name": "publish",
                "label": "C",
                "package": {"cmdline": "true"},
                "status": "blocked",
                "callbacks": [
                    {"triggers": "complete-job-A && done-job-B", "code": "unblock-self"},
                    {"triggers": "failed-work-self-*", "code": "retry-work-self"},
                ],
            },
            {"name": "layer", "label": "D", "pid": a, "package": {"cmdline": "true"}},
        ],
        pgrp=first.pgrp,
    ).jobs
    b, c, d = (job.id for job in rest)
    result = _latchwork(server, "graph", str(first.pgrp))
    assert result.returncode == 0, result.stderr
    dot = result.stdout
    assert dot.startswith(f'digraph "pgrp {first.pgrp}" {{\n') and dot.endswith("}\n")
    for job_id in (a, b, c, d):
        assert re.search(rf"^  j{job_id} \[label=\"{job_id} ", dot, re.M), dot
    assert f'j{a} -> j{b} [label="complete-job-A"];' in dot
    assert f'j{a} -> j{c} [label="complete-job-A"];' in dot
    assert f'j{b} -> j{c} [label="done-job-B"];' in dot
    assert f'j{a} -> j{d} [label="child", style=dashed];' in dot
    assert f"j{c} -> j{c}" not in dot  # a trigger on the job itself is no dependency
    assert 'fillcolor="orange"' in dot  # the blocked jobs
    assert len(re.findall(r" -> ", dot)) == 4
    client.control("unblock", [a])
    _wait(client, c)
    after = _latchwork(server, "graph", str(first.pgrp)).stdout
    assert f'j{c} [label="{c} C\\npublish\\ncomplete", fillcolor="palegreen"];' in after


def test_graph_of_unknown_group_is_refused(server: ServerProcess) -> None:
    result = _latchwork(server, "graph", "4242")
    assert result.returncode == 1 and "no jobs" in result.stderr


# --------------------------------------------------------------------------------------- job


def test_job_lists_callbacks_and_runs(server: ServerProcess, client: Client) -> None:
    jobs = client.submit(
        [
            {"name": "A", "label": "A", "package": {"cmdline": "true"}},
            {
                "name": "B",
                "label": "B",
                "package": {"cmdline": "true"},
                "dependency": "link-complete-job-A",
                "callbacks": [
                    {"triggers": "complete-job-self", "language": "qube", "code": "unblock-self"}
                ],
            },
        ]
    ).jobs
    b = jobs[1].id
    _wait(client, b)
    result = _latchwork(server, "job", str(b))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "CALLBACK  LANGUAGE FIRED  DEP  TRIGGERS" in out
    assert re.search(r"^\s+\d+  qube\s+1  yes  complete-job-A$", out, re.M), out
    assert re.search(r"^\s+\d+  qube\s+\d  no   complete-job-self$", out, re.M), out
    assert re.search(rf"^\s+\d+\s+\d+  ok\s+\d+  -\s+unblock job {b}: done$", out, re.M), out
    plain = _latchwork(server, "job", str(jobs[0].id)).stdout
    assert "CALLBACK" not in plain


# ------------------------------------------------------------------------------------- watch


def test_watch_filters_until_done(server: ServerProcess, client: Client) -> None:
    jobs = client.submit(
        [
            {"name": "A", "label": "A", "package": {"cmdline": "true"}},
            {
                "name": "B",
                "label": "B",
                "package": {"cmdline": "true"},
                "dependency": "link-complete-job-A",
            },
        ]
    ).jobs
    a, b = (str(job.id) for job in jobs)
    only = _latchwork(
        server, "watch", "--job", a, "--job", b, "--until-done", "--json",
        "--name", "complete", "--type", "job", "--label", "B",
    )  # fmt: skip
    assert only.returncode == 0, only.stderr
    assert only.stderr == ""  # no progress line: stderr is not a terminal
    events = [json.loads(line) for line in only.stdout.splitlines()]
    assert [(e["name"], e["eventType"], e["jobId"]) for e in events] == [
        ("EVENT_NAME_COMPLETE", "EVENT_TYPE_JOB", b)
    ]
    runs = _latchwork(server, "watch", "--job", b, "--until-done", "--callbacks", "--type", "job")
    assert runs.returncode == 0, runs.stderr
    assert re.search(rf"complete-callback\s+{b}  .*  callback \d+: unblock job {b}", runs.stdout)
    assert "work" not in runs.stdout
    user = _latchwork(server, "watch", "--job", a, "--until-done", "--user", "nobody")
    assert user.returncode == 0 and user.stdout == ""


def test_watch_streams_with_server_side_filters(server: ServerProcess, client: Client) -> None:
    client.submit([{"name": "x", "label": "X", "package": {"cmdline": "true"}}])
    job = client.submit([{"name": "y", "label": "Y", "package": {"cmdline": "true"}}]).jobs[0]
    _wait(client, job.id)
    with subprocess.Popen(
        [
            *CLI,
            "watch",
            "--label",
            "Y",
            "--name",
            "submit",
            "--name",
            "complete",
            "--type",
            "job",
            "--type",
            "work",
            "--json",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "LATCHWORK_ADDRESS": server.address},
    ) as process:
        assert process.stdout is not None
        lines = [json.loads(process.stdout.readline()) for _ in range(3)]
        process.terminate()
    assert {e["label"] for e in lines} == {"Y"}
    assert [(e["name"], e["eventType"]) for e in lines] == [
        ("EVENT_NAME_SUBMIT", "EVENT_TYPE_JOB"),
        ("EVENT_NAME_COMPLETE", "EVENT_TYPE_WORK"),
        ("EVENT_NAME_COMPLETE", "EVENT_TYPE_JOB"),
    ]


def test_watch_shows_progress_on_a_terminal(server: ServerProcess, client: Client) -> None:
    job = client.submit(
        [
            {
                "name": "frames",
                "prototype": "cmdrange",
                "package": {"cmdline": "sleep 0.4", "range": "1-6"},
            }
        ]
    ).jobs[0]
    master, slave = pty.openpty()
    try:
        result = subprocess.run(
            [*CLI, "watch", "--job", str(job.id), "--until-done"],
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            timeout=60,
            env={**os.environ, "LATCHWORK_ADDRESS": server.address},
        )
        os.close(slave)
        slave = -1
        shown = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert result.returncode == 0
    text = shown.decode()
    assert re.search(rf"\r\x1b\[Kwaiting for job {job.id}: [0-6]/6 frames done", text), text
    assert text.endswith("\r\x1b[K")  # the line is cleared at the end
    assert "\r" not in result.stdout and "complete-job" in result.stdout


# ------------------------------------------------------------------------------------ submit


def test_submit_yaml_file_and_stdin(server: ServerProcess, tmp_path: Path) -> None:
    spec = "name: from-yaml\nlabel: Y\npackage:\n  cmdline: 'true'\n"
    path = tmp_path / "job.yaml"
    path.write_text(spec)
    from_file = _latchwork(server, "submit", str(path))
    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout.split("\t")[1:] == ["Y", "pending", "from-yaml\n"]
    piped = _latchwork(server, "submit", "-", "--format", "yaml", stdin=spec.replace("Y", "Z"))
    assert piped.returncode == 0, piped.stderr
    assert "\tZ\t" in piped.stdout
    as_json = _latchwork(
        server,
        "submit",
        "-",
        "--json",
        stdin=json.dumps({"name": "j", "package": {"cmdline": "true"}}),
    )
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["jobs"][0]["spec"]["name"] == "j"
    assert _latchwork(server, "submit", "-", stdin=spec).returncode == 2  # JSON by default
    assert _latchwork(server, "submit", "-", "--format", "toml").returncode == 2
    broken = _latchwork(server, "submit", "-", "--format", "yaml", stdin="a: [")
    assert broken.returncode == 2 and "not valid YAML" in broken.stderr


def test_unreachable_supervisor_exits_3() -> None:
    result = subprocess.run(
        [*CLI, "--address", "127.0.0.1:1", "validate", "complete-job-self"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
