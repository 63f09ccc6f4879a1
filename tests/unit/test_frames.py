"""Qube's frame-range syntax."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latchwork.server.core.frames import MAX_FRAMES, FrameRangeError, parse_frame_range


@pytest.mark.parametrize(
    ("text", "frames"),
    [
        ("1-10", list(range(1, 11))),
        ("1-100x2", list(range(1, 101, 2))),
        ("1-10x3", [1, 4, 7, 10]),
        ("1-9x4", [1, 5, 9]),
        ("1,3,5-9", [1, 3, 5, 6, 7, 8, 9]),
        ("7", [7]),
        ("10-1", [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
        ("10-1x3", [10, 7, 4, 1]),
        ("-3", [-3]),
        ("-3-2", [-3, -2, -1, 0, 1, 2]),
        ("-5--3", [-5, -4, -3]),
        ("2--2x2", [2, 0, -2]),
        (" 1 , 3 ", [1, 3]),
        ("5,1-3", [5, 1, 2, 3]),
    ],
)
def test_parses_qube_ranges_in_written_order(text: str, frames: list[int]) -> None:
    assert parse_frame_range(text) == frames


def test_duplicates_are_dropped_keeping_first_occurrence() -> None:
    assert parse_frame_range("3,1-5,2,5-1") == [3, 1, 2, 4, 5]


def test_reaching_max_frames_is_allowed() -> None:
    frames = parse_frame_range(f"1-{MAX_FRAMES}x1000")
    assert frames[0] == 1
    assert len(frames) == MAX_FRAMES // 1000


@pytest.mark.parametrize(
    ("text", "offset", "fragment"),
    [
        ("", 0, "empty part"),
        ("1-", 0, "cannot read '1-'"),
        ("a", 0, "cannot read 'a'"),
        ("1-10x0", 0, "step must be at least 1"),
        ("1,,3", 2, "empty part"),
        ("1,2,", 4, "empty part"),
        ("1, x", 3, "cannot read 'x'"),
        ("1-3,  5-7x0", 6, "step must be at least 1"),
        ("1-3x", 0, "cannot read"),
        ("1x2", 0, "cannot read"),
        ("1.5", 0, "cannot read"),
        ("1 - 3", 0, "cannot read"),
    ],
)
def test_errors_name_the_offset_of_the_bad_part(text: str, offset: int, fragment: str) -> None:
    with pytest.raises(FrameRangeError) as caught:
        parse_frame_range(text)
    assert caught.value.offset == offset
    assert fragment in caught.value.message
    assert str(caught.value).endswith(f"at offset {offset}")


def test_too_many_frames_is_refused_without_expanding_them() -> None:
    with pytest.raises(FrameRangeError) as caught:
        parse_frame_range(f"1-{MAX_FRAMES + 1}")
    assert "more than" in caught.value.message
    assert caught.value.offset == 0


def test_frame_limit_counts_frames_of_earlier_parts() -> None:
    half = MAX_FRAMES // 2
    with pytest.raises(FrameRangeError) as caught:
        parse_frame_range(f"1-{half},{half + 1}-{MAX_FRAMES + 1}")
    assert caught.value.offset == len(f"1-{half},")


def test_huge_single_range_fails_fast() -> None:
    with pytest.raises(FrameRangeError):
        parse_frame_range("0-99999999999999999999")


frame = st.integers(min_value=-500, max_value=500)


@given(first=frame, last=frame, step=st.integers(min_value=1, max_value=50))
def test_simple_range_round_trips(first: int, last: int, step: int) -> None:
    direction = 1 if last >= first else -1
    expected = list(range(first, last + direction, step * direction))
    assert parse_frame_range(f"{first}-{last}x{step}") == expected
    if step == 1:
        assert parse_frame_range(f"{first}-{last}") == expected
    # every frame, written out one by one, reads back as itself
    assert parse_frame_range(",".join(map(str, expected))) == expected


part = st.one_of(
    frame.map(str),
    st.tuples(frame, frame).map(lambda p: f"{p[0]}-{p[1]}"),
    st.tuples(frame, frame, st.integers(1, 20)).map(lambda p: f"{p[0]}-{p[1]}x{p[2]}"),
)


@given(parts=st.lists(part, min_size=1, max_size=6))
def test_parsed_frames_never_repeat_and_cover_every_part(parts: list[str]) -> None:
    frames = parse_frame_range(",".join(parts))
    assert len(frames) == len(set(frames))
    union = {f for p in parts for f in parse_frame_range(p)}
    assert set(frames) == union
