"""Each language's example given several addresses, as for a leader and its standbys (issue 16).

A standby does not listen on its gRPC address until it takes over, so for a client a failover is
"the supervisor at this address went away; another address answers now". Two supervisors may
not share one SQLite data directory at once, so a takeover is simulated: the supervisor serving on
address A is stopped mid-stream and started again on address B with the same data directory,
while the example was given both addresses. The example must move over by itself and finish
with no gap and no duplicate in its events. A leader that hangs (``SIGSTOP``) is a real
takeover, by a standby on PostgreSQL.
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path
from typing import Any

import pytest

from latchwork.client import Client
from latchwork.v1 import job_pb2
from tests.language_clients.example_run import LANGUAGES, check_example, run_example
from tests.serverproc import ServerProcess
from tests.standby_proc import Serve


def free_address() -> str:
    """A loopback address nothing listens on (the port is free when this returns)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("stop", "order"),
    [(signal.SIGKILL, "A,B"), (signal.SIGTERM, "B,A")],
    ids=["kill9-A,B", "sigterm-B,A"],
)
def test_example_follows_the_supervisor_to_the_next_address(
    language: str, stop: signal.Signals, order: str, tmp_path: Path
) -> None:
    """kill -9 (or SIGTERM) of the supervisor on A while A's first frame runs, then the same
    data directory served on B. With "B,A" the example's first address answers nothing at the
    start (its Submit moves to A) and is the one that answers after the move."""
    first = ServerProcess(tmp_path / "data").start()
    addresses = {"A": first.address, "B": free_address()}
    servers = [first]

    def move(event: dict[str, Any]) -> None:
        if len(servers) == 1 and (event["type"], event["name"]) == ("work", "running"):
            servers[0].stop(stop)
            extra = ["--listen", addresses["B"]]
            servers.append(ServerProcess(tmp_path / "data", extra=extra).start())

    listed = ",".join(addresses[name] for name in order.split(","))
    try:
        run = run_example(language, listed, on_event=move)
    finally:
        servers[-1].stop()
    assert len(servers) == 2, "the supervisor never moved"
    assert servers[1].address == addresses["B"]
    check_example(run)  # finished after A was gone: B served the rest, gapless, no duplicate


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_skips_an_address_where_nothing_listens(
    language: str, server: ServerProcess
) -> None:
    nowhere = free_address()
    run = run_example(language, f"{nowhere},{server.address}")
    check_example(run)
    with Client(server.address, user="example") as lw:  # the jobs are on the second address
        assert lw.get_job(run.submitted["B"]).status == job_pb2.JOB_STATUS_COMPLETE


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_leaves_a_hung_leader_for_the_standby(
    language: str, tmp_path: Path, postgres_url: str
) -> None:
    """A leader and a standby on one PostgreSQL database. The leader is stopped (``SIGSTOP``)
    while A's first frame runs: it keeps its connections open and answers nothing, so only
    keepalive pings can tell the example's client that it is gone. The standby takes over and
    the example, given both addresses, finishes there, gapless, with no duplicate."""
    leader = Serve.on_database(tmp_path, "leader", postgres_url, lease=1.0, slots=2)
    standby: Serve | None = None
    stopped: list[bool] = []
    try:
        leader.wait_for("serving on")
        standby = Serve.on_database(tmp_path, "standby", postgres_url, lease=1.0, slots=2)
        standby.wait_for("standby;")

        def hang(event: dict[str, Any]) -> None:
            if not stopped and (event["type"], event["name"]) == ("work", "running"):
                leader.process.send_signal(signal.SIGSTOP)
                stopped.append(True)

        run = run_example(language, f"{leader.address},{standby.address}", on_event=hang)
    finally:
        leader.stop()  # (woken first: it finds itself deposed and stops)
        if standby is not None:
            standby.stop()
    assert stopped, "the leader was never stopped"
    check_example(run)  # finished on the standby, which ran A's frame again
