"""Each event's ``SubscribeResponse``, encoded once and sent as bytes to every subscriber.

With K subscribers, building and serializing an event's message per subscriber made the
supervisor do K times the work of the event for every event; a bare gRPC server sending
pre-encoded bytes reached about 1.4 times our rate (docs/benchmarks.md, event stream). Events
never change once committed, so the bytes of the most recent ones are kept and shared.
"""

from __future__ import annotations

from collections import OrderedDict

from google.protobuf.message import Message

from latchwork.v1 import supervisor_pb2

from ..core.events import Event
from . import convert


class EncodedEvents:
    """The encoded ``SubscribeResponse{event}`` of the ``capacity`` most recently asked events."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._encoded: OrderedDict[int, bytes] = OrderedDict()

    def __call__(self, event: Event) -> bytes:
        encoded = self._encoded.get(event.seq)
        if encoded is None:
            response = supervisor_pb2.SubscribeResponse(event=convert.event_to_pb(event))
            encoded = response.SerializeToString()
            self._encoded[event.seq] = encoded
            if len(self._encoded) > self.capacity:
                self._encoded.popitem(last=False)
        return encoded


def encode_stream_item(item: Message | bytes) -> bytes:
    """The Subscribe stream's serializer: pre-encoded events pass through, messages encode."""
    return item if isinstance(item, bytes) else item.SerializeToString()
