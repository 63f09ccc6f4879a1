"""``GET /api/events``: the event stream as server-sent events, from Subscribe.

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
import json
import re
from collections import OrderedDict
from collections.abc import AsyncIterable, Callable, Hashable
from typing import Any

import grpc
from aiohttp import web

from latchwork.v1 import event_pb2, supervisor_pb2

from .calls import metadata, stub
from .errors import from_grpc, invalid
from .feeds import Behind, Feed, FeedEnded, Feeds, OpenStream

__all__ = ["FEEDS", "FRAMES", "SHARED_READS", "Feeds", "events"]
from .json_bodies import int_param, to_json

KEEPALIVE_SECONDS = 15
_OLDEST = re.compile(r"oldest is (\d+)")


def _frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, separators=(",", ":"))
    return f"{head}event: {event}\ndata: {body}\n\n".encode()


class FrameCache:
    """The SSE frames of recent events, by seq. An event reads the same for every reader
    (visibility only decides who receives it), so ten dashboards encode it once, not ten times.
    One per application: seqs are one supervisor's."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._frames: OrderedDict[int, bytes] = OrderedDict()

    def frame(self, event: event_pb2.Event) -> bytes:
        cached = self._frames.get(event.seq)
        if cached is None:
            cached = _frame("lw", to_json(event), event.seq)
            self._frames[event.seq] = cached
            if len(self._frames) > self._size:
                self._frames.popitem(last=False)
        return cached


FRAMES: web.AppKey[FrameCache] = web.AppKey("sse_frames", FrameCache)


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
    md = metadata(request)
    service = stub(request)
    frames = request.app[FRAMES]

    def open_stream(
        subscribe: supervisor_pb2.SubscribeRequest,
    ) -> AsyncIterable[supervisor_pb2.SubscribeResponse]:
        return service.Subscribe(subscribe, metadata=md)

    def encode(item: supervisor_pb2.SubscribeResponse) -> bytes:
        return frames.frame(item.event)

    key: Hashable = (job_id, pgrp) if request.app[SHARED_READS] else (md, job_id, pgrp)
    try:
        await response.write(b"retry: 2000\n\n")
        async with request.app[FEEDS].join(key, wanted, open_stream, encode) as feed:
            cursor = start if start >= 0 else feed.position
            while True:
                try:
                    batch = feed.after(cursor)
                except Behind:
                    cursor = await _replay(response, open_stream, encode, wanted, cursor)
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
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.OUT_OF_RANGE:
            oldest = _OLDEST.search(error.details() or "")
            gap = {"oldest_seq": int(oldest.group(1)) if oldest else 0, "message": error.details()}
            await response.write(_frame("gap", gap))
        elif error.code() != grpc.StatusCode.CANCELLED:
            await response.write(_frame("error", from_grpc(error).body()))
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
    encode: Callable[[supervisor_pb2.SubscribeResponse], bytes],
    wanted: supervisor_pb2.SubscribeRequest,
    cursor: int,
) -> int:
    """Send the events after ``cursor`` with a Subscribe of this client's own, until it has
    caught up with the log; the seq it caught up at (the shared feed goes on from there)."""
    subscribe = supervisor_pb2.SubscribeRequest()
    subscribe.CopyFrom(wanted)
    subscribe.after_seq = cursor
    subscribe.caught_up_heartbeat = True
    call = open_stream(subscribe)
    try:
        async for item in call:
            if item.HasField("heartbeat"):
                return max(cursor, item.heartbeat.head_seq)
            if item.HasField("event"):
                await response.write(encode(item))
                cursor = item.event.seq
    finally:
        cancel = getattr(call, "cancel", None)
        if cancel is not None:
            cancel()
    raise FeedEnded
