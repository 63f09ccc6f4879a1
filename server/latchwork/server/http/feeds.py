"""Shared event feeds: one upstream Subscribe for every dashboard that follows the same events.

Ten dashboards with a Subscribe each cost the supervisor ten streams and ten encodings of
every event. A :class:`Feed` follows the log once, in process (:mod:`.local_events`), from
``after_seq = -1`` with the caught-up heartbeat, which tells the head it starts from, and keeps
the recent SSE frames in a bounded window; each client reads the window from its own
position. Gapless, as Subscribe is:

- a client that starts at or after the feed's start reads only the window;
- a client that starts earlier (``Last-Event-ID`` of a reconnecting browser) first replays
  with a Subscribe of its own up to the moment it is caught up, which is at or after the
  feed's start, and then joins the window;
- a client that falls behind the window (its frames were dropped) goes back to a Subscribe of
  its own from its last seq, so a slow dashboard never costs the feed memory.

Once a client has caught up it **follows** the feed: the feed itself writes the new frames to
every follower, each batch the upstream gives (it gathers events for
:data:`~.local_events.GATHER_SECONDS`) in one write per dashboard, with no task switch per
client (waking ten client tasks per event cost the supervisor's loop more than the writes,
and a write per event and dashboard more than the events' own work). A dashboard sees an
event at most that much later; the supervisor's own work is not kept waiting behind ten
dashboards' writes at every event.
A follower whose socket does not take the frames at once (more than :data:`BACKLOG_BYTES`
waiting) is let go: its own task goes on from its last seq through the window or a replay.

Which clients may share a feed: those who read the same events. Under ``visibility = "all"``
(and in open mode) every reader sees every event, so the key is the filter alone; under
``own`` it is the caller's credentials too.
"""

from __future__ import annotations

import asyncio
import contextlib
from bisect import bisect_right
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TypeAlias

from latchwork.v1 import supervisor_pb2

from ..core.errors import SupervisorError
from .idle_turns import IdleSteps

WINDOW = 10_000
"""Frames a feed keeps for clients that lag a little."""
FLUSH_SECONDS = 0.005
"""How long new frames wait before the feed writes them to its followers. The upstream gathers
events into batches; this is the time for a batch to be read in, one event per idle turn of the
loop, so that it goes out in one write per follower."""
BUSY_RETRY_SECONDS = 0.005
"""When the previous batch's writes are still going on, how soon to look again."""
BACKLOG_BYTES = 64 * 1024
"""Bytes waiting in a follower's socket beyond which the feed stops writing to it."""


@dataclass(frozen=True, slots=True)
class Head:
    """A Subscribe heartbeat: the log's head when it was sent (the caught-up one tells where a
    stream from ``after_seq = -1`` starts)."""

    seq: int


EventFrame: TypeAlias = tuple[int, bytes]
"""An event as the stream gives it: its seq and its SSE frame."""
StreamItem: TypeAlias = EventFrame | Head
OpenStream = Callable[[supervisor_pb2.SubscribeRequest], AsyncIterable[StreamItem]]
"""Opens a Subscribe (:mod:`.local_events`); raises the supervisor's errors as Subscribe does."""


class FeedEnded(Exception):
    """The upstream stream ended (supervisor shutting down, connection lost): clients end too
    and their browsers reconnect with ``Last-Event-ID``."""


class Behind(Exception):
    """The client's next frames were already dropped from the window."""


class Follower:
    """A caught-up client the feed writes to: ``send`` writes a frame (it must not wait for a
    slow reader: the feed checks ``backlog``, the bytes not yet taken by the socket, first)."""

    def __init__(
        self, cursor: int, send: Callable[[bytes], Awaitable[None]], backlog: Callable[[], int]
    ) -> None:
        self.cursor = cursor
        self._send = send
        self._backlog = backlog
        self.released: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done when the feed lets the client go (slow, ended, or a failed write)."""

    async def deliver(self, frames: list[tuple[int, bytes]]) -> None:
        """Write the ``(seq, frame)`` this client has not had yet, in one write."""
        if self.released.done() or not frames or frames[-1][0] <= self.cursor:
            return
        if frames[0][0] <= self.cursor:  # (caught up by a replay: ahead of the feed)
            frames = [(seq, frame) for seq, frame in frames if seq > self.cursor]
        if self._backlog() > BACKLOG_BYTES:
            self.release()
            return
        try:
            await self._send(b"".join(frame for _, frame in frames))
        except Exception:  # the connection went: the client's task finds out on its own
            self.release()
            return
        self.cursor = frames[-1][0]

    def release(self) -> None:
        if not self.released.done():
            self.released.set_result(None)

    async def wait_released(self, timeout: float) -> bool:
        """Wait until released; False after ``timeout`` (time for a keepalive)."""
        done, _ = await asyncio.wait((self.released,), timeout=timeout)
        return bool(done)


class Feed:
    """One upstream Subscribe and a window of its recent frames, ``(seq, frame)``."""

    def __init__(
        self,
        request: supervisor_pb2.SubscribeRequest,
        window: int = WINDOW,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self._request = request
        self._flush_seconds = flush_seconds
        self._unsent: list[tuple[int, bytes]] = []
        self._flush: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._seqs: deque[int] = deque(maxlen=window)
        self._frames: deque[bytes] = deque(maxlen=window)
        self.start_seq = -1
        self._dropped_seq = 0
        self.position = -1
        """The newest seq the feed knows of (events and heartbeats)."""
        self.ended = False
        self.clients = 0
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._followers: list[Follower] = []

    async def start(self, open_stream: OpenStream) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._follow(open_stream))
        await self._ready.wait()
        if self.ended and self.start_seq < 0:
            raise FeedEnded

    async def _follow(self, open_stream: OpenStream) -> None:
        request = supervisor_pb2.SubscribeRequest()
        request.CopyFrom(self._request)
        request.after_seq = -1
        request.caught_up_heartbeat = True
        call = open_stream(request)
        paced = IdleSteps()
        try:
            async for item in call:
                if isinstance(item, Head):
                    self.position = max(self.position, item.seq)
                    if self.start_seq < 0:
                        self.start_seq = item.seq
                        self._ready.set()
                    continue
                # The loop's other work goes first between events (:mod:`.idle_turns`): a
                # batch of the feed's events is one short step per event (encoding one takes
                # a few µs), taken when the supervisor has nothing else to do, never a stall
                # that a dependency chain or a Subscribe waits behind (a supervisor never idle
                # gives the feed a few ms at a time instead).
                await paced.next()
                seq, frame = item
                if len(self._seqs) == self._seqs.maxlen:
                    self._dropped_seq = self._seqs[0]
                self._seqs.append(seq)
                self._frames.append(frame)
                self.position = max(self.position, seq)
                if self._followers:
                    self._unsent.append(item)
                    if self._flush is None:
                        self._flush = asyncio.get_running_loop().call_later(
                            self._flush_seconds, self._start_flush
                        )
        except SupervisorError:
            pass
        finally:
            close = getattr(call, "aclose", None)
            if close is not None:
                await close()
            self.ended = True
            self._ready.set()
            if self._flush is not None:
                self._flush.cancel()
            for follower in self._followers:
                follower.release()
            self._followers = []

    def _start_flush(self) -> None:
        self._flush = None
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.ensure_future(self._write_unsent())
        else:  # the previous writes are not done: gather on
            self._flush = asyncio.get_running_loop().call_later(
                max(self._flush_seconds, BUSY_RETRY_SECONDS), self._start_flush
            )

    async def _write_unsent(self) -> None:
        frames, self._unsent = self._unsent, []
        paced = IdleSteps()
        for follower in self._followers:
            await paced.next()  # (one write per step, as above)
            await follower.deliver(frames)
        if any(follower.released.done() for follower in self._followers):
            self._followers = [f for f in self._followers if not f.released.done()]

    def after(self, seq: int) -> list[tuple[int, bytes]]:
        """The frames after ``seq``; :class:`Behind` if some of them were dropped (or came
        before the feed began)."""
        if seq < self.start_seq or self._dropped_seq > seq:
            raise Behind
        start = bisect_right(self._seqs, seq)
        return [(self._seqs[i], self._frames[i]) for i in range(start, len(self._seqs))]

    def follow(
        self, cursor: int, send: Callable[[bytes], Awaitable[None]], backlog: Callable[[], int]
    ) -> Follower:
        """Hand a client that has read everything up to ``cursor`` (the window's newest frame,
        :meth:`after` was empty) over to the feed, which writes it every later frame."""
        follower = Follower(cursor, send, backlog)
        if self.ended or (self._seqs and self._seqs[-1] > cursor):
            follower.release()  # not caught up after all: the caller reads the window again
        else:
            self._followers.append(follower)
        return follower

    def unfollow(self, follower: Follower) -> None:
        follower.release()
        if follower in self._followers:
            self._followers.remove(follower)

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
    ) -> AsyncIterator[Feed]:
        feed = self._feeds.get(key)
        if feed is None or feed.ended:
            feed = self._feeds[key] = Feed(request)
        feed.clients += 1
        try:
            await feed.start(open_stream)
            yield feed
        finally:
            feed.clients -= 1
            if feed.clients == 0:
                feed.close()
                if self._feeds.get(key) is feed:
                    del self._feeds[key]
