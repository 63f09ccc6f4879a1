"""How a commit's rows of one ``INSERT`` are cut into multi-row statements for PostgreSQL
(store/pg_row_batches.py): the store's own statements are recognised, others are not, and
the cuts keep order and never hold an upsert's key twice."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from latchwork.server.store.database import insert, put
from latchwork.server.store.pg_row_batches import MAX_ROWS, row_insert
from latchwork.server.store.rows import EVENT_COLUMNS, WORK_COLUMNS


def test_the_stores_inserts_and_upserts_are_recognised_with_their_keys() -> None:
    work = row_insert(put("work", WORK_COLUMNS, "job_id, idx"))
    assert work is not None and work.key_positions == (0, 1)
    events = row_insert(insert("events", EVENT_COLUMNS))
    assert events is not None and events.key_positions == () and events.width == 15
    assert row_insert(put("t", "a, b, c", "b")) is not None
    assert row_insert("UPDATE jobs SET status=?, blocked=? WHERE id=?") is None
    assert row_insert("INSERT INTO t (a) VALUES (?) ON CONFLICT DO NOTHING") is None
    assert row_insert("INSERT INTO t (a, b) VALUES (?)") is None  # (widths differ)
    assert row_insert("INSERT INTO t (a) SELECT ?") is None


def test_the_statement_for_several_rows_repeats_the_values_and_keeps_the_conflict_clause() -> None:
    shape = row_insert(put("t", "a, b", "a"))
    assert shape is not None
    assert shape.sql_for(1) == shape.sql
    assert shape.sql_for(3) == (
        "INSERT INTO t (a, b) VALUES (?,?),(?,?),(?,?) ON CONFLICT (a) DO UPDATE SET b=excluded.b"
    )


@given(st.lists(st.integers(min_value=0, max_value=9), max_size=200), st.booleans())
def test_cuts_keep_every_row_in_order_in_few_sizes_and_never_a_key_twice(
    keys: list[int], upsert: bool
) -> None:
    shape = row_insert(put("t", "k, v", "k") if upsert else insert("t", "k, v"))
    assert shape is not None
    rows = [(key, n) for n, key in enumerate(keys)]
    chunks = [list(chunk) for chunk in shape.chunks(rows)]
    assert [row for chunk in chunks for row in chunk] == rows
    assert all(0 < len(chunk) <= MAX_ROWS for chunk in chunks)
    assert {len(chunk) for chunk in chunks} <= {*range(1, 9), 16, MAX_ROWS}
    if upsert:
        assert all(len({k for k, _ in chunk}) == len(chunk) for chunk in chunks)
    else:  # the fewest statements of those sizes: 32s, then 16, 8 and the rest
        assert [len(chunk) for chunk in chunks] == _greedy(len(rows))


def _greedy(rows: int) -> list[int]:
    sizes = [MAX_ROWS] * (rows // MAX_ROWS)
    rest = rows % MAX_ROWS
    for size in (16, 8):
        if rest >= size:
            sizes.append(size)
            rest -= size
    return sizes + ([rest] if rest else [])
