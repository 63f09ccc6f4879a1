"""The abuse corpus for frames: what a hostile job's command line tries against the farm.

Issue 13 found that a non-admin user's frame ran as root with the supervisor's environment: it
printed the admin's bearer token from the tokens file, another user's secrets from the database
and its WAL, and could signal the supervisor and the sandbox workers; with the stolen token it
killed another user's job. Each case below is one of those attempts, run by a real frame of a real
OS user against a real ``latchwork serve`` (as root, with tokens: frames run as their owner).

Every attack has a control that the same frame CAN do (read a world-readable file beside the
tokens file, read its own ``/proc`` entry, signal itself), so a case holds because of the
protection, not because the path was out of reach for some other reason (pytest's own temporary
directories are 0700, which would hide a readable tokens file).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from latchwork.client import Client
from latchwork.v1 import job_pb2

from .os_users import Users, token_of, write_tokens
from .privileges import needs_root
from .serverproc import ServerProcess
from .waiting import FINAL

pytestmark = needs_root("frames run as other users")

SECRET = "lw-abuse-env-secret-31337"

# name -> shell command that succeeds only if the attack works
ATTACKS = {
    "read the tokens file": 'cat "$W/tokens.toml"',
    "read the database": 'cat "$D/latchwork.db"',
    "read the write-ahead log": 'cat "$D/latchwork.db-wal"',
    "list the data directory": 'ls "$D"',
    "read the supervisor's environment": 'cat "/proc/$S/environ"',
    "list the supervisor's open files": 'ls "/proc/$S/fd"',
    "read the supervisor's memory": 'head -c 1 "/proc/$S/mem"',
    "signal the supervisor": 'kill -0 "$S"',
    "stop the supervisor": 'kill -STOP "$S"',
    "signal a sandbox worker": 'kill -0 "$P"',
    "signal another user's frame": 'kill -0 "$B"',
    "find the supervisor's secret in the environment": f"env | grep -q {SECRET}",
}
# name -> shell command that must succeed: the same reach, without the protection
CONTROLS = {
    "read a public file beside the tokens file": 'cat "$W/public.txt"',
    "read its own environment": 'cat "/proc/$$/environ"',
    "signal itself": 'kill -0 "$$"',
}


def _script(cases: dict[str, str], verdicts: tuple[str, str]) -> str:
    yes, no = verdicts
    return "".join(
        f'if {command} >/dev/null 2>&1; then echo "{name}: {yes}"; else echo "{name}: {no}"; fi\n'
        for name, command in cases.items()
    )


@pytest.fixture
def workspace() -> Iterator[Path]:
    """A directory every user may enter (unlike pytest's tmp_path, which is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="lw-abuse-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _wait(client: Client, job_id: int, until: set[job_pb2.JobStatus.ValueType]) -> job_pb2.Job:
    deadline = time.monotonic() + 60
    while (job := client.get_job(job_id)).status not in until and time.monotonic() < deadline:
        time.sleep(0.05)
    return job


def _sandbox_worker_pid(supervisor: int) -> int:
    for child in psutil.Process(supervisor).children(recursive=True):
        if "latchwork.sandbox.python.worker" in " ".join(child.cmdline()):
            return child.pid
    raise AssertionError("the supervisor has no sandbox worker")


def test_a_hostile_frame_reaches_nothing_of_the_supervisor_or_other_users(
    workspace: Path, users: Users
) -> None:
    tokens = write_tokens(workspace / "tokens.toml", [users.alice, users.bob, "admin"])
    (workspace / "public.txt").write_text("anyone may read this\n")
    (workspace / "public.txt").chmod(0o644)
    data = workspace / "data"
    server = ServerProcess(
        data, slots=2, env={"LATCHWORK_TOKENS_FILE": str(tokens), "LW_ABUSE": SECRET}
    ).start()
    assert server.process is not None
    try:
        with Client(server.address, token=token_of(users.bob)) as bob:
            victim = bob.submit(
                [{"name": "victim", "package": {"cmdline": "echo $$; exec sleep 120"}}]
            ).jobs[0]
            deadline = time.monotonic() + 60
            while not (pid := bob.work_output(victim.id, "0").data.strip()):
                assert time.monotonic() < deadline, "bob's frame never started"
                time.sleep(0.05)
        assert (data / "latchwork.db-wal").exists()  # the attacks aim at files that exist
        variables = (
            f'W="{workspace}"; D="{data}"; S={server.process.pid}; '
            f"P={_sandbox_worker_pid(server.process.pid)}; B={int(pid)}\n"
        )
        script = (
            variables
            + _script(ATTACKS, ("ESCAPED", "held"))
            + _script(CONTROLS, ("reachable", "UNREACHABLE"))
        )
        with Client(server.address, token=token_of(users.alice)) as alice:
            job = alice.submit([{"name": "hostile", "package": {"cmdline": script}}]).jobs[0]
            finished = _wait(alice, job.id, FINAL)
            assert finished.status == job_pb2.JOB_STATUS_COMPLETE, finished.work[0].message
            out = alice.work_output(job.id, "0").data.decode()
        verdicts = dict(re.findall(r"^(.+): (\S+)$", out, re.MULTILINE))
        assert verdicts == {
            **dict.fromkeys(ATTACKS, "held"),
            **dict.fromkeys(CONTROLS, "reachable"),
        }, out
        assert psutil.Process(server.process.pid).status() != psutil.STATUS_STOPPED
        with Client(server.address, token=token_of(users.bob)) as bob:
            assert bob.get_job(victim.id).status == job_pb2.JOB_STATUS_RUNNING
            bob.control("kill", [victim.id])
    finally:
        server.stop()
