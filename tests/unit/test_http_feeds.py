"""Shared SSE feeds (latchwork.server.http.feeds): one upstream, each client gapless from its
own position, with a fake upstream standing in for Subscribe (the real stream is exercised by
tests/test_http_events.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from latchwork.server.http.feeds import Behind, Feed, Feeds
from latchwork.v1 import event_pb2, supervisor_pb2


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

    async def stream(
        self, request: supervisor_pb2.SubscribeRequest
    ) -> AsyncIterator[supervisor_pb2.SubscribeResponse]:
        cursor = self.head if request.after_seq < 0 else request.after_seq
        self.opened.append(request.after_seq)
        announced = False
        while True:
            while cursor < self.head:
                cursor += 1
                yield supervisor_pb2.SubscribeResponse(event=event_pb2.Event(seq=cursor))
            if request.caught_up_heartbeat and not announced:
                announced = True
                heartbeat = supervisor_pb2.Heartbeat(head_seq=cursor)
                yield supervisor_pb2.SubscribeResponse(heartbeat=heartbeat)
                continue
            await self.moved.wait()


def _encode(item: supervisor_pb2.SubscribeResponse) -> bytes:
    return str(item.event.seq).encode()


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_clients_of_one_key_share_one_upstream_and_read_from_their_own_seq() -> None:
    log = Upstream(head=100)
    feeds = Feeds()
    request = supervisor_pb2.SubscribeRequest()
    async with feeds.join("k", request, log.stream, _encode) as first:
        assert first.start_seq == 100
        log.append(5)
        await _settle()
        async with feeds.join("k", request, log.stream, _encode) as second:
            assert second is first and log.opened == [-1]
            assert [seq for seq, _ in first.after(100)] == [101, 102, 103, 104, 105]
            assert [seq for seq, _ in first.after(103)] == [104, 105]
        with pytest.raises(Behind):
            first.after(99)  # before the feed began: the client replays on its own
    assert first.ended or first.clients == 0


async def test_a_full_window_sends_laggards_back_to_their_own_stream() -> None:
    log = Upstream(head=0)
    feed = Feed(supervisor_pb2.SubscribeRequest(), window=3)
    await feed.start(log.stream, _encode)
    log.append(5)
    await _settle()
    assert [seq for seq, _ in feed.after(2)] == [3, 4, 5]
    with pytest.raises(Behind):
        feed.after(1)  # seq 2 was dropped from the window
    feed.close()
