"""A supervisor that moves between two addresses, as a takeover looks to its clients.

A standby supervisor does not listen on its gRPC address until it takes over, so a client
given "A,B" sees a takeover as "nothing answers at A any more, B answers". Two supervisors on one
SQLite data directory are refused, so the move is simulated by stopping the supervisor at one
address and starting another at the other address on the same data directory.
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from .serverproc import ServerProcess


def free_addresses(count: int) -> list[str]:
    """``count`` distinct local addresses where nothing listens (yet)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [f"127.0.0.1:{probe.getsockname()[1]}" for probe in probes]
    finally:
        for probe in probes:
            probe.close()


class MovingSupervisor:
    """One data directory, served at one of two addresses at a time: ``move`` stops the
    supervisor where it is and starts one at the other address (a takeover)."""

    def __init__(
        self, tmp: Path, first: int, *, slots: int = 2, env: dict[str, str] | None = None
    ) -> None:
        self.tmp = tmp
        self.addresses = free_addresses(2)
        self.at = first
        self.slots = slots
        self.env = env
        self.server = self._start()

    def _start(self) -> ServerProcess:
        listen = ["--listen", self.addresses[self.at]]
        return ServerProcess(
            self.tmp / "data", slots=self.slots, extra=listen, env=self.env
        ).start()

    def move(self, sig: int = signal.SIGTERM) -> None:
        self.server.stop(sig)
        self.at = 1 - self.at
        self.server = self._start()

    def close(self) -> None:
        self.server.stop()
