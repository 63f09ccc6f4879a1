"""Events encoded once for all subscribers, and the Subscribe serializer that sends them."""

from __future__ import annotations

from latchwork.server.api import convert
from latchwork.server.api.encoded_events import EncodedEvents, encode_stream_item
from latchwork.server.core.events import Event, EventName, EventType
from latchwork.v1 import supervisor_pb2


def _event(seq: int) -> Event:
    return Event(EventName.COMPLETE, EventType.WORK, job_id=7, work_name=str(seq), seq=seq)


def test_the_bytes_are_the_response_a_subscriber_would_have_been_sent() -> None:
    encoded = EncodedEvents()
    event = _event(3)
    expected = supervisor_pb2.SubscribeResponse(event=convert.event_to_pb(event))
    assert encoded(event) == expected.SerializeToString()
    decoded = supervisor_pb2.SubscribeResponse.FromString(encoded(event))
    assert decoded.event.seq == 3 and decoded.event.work_name == "3"


def test_each_event_is_encoded_once_and_the_oldest_are_forgotten() -> None:
    encoded = EncodedEvents(capacity=2)
    first = encoded(_event(1))
    assert encoded(_event(1)) is first  # shared, not re-encoded
    encoded(_event(2))
    encoded(_event(3))
    assert encoded(_event(1)) is not first  # evicted, encoded again (and equal)
    assert encoded(_event(1)) == first


def test_the_stream_serializer_passes_bytes_and_encodes_messages() -> None:
    heartbeat = supervisor_pb2.SubscribeResponse(heartbeat=supervisor_pb2.Heartbeat(head_seq=9))
    assert encode_stream_item(heartbeat) == heartbeat.SerializeToString()
    assert encode_stream_item(b"\x0a\x00") == b"\x0a\x00"
