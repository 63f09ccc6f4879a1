"""Callbacks that start studio scripts by submitting jobs (issue 14, item 6), end to end.

A real supervisor, its sandbox, real frames: a Python callback calls ``qb.submit``; the job it
asks for is its owner's, checked with its owner's rights, and runs on a worker as its owner
(real OS users, as root). A refused submission applies nothing of the run; the limits speak
with field paths; the run's record names the new job; a chain of callbacks submitting jobs
whose callbacks submit jobs stops at the firing budget's depth.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from latchwork.client import Client
from latchwork.v1 import job_pb2, supervisor_pb2

from .os_users import Users, token_of, write_tokens
from .privileges import needs_root
from .serverproc import ServerProcess
from .waiting import FINAL

DOC = (Path(__file__).resolve().parent.parent / "docs" / "callbacks.md").read_text()
EXAMPLE = re.findall(r"### Submitting jobs: `qb.submit`.*?```python\n(.*?)```", DOC, re.S)[0]
SUBMITTED = re.compile(r"qb\.submit: submitted job (\d+) in process group (\d+)")


def _run_of(client: Client, job_id: int, timeout: float = 60) -> supervisor_pb2.CallbackRun:
    """The job's first finished callback run (polled: the tokens need no stream)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in client.callback_runs(job_id=job_id) if r.outcome]
        if runs:
            return runs[0]
        time.sleep(0.05)
    raise AssertionError(f"no finished callback run of job {job_id}")


def _final(client: Client, job_id: int, timeout: float = 60) -> job_pb2.Job:
    deadline = time.monotonic() + timeout
    while (job := client.get_job(job_id)).status not in FINAL and time.monotonic() < deadline:
        time.sleep(0.05)
    return job


def _callback(code: str, triggers: str = "complete-job-self") -> dict[str, str]:
    return {"triggers": triggers, "language": "python", "code": code}


@needs_root("frames run as the callback's owner")
def test_the_submitted_job_runs_as_the_callbacks_owner(tmp_path: Path, users: Users) -> None:
    code = (
        'shot = job.data["shot"]\n'
        "qb.submit({'name': 'publish ' + shot, 'package': {'cmdline': "
        f"'id -un; echo published ' + shot}}, 'user': '{users.alice}'}})\n"
        "print('asked for the publish of', shot)"
    )
    tokens = write_tokens(tmp_path / "tokens.toml", [users.alice, users.bob])
    server = ServerProcess(tmp_path / "data", env={"LATCHWORK_TOKENS_FILE": str(tokens)}).start()
    try:
        with Client(server.address, token=token_of(users.alice)) as client:
            render = client.submit(
                [
                    {
                        "name": "render",
                        "data": {"shot": "sh010"},
                        "package": {"cmdline": "true"},
                        "callbacks": [_callback(code)],
                    }
                ]
            ).jobs[0]
            run = _run_of(client, render.id)
            assert (run.outcome, run.error) == (supervisor_pb2.CALLBACK_OUTCOME_OK, "")
            first, second = [line for line in run.output.splitlines() if line]
            assert first == "asked for the publish of sh010"
            match = SUBMITTED.fullmatch(second)
            assert match, run.output
            published = _final(client, int(match.group(1)))
            assert published.status == job_pb2.JOB_STATUS_COMPLETE
            assert (published.user, published.spec.name) == (users.alice, "publish sh010")
            assert published.pgrp == published.id != render.pgrp  # a fresh group
            stdout = client.work_output(published.id, "0").data.decode()
            assert stdout == f"{users.alice}\npublished sh010\n"  # run as the owner
    finally:
        server.stop()


@needs_root("the ownership rules need tokens of real users")
def test_another_users_group_is_refused_and_nothing_of_the_run_applies(
    tmp_path: Path, users: Users
) -> None:
    tokens = write_tokens(tmp_path / "tokens.toml", [users.alice, users.bob])
    server = ServerProcess(tmp_path / "data", env={"LATCHWORK_TOKENS_FILE": str(tokens)}).start()
    try:
        with Client(server.address, token=token_of(users.bob)) as bob:
            bobs = bob.submit([{"name": "bob's", "package": {"cmdline": "true"}}]).jobs[0]
        code = (
            "qb.unblock(qb.jobid())\n"
            f"qb.submit({{'name': 'intruder', 'package': {{'cmdline': 'true'}}}}, pgrp={bobs.pgrp})"
        )
        with Client(server.address, token=token_of(users.alice)) as alice:
            held = alice.submit(
                [
                    {
                        "name": "held",
                        "status": "blocked",
                        "package": {"cmdline": "true"},
                        "callbacks": [_callback(code, "submit-job-self")],
                    }
                ]
            ).jobs[0]
            run = _run_of(alice, held.id)
            assert run.outcome == supervisor_pb2.CALLBACK_OUTCOME_ERROR
            assert run.error == (
                f"qb.submit pgrp: process group {bobs.pgrp} belongs to {users.bob!r} (the owner "
                f"of job {bobs.pgrp}); the callback's owner {users.alice!r} is not an admin"
            )
            assert alice.get_job(held.id).status == job_pb2.JOB_STATUS_BLOCKED  # no unblock
            assert {j.id for j in alice.list_jobs()} == {bobs.id, held.id}  # no intruder
    finally:
        server.stop()


def test_the_documented_example_submits_the_publish_job(server: ServerProcess) -> None:
    with server.client() as client:
        render = client.submit(
            [
                {
                    "name": "render",
                    "data": {"shot": "sh010"},
                    "package": {"cmdline": "true"},
                    "callbacks": [_callback(EXAMPLE)],
                }
            ]
        ).jobs[0]
        run = _run_of(client, render.id)
        match = SUBMITTED.fullmatch(run.output)
        assert match, (run.output, run.error)
        publish = client.get_job(int(match.group(1)))
        assert publish.spec.name == "publish sh010"
        assert publish.spec.command.cmdline == "/studio/bin/publish.py --shot sh010"
        assert (publish.spec.priority, publish.user) == (10, render.user)


def test_limits_are_refused_with_the_field_path(server: ServerProcess) -> None:
    too_many = "qb.submit([{'package': {'cmdline': 'true'}}] * 101)"
    huge_env = (
        "qb.submit({'package': {'cmdline': 'true'}, 'env': {'E%d' % i: 'x' for i in range(300)}})"
    )
    with server.client() as client:
        ids = [
            client.submit(
                [
                    {
                        "package": {"cmdline": "true"},
                        "callbacks": [_callback(code, "submit-job-self")],
                    }
                ]
            )
            .jobs[0]
            .id
            for code in (too_many, huge_env)
        ]
        errors = [_run_of(client, job_id).error for job_id in ids]
        assert "qb.submit(): at most 100 jobs per callback run" in errors[0]
        assert errors[1].startswith("qb.submit jobs[0].env: "), errors[1]
        assert "256" in errors[1]
        assert len(list(client.list_jobs())) == 2


LINK = (
    'c = %r\nqb.submit({"name": "link", "package": {"cmdline": "true"}, "callbacks": '
    '[{"triggers": "complete-job-self", "language": "python", "code": c %% c}]})'
)
"""A callback that submits a job carrying itself: each link's completion submits the next."""


def test_a_chain_of_callbacks_submitting_jobs_stops_at_the_depth_budget(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env={"LATCHWORK_CALLBACK_CASCADE_DEPTH": "2"}).start()
    try:
        with server.client() as client:
            client.submit(
                [
                    {
                        "name": "link",
                        "package": {"cmdline": "true"},
                        "callbacks": [_callback(LINK % LINK)],
                    }
                ]
            )
            # Links 0-2 fire at depths 0, 1, 2 and submit links 1-3; link 3's firing would be
            # at depth 3, over the budget: its callback is suspended and the chain ends.
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                jobs = sorted(client.list_jobs(), key=lambda j: j.id)
                last = client.get_job(jobs[-1].id) if len(jobs) == 4 else None
                if last is not None and last.callbacks and last.callbacks[0].suspended:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(f"the chain did not stop: {len(jobs)} jobs")
            assert "reached depth 3; the budget is 2" in last.callbacks[0].suspended
            time.sleep(1)  # nothing more comes
            assert len(list(client.list_jobs())) == 4
    finally:
        server.stop()
