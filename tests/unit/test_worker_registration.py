"""A worker's registration (issue 12, item 6): it claims the leases it holds, keeps those the
supervisor re-attaches, drops the others (their frames are killed), and registers once when
several of its calls find at once that the supervisor no longer knows it."""

from __future__ import annotations

import asyncio
from typing import Any

from latchwork.server.host_registry import HostInfo
from latchwork.v1 import worker_pb2
from latchwork.worker.registration import Registration


class Supervisor:
    """RegisterWorker only: keeps the claimed leases named in ``keep``."""

    address = "here:1"

    def __init__(self, keep: set[str]) -> None:
        self.keep = keep
        self.requests: list[worker_pb2.RegisterWorkerRequest] = []

    async def RegisterWorker(
        self, request: worker_pb2.RegisterWorkerRequest, **_: Any
    ) -> worker_pb2.RegisterWorkerResponse:
        self.requests.append(request)
        await asyncio.sleep(0.01)
        return worker_pb2.RegisterWorkerResponse(
            worker_id=f"w{len(self.requests)}",
            heartbeat_seconds=1,
            kept_lease_ids=[lease for lease in request.lease_ids if lease in self.keep],
        )


def registration(dropped: list[str]) -> Registration:
    return Registration("here:1", HostInfo("r1", 2), (), dropped.append)


async def test_it_claims_what_it_holds_and_drops_what_is_not_kept() -> None:
    dropped: list[str] = []
    reg = registration(dropped)
    supervisor = Supervisor(keep={"a"})
    await reg.register(supervisor)  # type: ignore[arg-type]
    assert (reg.worker_id, reg.count, list(supervisor.requests[0].lease_ids)) == ("w1", 1, [])
    reg.held.update({"a", "b"})  # running, or ended and not yet reported
    await reg.register_again(supervisor, seen=1)  # type: ignore[arg-type]
    assert list(supervisor.requests[1].lease_ids) == ["a", "b"]
    assert (reg.worker_id, reg.held, dropped) == ("w2", {"a"}, ["b"])


async def test_calls_refused_at_once_register_once() -> None:
    reg = registration([])
    supervisor = Supervisor(keep=set())
    await reg.register(supervisor)  # type: ignore[arg-type]
    seen = reg.count
    await asyncio.gather(*(reg.register_again(supervisor, seen) for _ in range(5)))  # type: ignore[arg-type]
    assert (len(supervisor.requests), reg.count) == (2, 2)


async def test_a_backoff_ends_at_the_next_registration() -> None:
    """A report waiting out a long backoff goes as soon as the worker registers again (the
    supervisor is back), and says so; without a registration it waits the whole time."""
    reg = registration([])
    supervisor = Supervisor(keep=set())
    await reg.register(supervisor)  # type: ignore[arg-type]
    seen = reg.count
    waiting = asyncio.ensure_future(reg.backoff(60.0, seen))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await reg.register_again(supervisor, seen)  # type: ignore[arg-type]
    assert await asyncio.wait_for(waiting, 5) is True  # long before its 60 s
    assert await reg.backoff(60.0, seen) is True  # already registered since: no wait at all
    assert await reg.backoff(0.05, reg.count) is False  # no registration: the full wait
