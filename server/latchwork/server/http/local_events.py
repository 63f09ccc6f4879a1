"""Subscribe in process: the event stream the dashboard's SSE feeds read, without a gRPC hop.

Every other HTTP handler but the overview (:mod:`.local_overview`) calls the gRPC API over
the private socket (:mod:`.bridge`). The event stream does not: through the socket every event
was encoded by the server, carried, decoded by the HTTP side and turned into JSON, all in the
supervisor's one event loop and in the middle of the work the events report
(docs/benchmarks.md, dashboard load). Here the feed runs the very generator
``SupervisorService.Subscribe`` runs (:func:`..api.subscribe.subscription`), with the same
request checks and the same read scope, taken from the caller the HTTP side has authenticated
(:mod:`.sessions`, which refuses what the gRPC interceptor refuses: unknown tokens, worker
tokens). What differs is only the encoding: an event becomes its SSE frame once, whoever reads
it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from latchwork.v1 import supervisor_pb2

from ..api.checks import check_subscribe
from ..api.subscribe import subscription
from ..core.errors import InvalidRequest
from ..core.events import Event
from ..core.visibility import ReadPolicy
from ..supervisor import Supervisor
from .event_json import event_json
from .feeds import Head, StreamItem
from .sessions import Caller, read_scope

GATHER_SECONDS = 0.05
"""How long new events gather before a stream reads them: the feed wakes once per batch, not
once per event in the middle of the supervisor's chains of events (a dependency's complete →
unblocked → running), and a dashboard sees an event at most this much later."""
FRAME_CACHE_SIZE = 4096
"""Recent events' SSE frames kept for readers that replay (a reconnecting browser)."""


def sse_frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    """One server-sent event: ``id`` (when given), ``event`` and one line of JSON ``data``."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, separators=(",", ":"))
    return f"{head}event: {event}\ndata: {body}\n\n".encode()


class LocalEvents:
    """Subscribe streams of SSE frames for authenticated HTTP callers."""

    def __init__(
        self, supervisor: Supervisor, read_policy: ReadPolicy, heartbeat_seconds: int
    ) -> None:
        self._supervisor = supervisor
        self._read_policy = read_policy
        self._heartbeat_seconds = heartbeat_seconds
        self._frames: OrderedDict[int, tuple[int, bytes]] = OrderedDict()
        self._readers: set[asyncio.Task[Any]] = set()
        self._closed = False

    def frame(self, event: Event) -> tuple[int, bytes]:
        """``(seq, frame)`` of ``event``: the same bytes for every reader (visibility decides
        who receives an event, never what it says), so it is made once."""
        cached = self._frames.get(event.seq)
        if cached is None:
            cached = (event.seq, sse_frame("lw", event_json(event), event.seq))
            self._frames[event.seq] = cached
            if len(self._frames) > FRAME_CACHE_SIZE:
                self._frames.popitem(last=False)
        return cached

    async def stream(
        self, caller: Caller, request: supervisor_pb2.SubscribeRequest
    ) -> AsyncIterator[StreamItem]:
        """What ``caller``'s Subscribe with ``request`` would stream: events as frames, and
        heartbeats as :class:`.feeds.Head`. Raises the supervisor's errors (InvalidRequest,
        OutOfRange) as Subscribe would."""
        if errors := check_subscribe(request):
            raise InvalidRequest(errors)
        reader = asyncio.current_task()
        if self._closed or reader is None:
            return  # the supervisor is stopping: the stream ends at once, as over gRPC
        scope = read_scope(self._read_policy, caller)
        messages = subscription(
            self._supervisor,
            request,
            heartbeat_seconds=self._heartbeat_seconds,
            encode=self.frame,
            scope=scope,
            gather_seconds=GATHER_SECONDS,
        )
        self._readers.add(reader)
        try:
            async with contextlib.aclosing(messages):  # (the subscriber count goes down now)
                async for message in messages:
                    if isinstance(message, tuple):
                        yield message
                    elif message.HasField("heartbeat"):
                        yield Head(message.heartbeat.head_seq)
        finally:
            self._readers.discard(reader)

    def close(self) -> None:
        """End every stream (the supervisor stops): the tasks reading them are cancelled, so a
        dashboard's open stream does not hold the stop."""
        self._closed = True
        for reader in list(self._readers):
            reader.cancel()
