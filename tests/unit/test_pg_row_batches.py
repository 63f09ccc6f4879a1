"""How a commit's rows of one ``INSERT`` become one statement of column arrays for PostgreSQL
(store/pg_row_batches.py): the store's own statements are recognised, others are not, and
the rows are cut only where an upsert's key comes again."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from latchwork.server.store.database import insert, put
from latchwork.server.store.pg_row_batches import row_insert
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


def test_the_statement_for_any_rows_takes_an_array_a_column_and_keeps_the_conflict_clause() -> None:
    shape = row_insert(put("t", 'a, "user"', "a"))
    assert shape is not None and shape.table == "t" and shape.width == 2
    assert shape.unnest_sql({"a": "bigint", "user": "double precision"}) == (
        'INSERT INTO t (a, "user") SELECT * FROM unnest(?::bigint[], ?::double precision[]) '
        'ON CONFLICT (a) DO UPDATE SET "user"=excluded."user"'
    )


@given(st.lists(st.integers(min_value=0, max_value=9), max_size=200), st.booleans())
def test_runs_keep_every_row_in_order_and_never_a_key_twice(keys: list[int], upsert: bool) -> None:
    shape = row_insert(put("t", "k, v", "k") if upsert else insert("t", "k, v"))
    assert shape is not None
    rows = [(key, n) for n, key in enumerate(keys)]
    runs = [list(run) for run in shape.runs(rows)]
    assert [row for run in runs for row in run] == rows
    if upsert:  # cut only where a key comes again
        assert all(len({k for k, _ in run}) == len(run) for run in runs)
        assert all(run[0][0] in {k for k, _ in before} for before, run in pairwise(runs))
    else:
        assert len(runs) == 1
