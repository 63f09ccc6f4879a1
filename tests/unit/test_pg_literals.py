"""store/pg_literals.py renders a commit's values as psycopg's ClientCursor.mogrify does, to
the very character (on the session's real PostgreSQL server, whose connection says how it
reads strings); a value of another kind is left to mogrify."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latchwork.server.store.pg_literals import literals_apply, render_call

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(),  # (beyond bigint too: the text is the same)
    st.floats(width=64),  # (infinities, NaN and -0.0 included)
    st.text(st.characters(codec="utf-8", exclude_characters="\x00")),
    st.text(alphabet="\\'\"ab", max_size=8),  # quotes and backslashes, packed
    st.binary(max_size=40),
)


@pytest.fixture
def cursor(postgres_url: str) -> Iterator[psycopg.ClientCursor[Any]]:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert literals_apply(conn)
        yield psycopg.ClientCursor(conn)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(VALUES, max_size=6))
def test_every_value_renders_as_mogrify_renders_it(
    cursor: psycopg.ClientCursor[Any], values: list[Any]
) -> None:
    prefix = "EXECUTE lw_0"
    expected = (
        cursor.mogrify(prefix + "(" + ", ".join(["%s"] * len(values)) + ")", values)
        if values
        else prefix
    )
    assert render_call(prefix, values) == expected


def test_bytes_in_any_wrapper_render_alike(cursor: psycopg.ClientCursor[Any]) -> None:
    for value in (b"\x00ab\xff", bytearray(b"\x00ab\xff"), memoryview(b"\x00ab\xff")):
        assert render_call("EXECUTE x", [value]) == cursor.mogrify("EXECUTE x(%s)", [value])


def test_a_nul_in_text_is_refused_as_psycopg_refuses_it(cursor: psycopg.ClientCursor[Any]) -> None:
    with pytest.raises(psycopg.DataError) as ours:
        render_call("EXECUTE x", ["a\x00b"])
    with pytest.raises(psycopg.DataError) as theirs:
        cursor.mogrify("EXECUTE x(%s)", ["a\x00b"])
    assert str(ours.value) == str(theirs.value)


def test_another_kind_of_value_is_left_to_mogrify() -> None:
    assert render_call("EXECUTE x", [1, datetime.date(2026, 11, 30)]) is None
