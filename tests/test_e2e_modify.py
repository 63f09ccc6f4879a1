"""ModifyJobs (issue 12, item 5) over real gRPC against a real ``latchwork serve``: a changed
priority reorders what runs next, cpus add and remove instances, data is set and removed, bad
values and other users' jobs are refused with nothing applied, ``modified-job-self`` fires and
the change survives a restart. Through the raw stub: the request as the wire carries it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from latchwork.client import Client, LatchworkError
from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2

from .serverproc import ServerProcess
from .waiting import events_until, wait_job

ALICE, BOB, ADMIN = "alice-token-0123456789", "bob-token-0123456789ab", "admin-token-0123456789"


def modify(
    client: Client,
    job_ids: list[int],
    reason: str = "",
    data: dict[str, str] | None = None,
    remove_data: list[str] | None = None,
    **values: Any,
) -> supervisor_pb2.ModifyJobsResponse:
    changes = supervisor_pb2.JobChanges(data=data or {}, remove_data=remove_data or [], **values)
    request = supervisor_pb2.ModifyJobsRequest(job_ids=job_ids, changes=changes, reason=reason)
    return client._call("ModifyJobs", request)  # type: ignore[no-any-return]  # noqa: SLF001


def frames(cmdline: str, frame_range: str = "1", **extra: object) -> dict[str, object]:
    return {
        "name": "frames",
        "prototype": "cmdrange",
        "package": {"cmdline": cmdline, "range": frame_range},
        **extra,
    }


def started_order(events: list[event_pb2.Event], job_ids: set[int]) -> list[int]:
    return [
        e.job_id
        for e in events
        if e.job_id in job_ids
        and e.event_type == event_pb2.EVENT_TYPE_WORK
        and e.name == event_pb2.EVENT_NAME_RUNNING
    ]


@pytest.fixture
def one_slot(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data", slots=1).start()
    yield server
    server.stop()


def test_a_new_priority_reorders_what_runs_next(one_slot: ServerProcess) -> None:
    with one_slot.client() as client:
        gate = client.submit([frames("sleep 1.5")]).jobs[0].id
        events_until(
            client,
            lambda e: e.job_id == gate and e.name == event_pb2.EVENT_NAME_RUNNING,
        )
        waiting = [client.submit([frames("true", label=f"j{i}")]).jobs[0].id for i in range(3)]
        answer = modify(client, [waiting[2]], reason="rush", priority=10)
        assert list(answer.changed_job_ids) == [waiting[2]] and answer.seq > 0
        last = waiting[1]
        events = events_until(
            client,
            lambda e: (
                e.job_id == last
                and e.event_type == event_pb2.EVENT_TYPE_JOB
                and e.name == event_pb2.EVENT_NAME_COMPLETE
            ),
        )
        assert started_order(events, set(waiting)) == [waiting[2], waiting[0], waiting[1]]
        [announced] = [e for e in events if e.name == event_pb2.EVENT_NAME_MODIFIED]
        assert announced.job_id == waiting[2] and announced.seq == answer.seq
        assert announced.event_type == event_pb2.EVENT_TYPE_JOB
        assert announced.message == "priority 9999 -> 10 (rush)"
        assert client.get_job(waiting[2]).spec.priority == 10
        # Already as asked: no event, not in changed_job_ids.
        again = modify(client, [waiting[2]], priority=10)
        assert list(again.changed_job_ids) == [] and again.seq == 0


def test_cpus_up_and_down_and_data_set_and_removed(client: Client) -> None:
    job_id = (
        client.submit(
            [frames("true", "1-6", status="blocked", cpus=1, data={"keep": "1", "old": "2"})]
        )
        .jobs[0]
        .id
    )
    modify(client, [job_id], cpus=3, data={"shot": "sh010"}, remove_data=["old"])
    job = client.get_job(job_id)
    assert [s.id for s in job.subjobs] == [0, 1, 2]
    assert job.spec.cpus == 3 and dict(job.spec.data) == {"keep": "1", "shot": "sh010"}
    modify(client, [job_id], cpus=2)
    assert [s.id for s in client.get_job(job_id).subjobs] == [0, 1]
    client.control("unblock", [job_id])
    done = wait_job(client, job_id)
    assert done.status == job_pb2.JOB_STATUS_COMPLETE
    assert {w.subjob_id for w in done.work} <= {0, 1}


def test_bad_values_are_refused_by_field_path_and_nothing_is_applied(client: Client) -> None:
    job_id = client.submit([frames("true", status="blocked")]).jobs[0].id
    removed = client.submit([frames("true", status="blocked")]).jobs[0].id
    client.control("remove", [removed])
    with pytest.raises(LatchworkError) as caught:
        modify(
            client,
            [job_id, 999, removed],
            priority=-1,
            cpus=10**6,
            requirements="host.memory >=",
            reservations="host.bogus=1",
        )
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field: v.description for v in caught.value.violations}
    assert set(fields) == {
        "job_ids[1]",
        "job_ids[2]",
        "changes.priority",
        "changes.cpus",
        "changes.requirements",
        "changes.reservations",
    }
    assert "does not exist" in fields["job_ids[1]"] and "removed" in fields["job_ids[2]"]
    assert "offset" in fields["changes.requirements"]
    job = client.get_job(job_id)
    assert (job.spec.priority, job.spec.cpus, job.spec.requirements) == (9999, 1, "")
    with pytest.raises(LatchworkError) as nothing:
        modify(client, [job_id])
    assert {v.field for v in nothing.value.violations} == {"changes"}


def test_modified_job_self_fires(client: Client) -> None:
    callback = {"triggers": "modified-job-self", "code": "unblock-self"}
    job_id = client.submit([frames("true", status="blocked", callbacks=[callback])]).jobs[0].id
    modify(client, [job_id], data={"approved": "yes"})
    assert wait_job(client, job_id).status == job_pb2.JOB_STATUS_COMPLETE


def test_the_change_survives_a_restart(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    with server.client() as client:
        job_id = client.submit([frames("true", "1-4", cpus=3, status="blocked")]).jobs[0].id
        modify(client, [job_id], priority=7, cpus=1, hosts="farm01", data={"k": "v"})
    server.stop()
    server = ServerProcess(tmp_path / "data", slots=0).start()
    try:
        with server.client() as client:
            job = client.get_job(job_id)
            assert (job.spec.priority, job.spec.cpus, job.spec.hosts) == (7, 1, "farm01")
            assert dict(job.spec.data) == {"k": "v"}
            assert [s.id for s in job.subjobs] == [0]
    finally:
        server.stop()


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[ServerProcess]:
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(
        f'[[token]]\ntoken = "{ALICE}"\nuser = "alice"\n\n'
        f'[[token]]\ntoken = "{BOB}"\nuser = "bob"\n\n'
        f'[[token]]\ntoken = "{ADMIN}"\nuser = "wrangler"\nadmin = true\n'
    )
    tokens.chmod(0o600)  # a tokens file others can read is refused
    server = ServerProcess(
        tmp_path / "data", slots=0, env={"LATCHWORK_TOKENS_FILE": str(tokens)}
    ).start()
    yield server
    server.stop()


def test_only_the_owner_or_an_admin_modifies_a_job(secured: ServerProcess) -> None:
    with (
        Client(secured.address, token=ALICE) as alice,
        Client(secured.address, token=BOB) as bob,
        Client(secured.address, token=ADMIN) as admin,
    ):
        mine = alice.submit([frames("true", status="blocked")]).jobs[0].id
        theirs = bob.submit([frames("true", status="blocked")]).jobs[0].id
        with pytest.raises(LatchworkError) as caught:
            modify(alice, [mine, theirs], priority=1)
        assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert "job_ids[1]" in caught.value.message and "'bob'" in caught.value.message
        assert alice.get_job(mine).spec.priority == 9999  # all or none
        assert list(modify(alice, [mine], priority=1).changed_job_ids) == [mine]
        assert list(modify(admin, [mine, theirs], priority=2).changed_job_ids) == [mine, theirs]
