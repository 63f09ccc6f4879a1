"""A farm for host tests: ``latchwork worker`` processes with declared resources, and the host
RPCs called as a named user (the supervisor's admins are named in ``LATCHWORK_ADMIN_USERS``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from latchwork.v1 import host_pb2, supervisor_pb2, supervisor_pb2_grpc

from .serverproc import ServerProcess

ADMIN = "wrangler"
FAST_HOSTS_ENV = {"LATCHWORK_ADMIN_USERS": ADMIN, "LATCHWORK_HEARTBEAT_SECONDS": "1"}
"""Heartbeats every second: a killed worker is found lost after 3."""


def start_worker(
    server: ServerProcess, host: str, log_path: Path, *flags: str, slots: int = 1
) -> subprocess.Popen[bytes]:
    """``latchwork worker --host HOST --slots N FLAGS...`` for ``server``."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "latchwork.client.cli", "worker"),
                *("--supervisor", server.address, "--slots", str(slots), "--host", host),
                *flags,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=dict(os.environ),
        )


class Hosts:
    """The host RPCs of one supervisor, called as ``user``."""

    def __init__(self, server: ServerProcess, user: str = ADMIN) -> None:
        self._channel = grpc.insecure_channel(server.address)
        self._stub = supervisor_pb2_grpc.SupervisorServiceStub(self._channel)
        self._metadata = (("latchwork-user", user),)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Hosts:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def list(self, *names: str) -> dict[str, host_pb2.Host]:
        reply = self._stub.ListHosts(
            supervisor_pb2.ListHostsRequest(names=names), metadata=self._metadata, timeout=10
        )
        return {host.name: host for host in reply.hosts}

    def get(self, name: str) -> supervisor_pb2.GetHostResponse:
        return self._stub.GetHost(
            supervisor_pb2.GetHostRequest(name=name), metadata=self._metadata, timeout=10
        )

    def control(self, **fields: Any) -> supervisor_pb2.ControlHostsResponse:
        return self._stub.ControlHosts(
            supervisor_pb2.ControlHostsRequest(**fields), metadata=self._metadata, timeout=10
        )

    def lock(self, *names: str, reason: str = "") -> supervisor_pb2.ControlHostsResponse:
        return self.control(action=supervisor_pb2.HOST_ACTION_LOCK, names=names, reason=reason)

    def unlock(self, *names: str) -> supervisor_pb2.ControlHostsResponse:
        return self.control(action=supervisor_pb2.HOST_ACTION_UNLOCK, names=names)

    def wait(
        self, name: str, holds: Callable[[host_pb2.Host], bool], timeout: float = 30.0
    ) -> host_pb2.Host:
        """The host once ``holds`` is true of it (AssertionError at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            host = self.list().get(name)
            if host is not None and holds(host):
                return host
            if time.monotonic() > deadline:
                raise AssertionError(f"host {name}: never as expected; last seen {host}")
            time.sleep(0.1)


def up(host: host_pb2.Host) -> bool:
    return host.state == host_pb2.HOST_STATE_UP


def down(host: host_pb2.Host) -> bool:
    return host.state == host_pb2.HOST_STATE_DOWN
