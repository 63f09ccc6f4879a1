"""Frames run as their owner, in a clean environment (issue 13, items 2 and 3).

Real, as root: the test creates OS users (unique names, removed afterwards), serves with tokens
for them and checks what their frames are: ``id -u``/``id -G``, what they can read, what they
see of the environment; and that an owner the host cannot run as fails the frame with a reason.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

import pytest

from latchwork.client import Client
from latchwork.v1 import job_pb2

from .os_users import Users, token_of, write_tokens
from .privileges import needs_root
from .serverproc import ServerProcess
from .waiting import FINAL

pytestmark = needs_root("switching users")

SUPERVISOR_ENV = {"LW13_SECRET": "hunter2", "LW13_PASS": "passed-through"}
PROBE = "id -u; id -G; cat {secret}; env"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A root file of mode 0600 in a directory everyone may enter."""
    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o755)
    tmp_path.chmod(0o755)
    secret = folder / "secret"
    secret.write_text("root only\n")
    secret.chmod(0o600)
    return secret


def _run(client: Client, cmdline: str) -> tuple[job_pb2.Job, str, str]:
    job_id = (
        client.submit(
            [{"name": "probe", "package": {"cmdline": cmdline}, "env": {"JOB_VAR": "from-job"}}]
        )
        .jobs[0]
        .id
    )
    # Polled: the tests' event helper sends no token.
    deadline = time.monotonic() + 60
    while (job := client.get_job(job_id)).status not in FINAL and time.monotonic() < deadline:
        time.sleep(0.05)
    out = client.work_output(job_id, "0").data.decode()
    err = client.work_output(job_id, "0", stderr=True).data.decode()
    return job, out, err


def _check_owner_frame(out: str, err: str, name: str, secret: Path) -> None:
    entry = pwd.getpwnam(name)
    lines = out.splitlines()
    assert lines[0] == str(entry.pw_uid)
    assert set(lines[1].split()) == {str(g) for g in os.getgrouplist(name, entry.pw_gid)}
    assert "root only" not in out and "Permission denied" in err
    env = dict(line.split("=", 1) for line in lines[2:] if "=" in line)
    assert "LW13_SECRET" not in env and "hunter2" not in out
    assert env["LW13_PASS"] == "passed-through"
    assert env["JOB_VAR"] == "from-job"
    assert env["USER"] == env["LOGNAME"] == name
    assert env["HOME"] == entry.pw_dir
    assert env["QB_JOB_ID"] and env["LATCHWORK_LEASE_ID"] and env["TMPDIR"] == "/tmp"


def test_frames_run_as_their_owner_in_a_clean_environment(
    tmp_path: Path, users: Users, secret_file: Path
) -> None:
    tokens = write_tokens(
        tmp_path / "tokens.toml", [users.alice, users.bob, "root", "daemon", "ghost"]
    )
    server = ServerProcess(
        tmp_path / "data",
        env={
            **SUPERVISOR_ENV,
            "LATCHWORK_TOKENS_FILE": str(tokens),
            "LATCHWORK_FRAME_ENV_PASSTHROUGH": "LW13_PASS",
        },
    ).start()
    try:
        probe = PROBE.format(secret=secret_file) + f"; cat {tokens}"
        for name in (users.alice, users.bob):
            with Client(server.address, token=token_of(name)) as client:
                job, out, err = _run(client, probe)
                assert job.status == job_pb2.JOB_STATUS_FAILED  # cat fails: it may not read
                _check_owner_frame(out, err, name, secret_file)
                assert "tok-" not in out
        outputs = [p for p in (tmp_path / "data" / "output").rglob("*") if p.is_file()]
        assert {p.stat().st_uid for p in outputs} >= {pwd.getpwnam(users.alice).pw_uid}

        reasons = {
            "root": "is root",
            "daemon": "below run_as_min_uid 1000",
            "ghost": "is not a user on this host",
        }
        for name, reason in reasons.items():
            with Client(server.address, token=token_of(name)) as client:
                job, out, _ = _run(client, "id -u")
                assert job.status == job_pb2.JOB_STATUS_FAILED
                assert job.work[0].status == job_pb2.WORK_STATUS_FAILED
                assert reason in job.work[0].message, job.work[0].message
                assert out == ""
    finally:
        server.stop()


def test_run_as_worker_keeps_the_workers_uid_but_not_its_environment(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data", env={**SUPERVISOR_ENV, "LATCHWORK_RUN_AS": "worker"}
    ).start()
    try:
        with Client(server.address) as client:
            job, out, _ = _run(client, "id -u; env")
        assert job.status == job_pb2.JOB_STATUS_COMPLETE
        assert out.splitlines()[0] == str(os.getuid())
        assert "LW13_SECRET" not in out and "LW13_PASS" not in out
        assert "JOB_VAR=from-job" in out.splitlines()
    finally:
        server.stop()


def test_a_remote_worker_runs_frames_as_their_owner(
    tmp_path: Path, users: Users, secret_file: Path
) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    log = tmp_path / "worker.log"
    with open(log, "wb") as log_file:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "latchwork.client.cli", "worker"),
                *("--supervisor", server.address, "--slots", "2", "--host", "remote"),
                *("--run-as", "owner", "--env-passthrough", "LW13_PASS"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env={**os.environ, **SUPERVISOR_ENV},
        )
    try:
        with Client(server.address, user=users.bob) as client:
            job, out, err = _run(client, PROBE.format(secret=secret_file))
            assert job.status == job_pb2.JOB_STATUS_COMPLETE, log.read_text()
            _check_owner_frame(out, err, users.bob, secret_file)
        with Client(server.address, user="root") as client:
            job, _, _ = _run(client, "id -u")
            assert "is root" in job.work[0].message
    finally:
        worker.terminate()
        worker.wait(10)
        server.stop()
