"""A stand-in supervisor for the host and modify RPCs, served over real gRPC in this process.

The client side of issue 12 (``Client``/``AsyncClient`` methods, ``qb.hostinfo``/``qb.modify``,
``latchwork hosts|host|modify``) is tested against it: what the client sends (every request is
recorded) and how it shows what comes back, on a farm whose content the test knows exactly. The
real supervisor's behaviour is tested in ``tests/test_e2e_hosts_client.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from latchwork.v1 import host_pb2, supervisor_pb2, supervisor_pb2_grpc

KNOWN_JOBS = {12, 13, 14}
ALREADY_AS_ASKED = {13}  # ModifyJobs leaves these out of changed_job_ids
ADMIN = "wrangler"


def _stamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromSeconds(int(seconds))
    return stamp


def farm_hosts(now: float) -> dict[str, host_pb2.Host]:
    """Three hosts: the supervisor's pool, a busy GPU node seen 2 s ago, a lost locked one."""
    registered = _stamp(now - 3600)
    return {
        "head": host_pb2.Host(
            name="head",
            state=host_pb2.HOST_STATE_UP,
            resources=host_pb2.HostResources(
                cores=8, memory_mb=16384, gpus=0, os="linux", arch="x86_64"
            ),
            slots=2,
            registered=registered,
            local=True,
        ),
        "node07": host_pb2.Host(
            name="node07",
            state=host_pb2.HOST_STATE_UP,
            resources=host_pb2.HostResources(
                cores=16, memory_mb=65536, gpus=2, os="linux", arch="x86_64"
            ),
            properties={"renderer": "arnold"},
            groups=["gpu", "big"],
            cluster="/farm/a",
            slots=4,
            slots_in_use=1,
            memory_mb_in_use=4096,
            registered=registered,
            last_heartbeat=_stamp(now - 2),
        ),
        "node08": host_pb2.Host(
            name="node08",
            state=host_pb2.HOST_STATE_DOWN,
            locked=True,
            lock_reason="disk full (by alice)",
            resources=host_pb2.HostResources(
                cores=8, memory_mb=32768, gpus=0, os="linux", arch="x86_64"
            ),
            groups=["cpu"],
            cluster="/farm/b",
            restrictions="/show/*",
            slots=4,
            registered=registered,
            last_heartbeat=_stamp(now - 300),
        ),
    }


RUNNING = {"node07": ["12:7"]}


class FakeFarm(supervisor_pb2_grpc.SupervisorServiceServicer):
    """ListHosts, GetHost, ControlHosts (admin: the user ``wrangler``) and ModifyJobs; the
    methods keep the RPCs' names, as the generated servicer does."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.locked: dict[str, str] = {"node08": "disk full (by alice)"}

    def _hosts(self) -> dict[str, host_pb2.Host]:
        hosts = farm_hosts(time.time())
        for name, host in hosts.items():
            host.locked = name in self.locked
            host.lock_reason = self.locked.get(name, "")
        return hosts

    def ListHosts(self, request: Any, context: Any) -> Any:
        self.requests.append(("ListHosts", request))
        hosts = self._hosts()
        return supervisor_pb2.ListHostsResponse(
            hosts=[h for n, h in sorted(hosts.items()) if not request.names or n in request.names],
            resources=[host_pb2.GlobalResource(name="nuke", limit=10, in_use=1)],
        )

    def GetHost(self, request: Any, context: Any) -> Any:
        self.requests.append(("GetHost", request))
        hosts = self._hosts()
        if request.name not in hosts:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no host {request.name!r}")
        return supervisor_pb2.GetHostResponse(
            host=hosts[request.name], running=RUNNING.get(request.name, [])
        )

    def ControlHosts(self, request: Any, context: Any) -> Any:
        self.requests.append(("ControlHosts", request))
        user = dict(context.invocation_metadata()).get("latchwork-user")
        if user != ADMIN:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"{user} is not an admin")
        unknown = [n for n in request.names if n not in self._hosts()]
        if unknown:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no host {unknown[0]!r}")
        lock = request.action == supervisor_pb2.HOST_ACTION_LOCK
        results = []
        for name in request.names:
            changed = (name in self.locked) != lock
            if lock:  # the reason names who locked it, as the supervisor's does
                why = f"{request.reason} (by {user})" if request.reason else f"by {user}"
                self.locked.setdefault(name, why)
            else:
                self.locked.pop(name, None)
            results.append(supervisor_pb2.HostControlResult(name=name, changed=changed))
        return supervisor_pb2.ControlHostsResponse(results=results, seq=7)

    def ModifyJobs(self, request: Any, context: Any) -> Any:
        self.requests.append(("ModifyJobs", request))
        unknown = [(i, j) for i, j in enumerate(request.job_ids) if j not in KNOWN_JOBS]
        if unknown:  # as the supervisor says it: a bad request, all or none
            index, job_id = unknown[0]
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"job_ids[{index}]: job {job_id} does not exist"
            )
        changed = [j for j in request.job_ids if j not in ALREADY_AS_ASKED]
        return supervisor_pb2.ModifyJobsResponse(changed_job_ids=changed, seq=9)


@contextmanager
def serve_fake_farm() -> Iterator[tuple[str, FakeFarm]]:
    """The farm's address ("127.0.0.1:PORT") and the servicer, for the ``with`` block."""
    farm = FakeFarm()  # type: ignore[abstract]  # the other RPCs answer UNIMPLEMENTED
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    supervisor_pb2_grpc.add_SupervisorServiceServicer_to_server(farm, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", farm
    finally:
        server.stop(0)
