"""Shared event feeds: one upstream Subscribe for every dashboard that follows the same events.

Ten dashboards with a Subscribe each cost the supervisor ten streams, ten decodings and ten
encodings of every event. A :class:`Feed` follows the log once (``after_seq = -1`` with the
caught-up heartbeat, which tells the head it starts from) and keeps the recent SSE frames in a
bounded window; each client reads the window from its own position. Gapless, as Subscribe is:

- a client that starts at or after the feed's start reads only the window;
- a client that starts earlier (``Last-Event-ID`` of a reconnecting browser) first replays
  with a Subscribe of its own up to the moment it is caught up, which is at or after the
  feed's start, and then joins the window;
- a client that falls behind the window (its frames were dropped) goes back to a Subscribe of
  its own from its last seq, so a slow dashboard never costs the feed memory.

Which clients may share a feed: those who read the same events. Under ``visibility = "all"``
(and in open mode) every reader sees every event, so the key is the filter alone; under
``own`` it is the caller's credentials too.
"""

from __future__ import annotations

import asyncio
import contextlib
from bisect import bisect_right
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Hashable

import grpc

from latchwork.v1 import supervisor_pb2

WINDOW = 10_000
"""Frames a feed keeps for clients that lag a little."""

OpenStream = Callable[
    [supervisor_pb2.SubscribeRequest], AsyncIterable[supervisor_pb2.SubscribeResponse]
]
Encode = Callable[[supervisor_pb2.SubscribeResponse], bytes]


class FeedEnded(Exception):
    """The upstream stream ended (supervisor shutting down, connection lost): clients end too
    and their browsers reconnect with ``Last-Event-ID``."""


class Behind(Exception):
    """The client's next frames were already dropped from the window."""


class Feed:
    """One upstream Subscribe and a window of its recent frames, ``(seq, frame)``."""

    def __init__(self, request: supervisor_pb2.SubscribeRequest, window: int = WINDOW) -> None:
        self._request = request
        self._seqs: deque[int] = deque(maxlen=window)
        self._frames: deque[bytes] = deque(maxlen=window)
        self.start_seq = -1
        self._dropped_seq = 0
        self.position = -1
        """The newest seq the feed knows of (events and heartbeats)."""
        self.ended = False
        self.clients = 0
        self._advanced = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, open_stream: OpenStream, encode: Encode) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._follow(open_stream, encode))
        await self._ready.wait()
        if self.ended and self.start_seq < 0:
            raise FeedEnded

    async def _follow(self, open_stream: OpenStream, encode: Encode) -> None:
        request = supervisor_pb2.SubscribeRequest()
        request.CopyFrom(self._request)
        request.after_seq = -1
        request.caught_up_heartbeat = True
        call = open_stream(request)
        try:
            async for item in call:
                if item.HasField("heartbeat"):
                    self.position = max(self.position, item.heartbeat.head_seq)
                    if self.start_seq < 0:
                        self.start_seq = item.heartbeat.head_seq
                        self._ready.set()
                elif item.HasField("event"):
                    if len(self._seqs) == self._seqs.maxlen:
                        self._dropped_seq = self._seqs[0]
                    self._seqs.append(item.event.seq)
                    self._frames.append(encode(item))
                    self.position = max(self.position, item.event.seq)
                self._wake()
        except grpc.aio.AioRpcError:
            pass
        finally:
            cancel = getattr(call, "cancel", None)
            if cancel is not None:
                cancel()
            self.ended = True
            self._ready.set()
            self._wake()

    def _wake(self) -> None:
        self._advanced.set()
        self._advanced = asyncio.Event()

    def after(self, seq: int) -> list[tuple[int, bytes]]:
        """The frames after ``seq``; :class:`Behind` if some of them were dropped (or came
        before the feed began)."""
        if seq < self.start_seq or self._dropped_seq > seq:
            raise Behind
        start = bisect_right(self._seqs, seq)
        return [(self._seqs[i], self._frames[i]) for i in range(start, len(self._seqs))]

    async def wait(self, timeout: float) -> bool:
        """Wait for something new; False on timeout."""
        try:
            await asyncio.wait_for(self._advanced.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()


class Feeds:
    """The feeds by key, opened on demand and closed with their last client."""

    def __init__(self) -> None:
        self._feeds: dict[Hashable, Feed] = {}

    @contextlib.asynccontextmanager
    async def join(
        self,
        key: Hashable,
        request: supervisor_pb2.SubscribeRequest,
        open_stream: OpenStream,
        encode: Encode,
    ) -> AsyncIterator[Feed]:
        feed = self._feeds.get(key)
        if feed is None or feed.ended:
            feed = self._feeds[key] = Feed(request)
        feed.clients += 1
        try:
            await feed.start(open_stream, encode)
            yield feed
        finally:
            feed.clients -= 1
            if feed.clients == 0:
                feed.close()
                if self._feeds.get(key) is feed:
                    del self._feeds[key]
