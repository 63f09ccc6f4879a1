"""Shared SSE feeds (latchwork.server.http.feeds): one upstream, each client gapless from its
own position, with a fake upstream standing in for the in-process Subscribe (the real stream is
exercised by tests/test_http_events.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from latchwork.server.http.feeds import Behind, Feed, Feeds, Head, StreamItem
from latchwork.v1 import supervisor_pb2


class Upstream:
    """A log whose head moves when the test appends; streams from any seq like Subscribe."""

    def __init__(self, head: int) -> None:
        self.head = head
        self.moved = asyncio.Event()
        self.opened: list[int] = []

    def append(self, count: int) -> None:
        self.head += count
        self.moved.set()
        self.moved = asyncio.Event()

    async def stream(self, request: supervisor_pb2.SubscribeRequest) -> AsyncIterator[StreamItem]:
        cursor = self.head if request.after_seq < 0 else request.after_seq
        self.opened.append(request.after_seq)
        announced = False
        while True:
            while cursor < self.head:
                cursor += 1
                yield cursor, str(cursor).encode()
            if request.caught_up_heartbeat and not announced:
                announced = True
                yield Head(cursor)
                continue
            await self.moved.wait()


async def _settle() -> None:
    """Let the feed run: it takes its steps when the loop is idle (http/idle_turns.py), so the
    test waits on a timer rather than spinning turns that would count as other work."""
    for _ in range(3):
        await asyncio.sleep(0.01)


async def test_clients_of_one_key_share_one_upstream_and_read_from_their_own_seq() -> None:
    log = Upstream(head=100)
    feeds = Feeds()
    request = supervisor_pb2.SubscribeRequest()
    async with feeds.join("k", request, log.stream) as first:
        assert first.start_seq == 100
        log.append(5)
        await _settle()
        async with feeds.join("k", request, log.stream) as second:
            assert second is first and log.opened == [-1]
            assert [seq for seq, _ in first.after(100)] == [101, 102, 103, 104, 105]
            assert [seq for seq, _ in first.after(103)] == [104, 105]
        with pytest.raises(Behind):
            first.after(99)  # before the feed began: the client replays on its own
    assert first.ended or first.clients == 0


async def test_a_full_window_sends_laggards_back_to_their_own_stream() -> None:
    log = Upstream(head=0)
    feed = Feed(supervisor_pb2.SubscribeRequest(), window=3)
    await feed.start(log.stream)
    log.append(5)
    await _settle()
    assert [seq for seq, _ in feed.after(2)] == [3, 4, 5]
    with pytest.raises(Behind):
        feed.after(1)  # seq 2 was dropped from the window
    feed.close()


class Socket:
    """What a follower writes to: the frames sent, and a backlog the test sets."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.waiting = 0

    async def send(self, frame: bytes) -> None:
        self.sent.append(frame)

    def backlog(self) -> int:
        return self.waiting


async def test_the_feed_writes_the_new_frames_to_its_followers_once() -> None:
    log = Upstream(head=10)
    feed = Feed(supervisor_pb2.SubscribeRequest())
    await feed.start(log.stream)
    sockets = [Socket(), Socket()]
    followers = [feed.follow(10, s.send, s.backlog) for s in sockets]
    log.append(3)
    await _settle()
    assert [s.sent for s in sockets] == [[b"111213"]] * 2  # gathered: one write each
    assert [f.cursor for f in followers] == [13, 13]
    assert not any(f.released.done() for f in followers)
    feed.close()
    await _settle()
    assert all(f.released.done() for f in followers)  # the feed ended: clients reconnect


async def test_a_follower_whose_socket_lags_is_let_go_at_its_last_frame() -> None:
    log = Upstream(head=0)
    feed = Feed(supervisor_pb2.SubscribeRequest())
    await feed.start(log.stream)
    slow, quick = Socket(), Socket()
    slow_follower = feed.follow(0, slow.send, slow.backlog)
    feed.follow(0, quick.send, quick.backlog)
    log.append(2)
    await _settle()
    slow.waiting = 10**6
    log.append(2)
    await _settle()
    assert slow.sent == [b"12"] and slow_follower.cursor == 2
    assert slow_follower.released.done()  # its own task goes on from seq 2
    assert [seq for seq, _ in feed.after(slow_follower.cursor)] == [3, 4]
    assert quick.sent == [b"12", b"34"]
    feed.close()


async def test_a_follower_ahead_of_the_feed_gets_nothing_twice() -> None:
    log = Upstream(head=0)
    feed = Feed(supervisor_pb2.SubscribeRequest())
    await feed.start(log.stream)
    socket = Socket()
    # caught up by a replay of its own at seq 2, before the feed has seen seqs 1 and 2
    follower = feed.follow(2, socket.send, socket.backlog)
    log.append(3)
    await _settle()
    assert socket.sent == [b"3"] and follower.cursor == 3
    feed.close()


async def test_a_client_behind_the_window_is_not_taken_as_a_follower() -> None:
    log = Upstream(head=0)
    feed = Feed(supervisor_pb2.SubscribeRequest())
    await feed.start(log.stream)
    log.append(2)
    await _settle()
    socket = Socket()
    follower = feed.follow(1, socket.send, socket.backlog)
    assert follower.released.done()  # it must read seq 2 from the window first
    feed.close()


async def test_a_supervisor_never_idle_still_feeds_its_dashboards() -> None:
    """The feed reads its events in idle turns (http/idle_turns.py); on a loop that never has
    one it still reads them, a few ms at a time, not one per 20 ms bound (which would take
    40 s here)."""
    busy = True

    def spin() -> None:
        if busy:
            asyncio.get_running_loop().call_soon(spin)

    log = Upstream(head=0)
    feed = Feed(supervisor_pb2.SubscribeRequest())
    await feed.start(log.stream)
    asyncio.get_running_loop().call_soon(spin)
    try:
        log.append(2000)

        async def read_in() -> None:
            while feed.position < 2000:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(read_in(), timeout=30)
    finally:
        busy = False
    assert [seq for seq, _ in feed.after(1990)] == list(range(1991, 2001))
    feed.close()
