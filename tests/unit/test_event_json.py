"""The dashboard's event JSON (latchwork.server.http.event_json), made from the core's event
directly, is the JSON of the event's protobuf message that every other HTTP body uses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from latchwork.server.api import convert
from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.http.event_json import event_json, rfc3339
from latchwork.server.http.json_bodies import to_json

INT64 = st.integers(min_value=0, max_value=2**63 - 1)
TEXT = st.text(max_size=30)
TIMES = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-3, max_value=253402300799.0, allow_nan=False),
    # Now-ish times, and times with a whole number of milli- or microseconds.
    st.floats(min_value=1.7e9, max_value=1.9e9, allow_nan=False),
    st.integers(min_value=1_700_000_000_000, max_value=1_900_000_000_000).map(lambda ms: ms / 1e3),
    st.integers(min_value=1_700_000_000, max_value=1_900_000_000).map(float),
)
EVENTS = st.builds(
    Event,
    name=st.sampled_from(EventName),
    type=st.sampled_from(EventType),
    job_id=INT64,
    pgrp=INT64,
    label=TEXT,
    user=TEXT,
    subjob_id=st.integers(min_value=-1, max_value=2**31 - 1),
    work_name=TEXT,
    host=TEXT,
    status=TEXT,
    previous_status=TEXT,
    message=TEXT,
    callback_run_id=INT64,
    seq=INT64,
    time=TIMES,
)


@settings(max_examples=500)
@given(EVENTS)
def test_an_event_reads_as_its_message_does(event: Event) -> None:
    assert event_json(event) == to_json(convert.event_to_pb(event))


def test_the_time_keeps_three_six_or_nine_digits_as_protobuf_does() -> None:
    assert rfc3339(1_800_000_000.0) == "2027-01-15T08:00:00Z"
    assert rfc3339(1_800_000_000.5) == "2027-01-15T08:00:00.500Z"
    assert rfc3339(86_400 + 0.25) == "1970-01-02T00:00:00.250Z"
    assert rfc3339(1.000_002) == "1970-01-01T00:00:01.000002Z"
    assert rfc3339(1e-9 * 7 + 2) == "1970-01-01T00:00:02.000000007Z"
