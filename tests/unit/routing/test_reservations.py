"""Qube's ``reservations`` string: what Latchwork takes, what it refuses, and where."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latchwork.server.core.routing.errors import RoutingSyntaxError
from latchwork.server.core.routing.reservations import (
    DEFAULT_RESERVATION,
    MAX_QUANTITY,
    MAX_RESERVATIONS_LENGTH,
    Reservation,
    host_share,
    parse_reservations,
)


def syntax_error(text: str, known: set[str] | None = None) -> RoutingSyntaxError:
    with pytest.raises(RoutingSyntaxError) as caught:
        parse_reservations(text, known)
    return caught.value


def test_the_issue_example() -> None:
    reservation = parse_reservations("host.processors=2,host.memory=4000,host.gpus=1,global.nuke=1")
    assert reservation == Reservation(2, 4000, 1, (("nuke", 1),))
    assert reservation.global_amounts == {"nuke": 1}
    assert host_share(reservation) == (2, 4000, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", DEFAULT_RESERVATION),
        ("  ", DEFAULT_RESERVATION),
        ("host.memory=200", Reservation(memory_mb=200)),
        ("global.maya=1", Reservation(globals=(("maya", 1),))),
        (" host.processors = 4 , host.gpus=0 ", Reservation(processors=4)),
        ("global.nuke=0", Reservation()),  # nothing taken is nothing held
        ("global.b=2,global.a=1", Reservation(globals=(("a", 1), ("b", 2)))),
    ],
)
def test_parsed(text: str, expected: Reservation) -> None:
    assert parse_reservations(text) == expected


def test_a_frame_takes_one_slot_by_default_as_in_qube() -> None:
    assert parse_reservations("host.memory=1").processors == 1


@pytest.mark.parametrize(
    ("text", "offset", "fragment"),
    [
        ("host.processors=1+", 16, "slot ranges are not supported"),
        ("host.processors=1*", 16, "slot ranges"),
        ("host.processors=all", 16, "slot ranges"),
        ("host.processors=1-20", 16, "slot ranges"),
        ("host.memory=4.5", 12, "not a whole number"),
        ("host.memory=a", 12, "not a whole number"),
        ("host.memory=-1", 12, "not a whole number"),
        ("host.memory=", 12, "missing quantity"),
        ("host.processors=0", 16, "at least 1"),
        ("host.memory=1,host.memory=2", 14, "reserved twice"),
        ("host.memory", 0, "not type.name=quantity"),
        ("memory=1", 0, "not type.name"),
        ("host.swap=1", 0, "unknown host resource"),
        ("global_host.nuke=1", 0, "per-host global resources"),
        ("license.nuke=1", 0, "licence resources"),
        ("license_host.nuke=1", 0, "per-host licence"),
        ("disk.x=1", 0, "unknown resource type"),
        ("global.9lives=1", 7, "not a resource name"),
        ("host.gpus=1,,global.a=1", 12, "empty reservation"),
        ("host.gpus=1, host.swap=3", 13, "unknown host resource"),
        (f"global.a={MAX_QUANTITY + 1}", 9, "more than"),
        ("global.a=12345678901", 9, "not a whole number"),
    ],
)
def test_refused_with_the_offset_of_the_item(text: str, offset: int, fragment: str) -> None:
    error = syntax_error(text)
    assert (error.offset, fragment in str(error)) == (offset, True), str(error)


def test_unknown_global_resources_are_refused_when_the_known_ones_are_given() -> None:
    assert parse_reservations("global.nuke=1", {"nuke"}).global_amounts == {"nuke": 1}
    error = syntax_error("host.gpus=1,global.nkue=1", {"nuke", "maya"})
    assert (error.offset, error.hint) == (19, "known: maya, nuke")
    assert "none is configured" in syntax_error("global.nuke=1", set()).hint


def test_length_is_bounded() -> None:
    text = "global.a=1," * (MAX_RESERVATIONS_LENGTH // 10)
    assert syntax_error(text).offset == MAX_RESERVATIONS_LENGTH


@given(
    st.integers(1, 1000),
    st.integers(0, 10**6),
    st.integers(0, 16),
    st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), st.integers(1, 99)),
)
def test_the_canonical_form_parses_back(
    processors: int, memory: int, gpus: int, globals_: dict[str, int]
) -> None:
    reservation = Reservation(processors, memory, gpus, tuple(sorted(globals_.items())))
    assert parse_reservations(reservation.format()) == reservation


@given(st.text(max_size=100))
@settings(max_examples=500)
def test_any_text_parses_or_is_refused_with_an_offset_inside_it(text: str) -> None:
    try:
        reservation = parse_reservations(text)
    except RoutingSyntaxError as error:
        assert 0 <= error.offset <= max(len(text), MAX_RESERVATIONS_LENGTH)
        return
    assert reservation.processors >= 1
    assert min(reservation.memory_mb, reservation.gpus) >= 0
