"""ExplainJob over real gRPC, and ``latchwork why`` as a process (issue 15, item 2).

A callback waits for two jobs; when one completes, its atom turns from awaited to latched with
the seq of that job's ``complete`` event, as Subscribe delivered it. Under
``visibility = "own"`` another user's job is NOT_FOUND, word for word as a missing job.
"""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from latchwork.client import AsyncClient, Client, LatchworkError
from latchwork.v1 import event_pb2

from .serverproc import ServerProcess

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdefgh"
ADMIN = "admin-token-0123456789abcde"


def _complete_seq(client: Client, job_id: int) -> int:
    """The seq of the job's ``complete`` event (Subscribe replays from the oldest)."""
    for event in client.subscribe(job_ids=[job_id]):
        assert isinstance(event, event_pb2.Event)
        if event.event_type == event_pb2.EVENT_TYPE_JOB and event.name in (
            event_pb2.EVENT_NAME_FAILED,
            event_pb2.EVENT_NAME_KILLED,
        ):
            raise AssertionError(f"job {job_id} ended {event.name}")
        if event.event_type == event_pb2.EVENT_TYPE_JOB and event.name == (
            event_pb2.EVENT_NAME_COMPLETE
        ):
            return event.seq
    raise AssertionError("the stream ended")


def test_an_awaited_atom_turns_latched_with_the_seq_of_its_event(server: ServerProcess) -> None:
    with server.client() as client:
        held = {"package": {"cmdline": "true"}, "status": "blocked"}
        a, c, b = client.submit(
            [
                {"name": "A", "label": "A", **held},
                {"name": "C", "label": "C", **held},
                {
                    "name": "B",
                    **held,
                    "callbacks": [
                        {"triggers": "complete-job-A && complete-job-C", "code": "unblock-self"}
                    ],
                },
            ]
        ).jobs
        before = client.explain_job(b.id)
        (callback,) = before.callbacks
        assert callback.triggers == "complete-job-A && complete-job-C"
        assert (callback.root.kind, callback.root.latched) == ("and", False)
        assert [
            (n.text, n.latched, n.latched_seq, n.watches_job_id) for n in callback.root.children
        ] == [("complete-job-A", False, 0, a.id), ("complete-job-C", False, 0, c.id)]

        client.control("unblock", job_ids=[a.id])
        seq = _complete_seq(client, a.id)
        after = client.explain_job(b.id)
        first, second = after.callbacks[0].root.children
        assert (first.latched, first.latched_seq) == (True, seq)
        assert (second.latched, second.latched_seq) == (False, 0)
        assert after.status_reason == (
            f"blocked: waits for 1 of 2 trigger atoms of callback {callback.callback_id}: "
            "complete-job-C"
        )
        assert list(after.routing_reasons) == []

        with pytest.raises(LatchworkError) as negative:
            client.explain_job(-1)
        assert negative.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in negative.value.violations] == ["job_id"]

    shown = server.cli("why", str(b.id))
    assert (shown.returncode, shown.stderr) == (0, "")
    assert f"✓ complete-job-A  latched @{seq}\n" in shown.stdout
    assert "… complete-job-C  awaited\n" in shown.stdout
    as_json = json.loads(server.cli("why", str(b.id), "--json").stdout)
    assert as_json["job_id"] == str(b.id)
    assert as_json["callbacks"][0]["root"]["children"][0]["latched_seq"] == str(seq)
    missing = server.cli("why", "999999")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == "latchwork why: job 999999 does not exist\n"


async def test_the_async_client_explains_too(server: ServerProcess) -> None:
    async with AsyncClient(server.address, user="tester") as client:
        spec = {
            "name": "waiter",
            "package": {"cmdline": "true"},
            "status": "blocked",
            "callbacks": [{"triggers": "done-work-self-*", "code": "unblock-self"}],
        }
        (job,) = (await client.submit([spec])).jobs
        explanation = await client.explain_job(job.id)
    (callback,) = explanation.callbacks
    assert (callback.root.kind, callback.root.text) == ("atom", "done-work-self-*")
    assert (callback.root.latched, list(callback.bindings)) == (False, [])


def _tokens(path: Path) -> Path:
    path.write_text(
        f'[[token]]\ntoken = "{ALICE}"\nuser = "alice"\n\n'
        f'[[token]]\ntoken = "{BOB}"\nuser = "bob"\n\n'
        f'[[token]]\ntoken = "{ADMIN}"\nuser = "wrangler"\nrole = "admin"\n'
    )
    path.chmod(0o600)
    return path


def test_another_users_job_is_not_found_under_own(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data",
        env={
            "LATCHWORK_TOKENS_FILE": str(_tokens(tmp_path / "tokens.toml")),
            "LATCHWORK_VISIBILITY": "own",
        },
    ).start()
    try:
        spec = {"name": "bobjob", "package": {"cmdline": "true"}, "status": "blocked"}
        with Client(server.address, token=BOB) as bob:
            (job,) = bob.submit([spec]).jobs
            assert bob.explain_job(job.id).status_reason.startswith("blocked: ")
        with Client(server.address, token=ADMIN) as admin:
            assert admin.explain_job(job.id).job_id == job.id
        with Client(server.address, token=ALICE) as alice:
            with pytest.raises(LatchworkError) as hidden:
                alice.explain_job(job.id)
            with pytest.raises(LatchworkError) as missing:
                alice.explain_job(job.id + 1000)
            with pytest.raises(LatchworkError) as get_job:
                alice.get_job(job.id)
        assert hidden.value.code == grpc.StatusCode.NOT_FOUND
        assert hidden.value.message == f"job {job.id} does not exist"
        assert hidden.value.message == get_job.value.message
        assert missing.value.code == grpc.StatusCode.NOT_FOUND
    finally:
        server.stop()
