"""``GET /api/events``: the event stream as server-sent events, from Subscribe (in process:
:mod:`.local_events`).

Each event goes out as ``id: <seq>``, ``event: lw``, ``data: <Event JSON>``. A browser's
EventSource reconnects by itself with ``Last-Event-ID``: the stream then resumes after that
seq, so nothing is missed or repeated. ``?after_seq=N`` starts after N (default: only new
events). Subscribe's heartbeats become ``: keepalive`` comments (every 15 s by default,
``?keepalive=S``) so proxies keep an idle stream open and a dead client is noticed. When the
events after the cursor are no longer kept (Subscribe's OUT_OF_RANGE), one ``event: gap`` with
``{"oldest_seq": N}`` ends the stream: the page must reload what it shows.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Hashable

from aiohttp import web

from latchwork.v1 import supervisor_pb2

from ..core.errors import OutOfRange, SupervisorError
from .errors import from_supervisor, invalid
from .feeds import Behind, Feed, FeedEnded, Feeds, Head, OpenStream, StreamItem
from .json_bodies import int_param
from .local_events import LocalEvents, sse_frame
from .sessions import CALLER_KEY

__all__ = ["EVENTS", "FEEDS", "SHARED_READS", "Feeds", "events"]

KEEPALIVE_SECONDS = 15
_OLDEST = re.compile(r"oldest is (\d+)")

EVENTS: web.AppKey[LocalEvents] = web.AppKey("sse_events", LocalEvents)


def _start_seq(request: web.Request) -> int:
    resume = request.headers.get("Last-Event-ID", "").strip()
    if resume:
        if not resume.isdigit():
            raise invalid("Last-Event-ID", f"an event seq, not {resume[:40]!r}")
        return int(resume)
    return int_param(request.query, "after_seq", -1, minimum=-1)


FEEDS: web.AppKey[Feeds] = web.AppKey("sse_feeds", Feeds)
SHARED_READS: web.AppKey[bool] = web.AppKey("sse_shared_reads", bool)
"""True when every reader sees every event (``visibility = "all"``, or open mode): then all
dashboards with the same filter share one feed."""


async def events(request: web.Request) -> web.StreamResponse:
    query = request.query
    job_id = int_param(query, "job", 0, minimum=0)
    pgrp = int_param(query, "pgrp", 0, minimum=0)
    keepalive = int_param(query, "keepalive", KEEPALIVE_SECONDS, minimum=1, maximum=60)
    start = _start_seq(request)
    wanted = supervisor_pb2.SubscribeRequest(
        job_ids=[job_id] if job_id else [],
        pgrps=[pgrp] if pgrp else [],
        heartbeat_seconds=keepalive,
    )
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    caller = request[CALLER_KEY]
    local = request.app[EVENTS]

    def open_stream(subscribe: supervisor_pb2.SubscribeRequest) -> AsyncIterator[StreamItem]:
        return local.stream(caller, subscribe)

    shared = request.app[SHARED_READS]
    key: Hashable = (job_id, pgrp) if shared else (caller.user, caller.admin, job_id, pgrp)
    try:
        await response.write(b"retry: 2000\n\n")
        async with request.app[FEEDS].join(key, wanted, open_stream) as feed:
            cursor = start if start >= 0 else feed.position
            if cursor > feed.position:
                # Ahead of the feed: Subscribe itself says whether that is beyond the head.
                cursor = await _replay(response, open_stream, wanted, cursor)
            while True:
                try:
                    batch = feed.after(cursor)
                except Behind:
                    cursor = await _replay(response, open_stream, wanted, cursor)
                    continue
                if batch:
                    # One write for all that came since the last.
                    await response.write(b"".join(frame for _, frame in batch))
                    cursor = batch[-1][0]
                    continue
                if feed.ended:
                    break  # the browser reconnects with Last-Event-ID
                cursor = await _follow(feed, response, request.transport, cursor, keepalive)
    except FeedEnded:
        pass
    except OutOfRange as error:
        oldest = _OLDEST.search(str(error))
        gap = {"oldest_seq": int(oldest.group(1)) if oldest else 0, "message": str(error)}
        await response.write(sse_frame("gap", gap))
    except SupervisorError as error:
        await response.write(sse_frame("error", from_supervisor(error).body()))
    except (ConnectionResetError, ConnectionError):
        pass  # the browser went away
    return response


async def _follow(
    feed: Feed,
    response: web.StreamResponse,
    transport: asyncio.Transport | None,
    cursor: int,
    keepalive: int,
) -> int:
    """Let the feed write to this caught-up client until it lets go; the seq it got to."""

    def backlog() -> int:
        return transport.get_write_buffer_size() if transport is not None else 0

    follower = feed.follow(cursor, response.write, backlog)
    try:
        while not await follower.wait_released(keepalive):
            await response.write(b": keepalive\n\n")
    finally:
        feed.unfollow(follower)
    return follower.cursor


async def _replay(
    response: web.StreamResponse,
    open_stream: OpenStream,
    wanted: supervisor_pb2.SubscribeRequest,
    cursor: int,
) -> int:
    """Send the events after ``cursor`` with a Subscribe of this client's own, until it has
    caught up with the log; the seq it caught up at (the shared feed goes on from there)."""
    subscribe = supervisor_pb2.SubscribeRequest()
    subscribe.CopyFrom(wanted)
    subscribe.after_seq = cursor
    subscribe.caught_up_heartbeat = True
    stream = open_stream(subscribe)
    try:
        async for item in stream:
            if isinstance(item, Head):
                return max(cursor, item.seq)
            await response.write(item[1])
            cursor = item[0]
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    raise FeedEnded
