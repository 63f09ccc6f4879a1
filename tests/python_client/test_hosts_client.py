"""Issue 12's client side: hosts and ModifyJobs in ``Client``, ``AsyncClient``, the CLI and ``qb``.

Requests are checked as built (``requests``) and as received by a stand-in supervisor served
over real gRPC (``fake_farm``); responses and errors as the caller sees them. The same calls
against the real supervisor are in ``tests/test_e2e_hosts_client.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from latchwork.client import (
    AsyncClient,
    Client,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RequestError,
    cli,
    qb,
    requests,
)
from latchwork.client.cli_hosts import ago, gigabytes, host_state
from latchwork.v1 import host_pb2, supervisor_pb2

from .fake_farm import ADMIN, FakeFarm, serve_fake_farm


@pytest.fixture
def farm() -> Iterator[tuple[str, FakeFarm]]:
    with serve_fake_farm() as served:
        yield served


def _last(farm: FakeFarm, method: str) -> Any:
    return next(request for name, request in reversed(farm.requests) if name == method)


# ------------------------------------------------------------------------ request building


def test_modify_sends_only_what_changes() -> None:
    request = requests.modify_jobs(
        [12, 13],
        {"priority": 10, "cpus": None, "requirements": "", "data": {"shot": "a"}},
        "rush",
    )
    changes = request.changes
    assert list(request.job_ids) == [12, 13] and request.reason == "rush"
    assert changes.HasField("priority") and changes.priority == 10
    assert not changes.HasField("cpus")  # None: left as it is
    assert changes.HasField("requirements") and changes.requirements == ""  # "": cleared
    assert not changes.HasField("hosts")
    assert dict(changes.data) == {"shot": "a"} and list(changes.remove_data) == []


def test_modify_takes_one_id_and_one_key_to_remove() -> None:
    request = requests.modify_jobs(12, {"remove_data": "old"}, "")
    assert list(request.job_ids) == [12] and list(request.changes.remove_data) == ["old"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "nothing to change"),
        ({"priority": None}, "nothing to change"),
        ({"timeout": 5}, "cannot change timeout"),
        ({"priority": True}, "priority must be a whole number"),
        ({"cpus": "4"}, "cpus must be a whole number"),
        ({"hosts": 7}, "cannot build the modify_jobs request"),
        ({"priority": 2**40}, "cannot build the modify_jobs request"),
    ],
)
def test_modify_refuses_before_sending(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError, match=message):
        requests.modify_jobs([12], changes, "")


def test_host_requests() -> None:
    assert list(requests.list_hosts("node07").names) == ["node07"]  # one name, not letters
    assert list(requests.list_hosts(()).names) == []
    assert requests.get_host("node07").name == "node07"
    lock = requests.control_hosts("lock", ["a", "b"], "disk")
    assert lock.action == supervisor_pb2.HOST_ACTION_LOCK and list(lock.names) == ["a", "b"]
    assert requests.control_hosts("unlock", "a", "").action == supervisor_pb2.HOST_ACTION_UNLOCK
    with pytest.raises(RequestError, match="unknown host action 'drain'"):
        requests.control_hosts("drain", ["a"], "")


# ------------------------------------------------------------------------ Client, AsyncClient


def test_client_lists_gets_locks_and_modifies(farm: tuple[str, FakeFarm]) -> None:
    address, fake = farm
    with Client(address, user=ADMIN) as lw:
        listed = lw.list_hosts()
        assert [h.name for h in listed.hosts] == ["head", "node07", "node08"]
        assert listed.resources[0].name == "nuke" and listed.resources[0].limit == 10
        assert [h.name for h in lw.list_hosts(["node07"]).hosts] == ["node07"]
        got = lw.get_host("node07")
        assert got.host.resources.memory_mb == 65536 and list(got.running) == ["12:7"]

        locked = lw.lock_hosts("node07", reason="disk")
        assert [(r.name, r.changed) for r in locked.results] == [("node07", True)]
        assert _last(fake, "ControlHosts").reason == "disk"
        assert lw.get_host("node07").host.locked
        again = lw.lock_hosts(["node07"])
        assert [r.changed for r in again.results] == [False]
        assert [r.changed for r in lw.unlock_hosts(["node07"]).results] == [True]

        modified = lw.modify_jobs([12, 13], priority=5, groups="gpu", reason="rush")
        assert list(modified.changed_job_ids) == [12]
        sent = _last(fake, "ModifyJobs")
        assert sent.changes.priority == 5 and sent.changes.groups == "gpu"
        assert not sent.changes.HasField("cpus") and sent.reason == "rush"


def test_client_errors_are_the_usual_exceptions(farm: tuple[str, FakeFarm]) -> None:
    address, _ = farm
    with Client(address, user="artist") as lw:
        with pytest.raises(NotFoundError, match="no host 'nope'"):
            lw.get_host("nope")
        with pytest.raises(PermissionDeniedError, match="not an admin"):
            lw.lock_hosts(["node07"])
        with pytest.raises(InvalidArgumentError, match=r"job_ids\[1\]: job 99 does not"):
            lw.modify_jobs([12, 99], priority=1)
        with pytest.raises(RequestError):
            lw.modify_jobs([12])


async def test_async_client_has_the_same_methods(farm: tuple[str, FakeFarm]) -> None:
    address, fake = farm
    async with AsyncClient(address, user=ADMIN) as lw:
        assert [h.name for h in (await lw.list_hosts("node08")).hosts] == ["node08"]
        assert list((await lw.get_host("node07")).running) == ["12:7"]
        assert [r.changed for r in (await lw.lock_hosts("head")).results] == [True]
        assert [r.changed for r in (await lw.unlock_hosts("head")).results] == [True]
        response = await lw.modify_jobs(14, cpus=2, data={"k": "v"}, remove_data=["old"])
        assert list(response.changed_job_ids) == [14]
        sent = _last(fake, "ModifyJobs").changes
        assert sent.cpus == 2 and dict(sent.data) == {"k": "v"} and sent.remove_data == ["old"]
        with pytest.raises(NotFoundError):
            await lw.get_host("nope")
    for method in ("list_hosts", "get_host", "control_hosts", "lock_hosts", "unlock_hosts"):
        assert hasattr(AsyncClient, method) and hasattr(Client, method)


# ------------------------------------------------------------------------ CLI


def _cli(
    capsys: pytest.CaptureFixture[str], address: str, *args: str, user: str = ADMIN
) -> tuple[int, str, str]:
    """``latchwork --address ADDRESS ARGS`` in this process, as ``user``: (code, out, err)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LATCHWORK_USER", user)
        code = cli.main(["--address", address, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_hosts_table_and_json(
    farm: tuple[str, FakeFarm], capsys: pytest.CaptureFixture[str]
) -> None:
    address, _ = farm
    code, out, _ = _cli(capsys, address, "hosts")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        *("NAME", "STATE", "SLOTS", "CORES", "MEMORY", "GPUS", "GROUPS", "CLUSTER", "HEARTBEAT")
    ]
    assert lines[1].split() == ["head", "up", "0/2", "8", "0/16G", "0/0", "-", "-", "local"]
    assert lines[2].split()[:8] == [
        *("node07", "up", "1/4", "16", "4G/64G", "0/2", "gpu,big", "/farm/a")
    ]
    assert lines[3].split()[:2] == ["node08", "down,locked"] and lines[3].endswith("5m ago")
    assert lines[5].split() == ["RESOURCE", "IN", "USE", "LIMIT"]
    assert lines[6].split() == ["nuke", "1", "10"]
    code, out, _ = _cli(capsys, address, "hosts", "node07", "--json")
    data = json.loads(out)
    assert code == 0 and [h["name"] for h in data["hosts"]] == ["node07"]
    assert data["hosts"][0]["resources"]["memoryMb"] == "65536"


def test_cli_host_detail_lock_and_unlock(
    farm: tuple[str, FakeFarm], capsys: pytest.CaptureFixture[str]
) -> None:
    address, fake = farm
    code, out, _ = _cli(capsys, address, "host", "node07")
    assert code == 0
    assert out.splitlines()[0] == "host node07  up"
    assert "slots 1/4  cores 16  memory 4G/64G  gpus 0/2  linux/x86_64" in out
    assert "properties renderer=arnold" in out and out.endswith("RUNNING (1)\n12:7\n")
    code, out, _ = _cli(capsys, address, "host", "lock", "node07", "head", "--reason", "disk")
    assert (code, out) == (0, "node07\tlocked\nhead\tlocked\n")
    assert _last(fake, "ControlHosts").reason == "disk"
    code, out, _ = _cli(capsys, address, "host", "node07")
    assert out.splitlines()[:2] == ["host node07  locked", "locked: disk (by wrangler)"]
    code, out, _ = _cli(capsys, address, "host", "unlock", "node07")
    assert (code, out) == (0, "node07\tunlocked\n")
    code, out, _ = _cli(capsys, address, "host", "unlock", "node07")
    assert (code, out) == (0, "node07\tunchanged\n")
    code, out, _ = _cli(capsys, address, "host", "head", "--json")
    assert code == 0 and json.loads(out)["host"]["local"] is True


def test_cli_host_refusals(farm: tuple[str, FakeFarm], capsys: pytest.CaptureFixture[str]) -> None:
    address, _ = farm
    code, _, err = _cli(capsys, address, "host", "nope")
    assert code == 1 and "latchwork host: no host 'nope'" in err
    code, _, err = _cli(capsys, address, "host", "lock", "node07", user="artist")
    assert code == 1 and "not an admin" in err
    code, _, err = _cli(capsys, address, "host", "node07", "node08")
    assert code == 2 and "one host name, or lock|unlock NAME..." in err


def test_cli_modify(farm: tuple[str, FakeFarm], capsys: pytest.CaptureFixture[str]) -> None:
    address, fake = farm
    code, out, _ = _cli(
        capsys,
        address,
        *("modify", "12", "13", "--priority", "10", "--retry", "2"),
        *("--reservations", "host.memory=16000", "--requirements", ""),
        *("--data", "shot=sq01", "--data", "a=b=c", "--remove-data", "old", "--reason", "rush"),
    )
    assert (code, out) == (0, "12\tmodified\n13\tunchanged\n")
    sent = _last(fake, "ModifyJobs")
    changes = sent.changes
    assert list(sent.job_ids) == [12, 13] and sent.reason == "rush"
    assert changes.priority == 10 and changes.retry == 2 and not changes.HasField("cpus")
    assert changes.reservations == "host.memory=16000"
    assert changes.HasField("requirements") and changes.requirements == ""
    assert dict(changes.data) == {"shot": "sq01", "a": "b=c"}
    assert list(changes.remove_data) == ["old"]
    code, _, err = _cli(capsys, address, "modify", "99", "--cpus", "2")
    assert code == 1 and "job 99 does not exist" in err
    code, _, err = _cli(capsys, address, "modify", "12")
    assert code == 2 and "nothing to change" in err
    with pytest.raises(SystemExit) as usage:
        cli.main(["--address", address, "modify", "12", "--data", "novalue"])
    assert usage.value.code == 2


def test_cli_formatting_helpers() -> None:
    assert [gigabytes(mb) for mb in (0, 1536, 16384, 65536, 15974)] == [
        *("0", "1.5G", "16G", "64G", "16G")
    ]
    stamp = host_pb2.Host().last_heartbeat
    assert ago(stamp, 1000.0) == "-"
    stamp.FromSeconds(1000)
    assert [ago(stamp, 1000.0 + d) for d in (4, 125, 7300, 200000)] == [
        *("4s ago", "2m ago", "2h ago", "2d ago")
    ]
    down = host_pb2.Host(state=host_pb2.HOST_STATE_DOWN)
    assert host_state(down) == "down" and host_state(host_pb2.Host(locked=True)) == "locked"


# ------------------------------------------------------------------------ qb


@pytest.fixture
def qb_farm(farm: tuple[str, FakeFarm]) -> Iterator[FakeFarm]:
    qb.connect(farm[0], user=ADMIN)
    yield farm[1]
    qb.connect(None)


def test_qb_hostinfo_in_qubes_shape(qb_farm: FakeFarm) -> None:
    hosts = qb.hostinfo()
    assert [h["name"] for h in hosts] == ["head", "node07", "node08"]
    node07 = hosts[1]
    assert node07.name == "node07" and node07["state"] == "active"
    assert node07["groups"] == "gpu,big" and node07["cluster"] == "/farm/a"
    assert node07["resources"] == "host.processors=3/4,host.memory=61440/65536,host.gpus=2/2"
    assert node07["properties"] == (
        "host.os=linux,host.arch=x86_64,host.cores=16,host.renderer=arnold"
    )
    assert node07["locked"] is False and node07["memory"] == 65536 and node07["heartbeat"] > 0
    assert "subjobs" not in node07
    assert hosts[2]["state"] == "down" and hosts[2]["restrictions"] == "/show/*"
    assert hosts[2]["locked"] and hosts[2]["lock_reason"] == "disk full (by alice)"

    assert [h.name for h in qb.hostinfo(state="down")] == ["node08"]
    assert [h.name for h in qb.hostinfo(name="node07")] == ["node07"]
    assert list(_last(qb_farm, "ListHosts").names) == ["node07"]
    assert [h.name for h in qb.hostinfo(filters={"cluster": ["/farm/a", "/farm/b"]})] == [
        *("node07", "node08")
    ]
    (with_work,) = qb.hostinfo(name=["node07"], subjobs=True)
    assert with_work["subjobs"] == [
        {"pid": 12, "workname": "7", "status": "running", "host": "node07"}
    ]
    assert qb.hostinfo(name="head", fields=["subjobs"])[0]["subjobs"] == []
    with pytest.raises(ValueError, match="unknown state"):
        qb.hostinfo(state="panic")
    with pytest.raises(ValueError, match="cannot filter on 'macaddress'"):
        qb.hostinfo(filters={"macaddress": "x"})
    with pytest.raises(ValueError, match="unknown field"):
        qb.hostinfo(fields=["stats"])


def test_qb_modify_in_qubes_shape(qb_farm: FakeFarm) -> None:
    assert qb.modify({"priority": 123}, 12) == [12]
    assert _last(qb_farm, "ModifyJobs").changes.priority == 123
    changed = qb.modify({"retrywork": 3, "data": {"shot": "a", "old": None}}, "12", 13)
    assert changed == [12]
    sent = _last(qb_farm, "ModifyJobs")
    assert list(sent.job_ids) == [12, 13] and sent.changes.retry == 3
    assert dict(sent.changes.data) == {"shot": "a"} and list(sent.changes.remove_data) == ["old"]
    assert qb.modify({"cluster": "/farm/a"}, [12, 14]) == [12, 14]
    with pytest.raises(ValueError, match="cannot change max_cpus, timeout"):
        qb.modify({"timeout": 5, "max_cpus": 2, "priority": 1}, 12)
    with pytest.raises(InvalidArgumentError):
        qb.modify({"priority": 1}, 99)


def test_qb_attribute_assignment_is_kept_in_the_dict() -> None:
    job = qb.Job(name="a")
    job.priority = 10
    assert job["priority"] == 10 and job.priority == 10
    del job.priority
    assert "priority" not in job
    with pytest.raises(AttributeError):
        del job.priority
