"""Hosts end to end (issue 12, items 1 and 2): real ``latchwork worker`` processes declare their
resources, a killed one goes down and fires a host trigger, a lock drains, a restarted
supervisor lists the farm it knew, and only admins lock."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import grpc
import pytest

from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2

from .hostfarm import ADMIN, FAST_HOSTS_ENV, Hosts, down, start_worker, up
from .serverproc import ServerProcess
from .waiting import events_until, wait_job

DECLARED = (
    *("--cores", "8", "--memory", "16000", "--gpus", "1"),
    *("--property", "renderer=arnold", "--property", "site=london"),
    *("--group", "gpu", "--group", "fast", "--cluster", "/farm/a"),
    *("--restrictions", "/show/+"),
)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_hosts_are_listed_with_what_their_workers_declare(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=1, env=FAST_HOSTS_ENV).start()
    worker = start_worker(server, "node-a", tmp_path / "a.log", *DECLARED, slots=2)
    try:
        with Hosts(server) as hosts, server.client() as client:
            node = hosts.wait("node-a", up)
            assert (node.slots, node.locked, node.local, node.cluster, node.restrictions) == (
                2,
                False,
                False,
                "/farm/a",
                "/show/+",
            )
            assert (node.resources.cores, node.resources.memory_mb, node.resources.gpus) == (
                8,
                16000,
                1,
            )
            assert node.resources.os and node.resources.arch
            assert dict(node.properties) == {"renderer": "arnold", "site": "london"}
            assert list(node.groups) == ["gpu", "fast"]
            assert node.HasField("registered") and node.HasField("last_heartbeat")
            local = hosts.list()["testhost"]
            assert local.local and up(local) and local.slots == 1
            assert local.resources.cores >= 1 and not local.HasField("last_heartbeat")
            assert list(hosts.list("node-a")) == ["node-a"]

            # GetHost shows the work a host runs: the local host is locked, so node-a runs it
            # (a job of a cluster its restrictions admit).
            hosts.lock("testhost", reason="head node")
            long = {"name": "long", "cluster": "/show/a", "package": {"cmdline": "exec sleep 300"}}
            job = client.submit([long])
            job_id = job.jobs[0].id
            events_until(client, lambda e: e.job_id == job_id and e.status == "running")
            reply = hosts.get("node-a")
            assert list(reply.running) == [f"{job_id}:0"]
            assert (reply.host.slots, reply.host.slots_in_use) == (2, 1)
            assert hosts.get("testhost").host.lock_reason == f"head node (by {ADMIN})"
            client.control("kill", [job_id])
            wait_job(client, job_id)
    finally:
        _stop(worker)
        server.stop()


def test_a_killed_worker_goes_down_and_fires_a_host_trigger(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0, env=FAST_HOSTS_ENV).start()
    worker = start_worker(server, "node-b", tmp_path / "b.log")
    try:
        with Hosts(server) as hosts, server.client() as client:
            watcher = client.submit(
                [
                    {
                        "name": "farm-watch",
                        "status": "blocked",
                        "package": {"cmdline": "true"},
                        "callbacks": [
                            {
                                "triggers": "down-host-*",
                                "language": "python",
                                "code": "print('lost', event.host, event.binding)",
                            }
                        ],
                    }
                ]
            ).jobs[0]
            hosts.wait("node-b", up)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            node = hosts.wait("node-b", down, timeout=30)
            assert not node.locked
            seen = events_until(
                client,
                lambda e: e.name == event_pb2.EVENT_NAME_DOWN,
                types=[event_pb2.EVENT_TYPE_HOST],
            )
            assert [(e.name, e.host, e.job_id) for e in seen] == [
                (event_pb2.EVENT_NAME_UP, "node-b", 0),
                (event_pb2.EVENT_NAME_DOWN, "node-b", 0),
            ]
            assert "no heartbeat" in seen[-1].message
            deadline = time.monotonic() + 30
            runs: list[supervisor_pb2.CallbackRun] = []
            while time.monotonic() < deadline:
                runs = [r for r in client.callback_runs(job_id=watcher.id) if r.outcome]
                if runs:
                    break
                time.sleep(0.1)
            assert [(r.binding, r.output.strip()) for r in runs] == [
                ("node-b", "lost node-b node-b")
            ]
    finally:
        _stop(worker)
        server.stop()


def test_a_locked_host_drains_and_unlocking_resumes_it(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0, env=FAST_HOSTS_ENV).start()
    worker = start_worker(server, "node-c", tmp_path / "c.log")
    try:
        with Hosts(server) as hosts, server.client() as client:
            hosts.wait("node-c", up)
            job_id = (
                client.submit(
                    [
                        {
                            "name": "frames",
                            "prototype": "cmdrange",
                            "package": {"cmdline": "sleep 1", "range": "1-3"},
                        }
                    ]
                )
                .jobs[0]
                .id
            )
            events_until(client, lambda e: e.job_id == job_id and e.status == "running")
            locked = hosts.lock("node-c", reason="drain")
            assert [(r.name, r.changed) for r in locked.results] == [("node-c", True)]
            assert locked.seq > 0
            assert [(r.name, r.changed) for r in hosts.lock("node-c").results] == [
                ("node-c", False)
            ]
            time.sleep(3.5)  # the running frame ends (1 s); no other may start
            job = client.get_job(job_id)
            statuses = [w.status for w in job.work]
            assert statuses.count(job_pb2.WORK_STATUS_COMPLETE) == 1, statuses
            assert statuses.count(job_pb2.WORK_STATUS_PENDING) == 2, statuses
            node = hosts.list()["node-c"]
            assert up(node) and node.locked and node.lock_reason == f"drain (by {ADMIN})"
            hosts.unlock("node-c")
            assert wait_job(client, job_id, timeout=60).status == job_pb2.JOB_STATUS_COMPLETE
            names = [
                e.name
                for e in events_until(
                    client,
                    lambda e: e.name == event_pb2.EVENT_NAME_UNLOCKED,
                    types=[event_pb2.EVENT_TYPE_HOST],
                )
            ]
            assert names == [
                event_pb2.EVENT_NAME_UP,
                event_pb2.EVENT_NAME_LOCKED,
                event_pb2.EVENT_NAME_UNLOCKED,
            ]
    finally:
        _stop(worker)
        server.stop()


def test_a_restarted_supervisor_lists_the_hosts_it_knew(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=1, env=FAST_HOSTS_ENV).start()
    worker = start_worker(server, "node-d", tmp_path / "d.log", *DECLARED)
    try:
        with Hosts(server) as hosts:
            hosts.wait("node-d", up)
            hosts.lock("node-d", reason="bad disk")
    finally:
        _stop(worker)
        server.stop(signal.SIGKILL)
    again = ServerProcess(tmp_path / "data", slots=1, env=FAST_HOSTS_ENV).start()
    try:
        with Hosts(again) as hosts:
            farm = hosts.list()
            assert sorted(farm) == ["node-d", "testhost"]
            node = farm["node-d"]
            assert down(node) and node.locked and node.lock_reason == f"bad disk (by {ADMIN})"
            assert (node.resources.cores, node.resources.memory_mb, list(node.groups)) == (
                8,
                16000,
                ["gpu", "fast"],
            )
            assert up(farm["testhost"]), "the local pool registered again"
    finally:
        again.stop()


def test_host_requests_are_checked(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=1, env=FAST_HOSTS_ENV).start()
    try:
        with Hosts(server, user="artist") as artist, Hosts(server) as admin:
            with pytest.raises(grpc.RpcError) as denied:
                artist.lock("testhost")
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "only admins" in (denied.value.details() or "")
            assert not artist.list()["testhost"].locked, "reading is open to all"

            with pytest.raises(grpc.RpcError) as missing:
                admin.control(names=["testhost"])
            assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "action" in (missing.value.details() or "")
            with pytest.raises(grpc.RpcError) as nameless:
                admin.lock()
            assert nameless.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "names" in (nameless.value.details() or "")
            with pytest.raises(grpc.RpcError) as unknown:
                admin.lock("testhost", "nope")
            assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
            assert "names[1]" in (unknown.value.details() or "")
            assert not admin.list()["testhost"].locked, "all or none"
            with pytest.raises(grpc.RpcError) as no_host:
                admin.get("nope")
            assert no_host.value.code() == grpc.StatusCode.NOT_FOUND
            with pytest.raises(grpc.RpcError) as empty:
                admin.get("")
            assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "name" in (empty.value.details() or "")

        refused = start_worker(
            server, "node-e", tmp_path / "e.log", "--property", "bad key=1", "--cluster", "x"
        )
        assert refused.wait(30) != 0
        log = (tmp_path / "e.log").read_text()
        assert "properties['bad key']" in log and "cluster" in log
    finally:
        server.stop()
