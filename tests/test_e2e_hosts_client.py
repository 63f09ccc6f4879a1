"""The client side of issue 12 against a real ``latchwork serve`` and ``latchwork worker``:
``Client``'s host and modify methods, ``latchwork hosts|host|modify``, ``qb.hostinfo`` and
``qb.modify`` see what the supervisor really holds (the worker's declared resources, groups,
cluster and properties; a lock with its reason; a job's changed priority and data).

The formatting and the requests themselves are pinned against a stand-in in
``tests/python_client/test_hosts_client.py``; this checks the two sides meet.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from latchwork.client import Client, LatchworkError, NotFoundError, PermissionDeniedError, qb
from latchwork.v1 import host_pb2

from .serverproc import ServerProcess

ADMIN = "wrangler"
WORKER = "node-a"


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("hosts-client")
    config = base / "latchwork.toml"
    config.write_text(f'admin_users = "{ADMIN}"\n')
    server = ServerProcess(base / "data", slots=1, extra=["--config", str(config)]).start()
    worker: subprocess.Popen[bytes] | None = None
    try:
        with open(base / "worker.log", "wb") as log:
            worker = subprocess.Popen(
                [
                    *(sys.executable, "-m", "latchwork.client.cli", "worker"),
                    *("--supervisor", server.address, "--slots", "1", "--host", WORKER),
                    *("--cores", "4", "--memory", "8192", "--gpus", "1", "--group", "gpu"),
                    *("--cluster", "/farm/a", "--property", "renderer=arnold"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        with server.client() as lw:
            deadline = time.monotonic() + 30
            while not lw.list_hosts(WORKER).hosts:
                assert worker.poll() is None, (base / "worker.log").read_text()
                assert time.monotonic() < deadline, "the worker never showed up as a host"
                time.sleep(0.1)
        yield server
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(20)
        server.stop()


def test_list_and_get_hosts(farm: ServerProcess) -> None:
    with farm.client() as lw:
        listed = {h.name: h for h in lw.list_hosts().hosts}
        assert {"testhost", WORKER} <= set(listed)
        assert listed["testhost"].local
        node = listed[WORKER]
        assert node.state == host_pb2.HOST_STATE_UP and not node.local
        assert (node.resources.cores, node.resources.memory_mb, node.resources.gpus) == (4, 8192, 1)
        assert list(node.groups) == ["gpu"] and node.cluster == "/farm/a"
        assert dict(node.properties) == {"renderer": "arnold"} and node.slots == 1
        got = lw.get_host(WORKER)
        assert got.host.name == WORKER and list(got.running) == []
        with pytest.raises(NotFoundError):
            lw.get_host("no-such-host")


def test_lock_and_unlock(farm: ServerProcess) -> None:
    with Client(farm.address, user="tester") as artist, pytest.raises(PermissionDeniedError):
        artist.lock_hosts(WORKER)
    with Client(farm.address, user=ADMIN) as lw:
        assert [(r.name, r.changed) for r in lw.lock_hosts(WORKER, "disk").results] == [
            (WORKER, True)
        ]
        host = lw.get_host(WORKER).host
        assert host.locked and "disk" in host.lock_reason
        assert [r.changed for r in lw.lock_hosts([WORKER]).results] == [False]
        assert [r.changed for r in lw.unlock_hosts([WORKER]).results] == [True]
        assert not lw.get_host(WORKER).host.locked


def test_modify_jobs(farm: ServerProcess) -> None:
    with farm.client() as lw:
        job = lw.submit(
            [{"name": "held", "status": "blocked", "package": {"cmdline": "true"}}]
        ).jobs[0]
        response = lw.modify_jobs(job.id, priority=5, data={"shot": "a"}, reason="rush")
        assert list(response.changed_job_ids) == [job.id]
        spec = lw.get_job(job.id).spec
        assert spec.priority == 5 and spec.data["shot"] == "a"
        assert list(lw.modify_jobs([job.id], priority=5).changed_job_ids) == []
        lw.modify_jobs([job.id], remove_data=["shot"])
        assert "shot" not in lw.get_job(job.id).spec.data
        with pytest.raises(LatchworkError, match="999999"):  # nothing changed: all or none
            lw.modify_jobs([job.id, 999_999], priority=1)
        assert lw.get_job(job.id).spec.priority == 5
        lw.control("remove", [job.id])


def test_cli(farm: ServerProcess) -> None:
    listed = farm.cli("hosts")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split()[:3] == ["NAME", "STATE", "SLOTS"]
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:] if line}
    assert rows[WORKER][1:4] == ["up", "0/1", "4"] and rows["testhost"][-1] == "local"
    as_json = json.loads(farm.cli("hosts", WORKER, "--json").stdout)
    assert [h["name"] for h in as_json["hosts"]] == [WORKER]
    shown = farm.cli("host", WORKER)
    assert shown.returncode == 0 and shown.stdout.startswith(f"host {WORKER}  up\n")
    assert "properties renderer=arnold" in shown.stdout
    refused = farm.cli("host", "lock", WORKER)
    assert refused.returncode == 1 and "admin" in refused.stderr
    missing = farm.cli("host", "no-such-host")
    assert missing.returncode == 1

    with farm.client() as lw:
        job = lw.submit(
            [{"name": "held", "status": "blocked", "package": {"cmdline": "true"}}]
        ).jobs[0]
    modified = farm.cli("modify", str(job.id), "--priority", "7", "--data", "shot=b")
    assert (modified.returncode, modified.stdout) == (0, f"{job.id}\tmodified\n")
    with farm.client() as lw:
        spec = lw.get_job(job.id).spec
        assert spec.priority == 7 and spec.data["shot"] == "b"
        lw.control("remove", [job.id])


def test_qb(farm: ServerProcess) -> None:
    qb.connect(farm.address, user="tester")
    try:
        (node,) = qb.hostinfo(name=WORKER)
        assert node["state"] == "active" and node["groups"] == "gpu"
        assert node["resources"] == "host.processors=1/1,host.memory=8192/8192,host.gpus=1/1"
        assert "host.renderer=arnold" in node["properties"] and node["cluster"] == "/farm/a"
        assert "subjobs" not in node
        assert qb.hostinfo(name=WORKER, subjobs=True)[0]["subjobs"] == []
        (job,) = qb.submit([{"name": "held", "status": "blocked", "package": {"cmdline": "true"}}])
        assert qb.modify({"priority": 3, "retrywork": 2}, job["id"]) == [job["id"]]
        (after,) = qb.jobinfo(id=job["id"])
        assert after["priority"] == 3 and after["retrywork"] == 2
        qb.remove(job["id"])
    finally:
        qb.connect(None)
