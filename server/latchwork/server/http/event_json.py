"""An event as the HTTP side's JSON, made from the core's :class:`~..core.events.Event` directly.

The JSON is the one every other HTTP body uses (:func:`.json_bodies.to_json`, protobuf's
``MessageToDict`` of the ``Event`` message): proto field names, enums by their proto names,
int64 as strings, every field present, the time as RFC 3339 in UTC with 0, 3, 6 or 9 digits of
fraction. Made through the message, an event cost about 26 µs, most of it ``MessageToDict``'s
reflection, and the dashboard's feed makes one for every event the supervisor logs while a
dashboard is open, on the supervisor's event loop (docs/benchmarks.md, dashboard load). A test
checks that the two agree on any event (tests/unit/test_event_json.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from latchwork.v1 import event_pb2

from ..api.convert import EVENT_NAME_TO_PB, EVENT_TYPE_TO_PB
from ..core.events import Event

EVENT_NAMES = {name: event_pb2.EventName.Name(value) for name, value in EVENT_NAME_TO_PB.items()}
EVENT_TYPES = {type_: event_pb2.EventType.Name(value) for type_, value in EVENT_TYPE_TO_PB.items()}
_EPOCH = datetime(1970, 1, 1)
_NANOS = 1_000_000_000


def rfc3339(seconds: float) -> str:
    """``seconds`` since the epoch as protobuf's JSON writes a ``Timestamp`` holding them
    (:func:`..api.convert.timestamp` keeps whole nanoseconds, truncated)."""
    whole, nanos = divmod(int(seconds * 1e9), _NANOS)
    text = _whole_seconds(whole)
    if nanos == 0:
        return text + "Z"
    if nanos % 1_000_000 == 0:
        return f"{text}.{nanos // 1_000_000:03d}Z"
    if nanos % 1_000 == 0:
        return f"{text}.{nanos // 1_000:06d}Z"
    return f"{text}.{nanos:09d}Z"


@lru_cache(maxsize=64)
def _whole_seconds(whole: int) -> str:
    """The date and time to the second (events come many to a second: made once for each)."""
    return (_EPOCH + timedelta(seconds=whole)).isoformat()


def event_json(event: Event) -> dict[str, Any]:
    """``event`` as the JSON of its ``Event`` message (``time`` absent when it has none, as an
    unset message field is)."""
    body: dict[str, Any] = {"seq": str(event.seq)}
    if event.time:
        body["time"] = rfc3339(event.time)
    body["name"] = EVENT_NAMES[event.name]
    body["event_type"] = EVENT_TYPES[event.type]
    body["job_id"] = str(event.job_id)
    body["pgrp"] = str(event.pgrp)
    body["label"] = event.label
    body["user"] = event.user
    body["subjob_id"] = event.subjob_id
    body["work_name"] = event.work_name
    body["host"] = event.host
    body["status"] = event.status
    body["previous_status"] = event.previous_status
    body["message"] = event.message
    body["callback_run_id"] = str(event.callback_run_id)
    return body
