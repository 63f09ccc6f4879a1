"""The worker's registration with its supervisor, and the leases it holds.

A worker registers more than once in its life: at start, and each time the supervisor no longer
knows it — the supervisor restarted (kill -9, SIGTERM, an upgrade) or found it lost. Frames run
on meanwhile, so a registration names every lease the worker still holds (running, or ended
and not yet reported) and the supervisor answers which it may keep (issue 12, item 6): the
kept ones go on as before (output uploaded, end reported), the frames of the others are killed,
since their work was taken back and may run elsewhere. Asking which to *keep* rather than
which to drop is the safe default: a supervisor that does not know re-attaching answers none,
and the worker kills what that supervisor requeued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import grpc

from latchwork.server.host_registry import HostInfo
from latchwork.server.startup import StartupError
from latchwork.v1 import host_pb2, worker_pb2

if TYPE_CHECKING:
    from .supervisor_link import SupervisorLink

log = logging.getLogger(__name__)

Metadata = tuple[tuple[str, str], ...]
_REFUSALS = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
    }
)


class Registration:
    """The worker's id and heartbeat period, the leases it holds, and how to register again."""

    def __init__(
        self,
        address: str,
        info: HostInfo,
        metadata: Metadata,
        drop: Callable[[str], None],
        retry_seconds: float = 1.0,
    ) -> None:
        """``drop``: called with each lease the supervisor did not let the worker keep (the
        worker kills its frame)."""
        self.address = address  # every address the supervisor may answer at
        self.info = info
        self.worker_id = ""
        self.heartbeat_seconds = 5
        self.count = 0  # registrations so far: each gives a new worker id
        # Every lease from its grant until its report is stored or refused.
        self.held: set[str] = set()
        self._metadata = metadata
        self._drop = drop
        self._retry_seconds = retry_seconds
        self._lock = asyncio.Lock()
        # Set, then replaced, at each registration: wakes the retries waiting out a backoff.
        self._registered = asyncio.Event()

    async def register(self, stub: SupervisorLink) -> None:
        """Register, trying until the supervisor answers, asking to keep the leases held."""
        while True:
            claimed = sorted(self.held)
            request = register_request(self.info)
            request.lease_ids.extend(claimed)
            try:
                response = await stub.RegisterWorker(request, metadata=self._metadata)
                break
            except grpc.aio.AioRpcError as error:
                if error.code() in _REFUSALS:
                    # What this host declares is wrong, or its token (LATCHWORK_TOKEN) is
                    # missing or not a worker's: trying again cannot help.
                    raise StartupError(f"the supervisor refused: {error.details()}") from None
                log.warning("cannot register with %s: %s", stub.address, error.details())
                await asyncio.sleep(self._retry_seconds)
        self.worker_id = response.worker_id
        self.heartbeat_seconds = max(response.heartbeat_seconds, 1)
        self.count += 1
        self._registered.set()
        self._registered = asyncio.Event()
        kept = set(response.kept_lease_ids)
        dropped = [lease for lease in claimed if lease not in kept]
        for lease_id in dropped:
            # Taken back while the supervisor could not reach this worker: it runs elsewhere.
            self.held.discard(lease_id)
            self._drop(lease_id)
        log.info(
            "registered with %s as %s (re-attached %d leases, dropped %d)",
            stub.address,  # the one of the supervisor's addresses that answered
            self.worker_id,
            len(kept),
            len(dropped),
        )

    async def backoff(self, seconds: float, seen: int) -> bool:
        """Wait up to ``seconds``, less if the worker registers after registration number
        ``seen``; True if it did. A registration means the supervisor answers again (back
        from a restart, say): a report or upload waiting out a backoff of up to 5 s then goes
        at once, rather than holding its slot while the supervisor could already take it."""
        if self.count != seen:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._registered.wait(), seconds)
        return self.count != seen

    async def register_again(self, stub: SupervisorLink, seen: int) -> None:
        """Register again, unless that happened since registration number ``seen`` (when the
        caller's refused call went out): the heartbeats, the lease loop and every report may
        find at once that the supervisor no longer knows this worker."""
        async with self._lock:
            if self.count == seen:
                await self.register(stub)


def register_request(info: HostInfo) -> worker_pb2.RegisterWorkerRequest:
    """The registration that declares ``info``."""
    resources = info.resources
    return worker_pb2.RegisterWorkerRequest(
        host=info.name,
        slots=info.slots,
        resources=host_pb2.HostResources(
            cores=resources.cores,
            memory_mb=resources.memory_mb,
            gpus=resources.gpus,
            os=resources.os,
            arch=resources.arch,
        ),
        properties=dict(info.properties),
        groups=list(info.groups),
        cluster=info.cluster,
        restrictions=info.restrictions,
    )
