"""A commit's writes on PostgreSQL go as one string of prepared statements' ``EXECUTE``s, the
parameters rendered in by psycopg (store/postgres_connection.py, ``batched_transaction``). On
the session's real PostgreSQL server: values come back as they went in, whatever they hold; a
failing statement leaves nothing of its commit; a read inside the block is refused before
anything is sent; a new connection prepares its statements again."""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latchwork.server.core import verb_transitions as verbs
from latchwork.server.core.changes import Changes
from latchwork.server.store.errors import StorageError, StorageUnavailable
from latchwork.server.store.postgres import PostgresStore
from latchwork.server.store.postgres_connection import PgDatabase, open_database

from ..pg_server import cut_sessions
from .factories import frames_spec, python_supervisor

ROW = "INSERT INTO kinds (id, words, ratio, blob, maybe) VALUES (?, ?, ?, ?, ?)"
# PostgreSQL's text holds any character but NUL; a string from a client is UTF-8, so never
# holds a lone surrogate.
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)
ROWS = st.lists(
    st.tuples(
        st.one_of(st.none(), TEXT, st.sampled_from(["NULL", "{a,b}", '"', "\\", "", " x "])),
        st.floats(allow_nan=False, width=64),
        st.binary(max_size=20),
        st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    ),
    min_size=1,
    max_size=9,
)


@pytest.fixture
def db(postgres_url: str) -> Iterator[PgDatabase]:
    database = open_database(postgres_url, "normal")
    database.execute(
        "CREATE TABLE kinds (id bigint PRIMARY KEY, words text, ratio double precision, "
        "blob bytea, maybe bigint)"
    )
    yield database
    database.close()


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS)
def test_values_come_back_as_they_went_in(
    db: PgDatabase, rows: list[tuple[str | None, float, bytes, int | None]]
) -> None:
    db.execute("DELETE FROM kinds")
    numbered = [(number, *row) for number, row in enumerate(rows)]
    with db.batched_transaction():
        db.execute(ROW, numbered[0])
        db.executemany(ROW, numbered[1:])
    stored = db.execute("SELECT id, words, ratio, blob, maybe FROM kinds ORDER BY id").fetchall()
    assert len(stored) == len(numbered)
    for (number, words, ratio, blob, maybe), back in zip(numbered, stored, strict=True):
        assert back[0] == number and back[1] == words and back[4] == maybe
        assert bytes(back[3]) == blob
        assert back[2] == ratio  # (infinities included)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(TEXT, min_size=2, max_size=6))
def test_a_column_of_texts_alone_comes_back_as_it_went_in(db: PgDatabase, words: list[str]) -> None:
    """Texts only (an array joined at once when none holds a quote or backslash)."""
    db.execute("DELETE FROM kinds")
    with db.batched_transaction():
        db.executemany(ROW, [(n, text, 0.0, b"", n) for n, text in enumerate(words)])
    stored = db.execute("SELECT words FROM kinds ORDER BY id").fetchall()
    assert [row[0] for row in stored] == words


def test_a_failing_statement_leaves_nothing_of_its_transaction(db: PgDatabase) -> None:
    db.execute("INSERT INTO kinds (id, words) VALUES (2, 'there')")
    with pytest.raises(StorageError, match="23505"), db.batched_transaction():
        db.execute(ROW, (1, "first", 1.0, b"", None))
        db.execute(ROW, (2, "again", 2.0, b"", None))  # the key is taken
        db.execute(ROW, (3, "after", 3.0, b"", None))
    assert db.execute("SELECT id FROM kinds ORDER BY id").fetchall() == [(2,)]


def test_a_read_inside_the_block_is_refused_and_nothing_is_sent(db: PgDatabase) -> None:
    with pytest.raises(RuntimeError, match="nothing can be read"), db.batched_transaction():
        db.execute(ROW, (1, "first", 1.0, b"", None))
        db.execute("SELECT COUNT(*) FROM kinds").fetchone()
    assert db.execute("SELECT COUNT(*) FROM kinds").fetchone() == (0,)


def test_a_new_connection_prepares_the_statements_again(db: PgDatabase, postgres_url: str) -> None:
    with db.batched_transaction():
        db.execute(ROW, (1, "before", 1.0, b"", None))
    cut_sessions(postgres_url)
    with pytest.raises(StorageUnavailable), db.batched_transaction():
        db.execute(ROW, (2, "lost", 2.0, b"", None))  # meets the lost connection
    with db.batched_transaction():  # on a new connection, where nothing is prepared yet
        db.execute(ROW, (3, "after", 3.0, b"", None))
    assert db.execute("SELECT id FROM kinds ORDER BY id").fetchall() == [(1,), (3,)]


def test_a_commit_that_fails_in_the_database_is_stored_not_at_all(
    postgres_url: str, tmp_path: Path
) -> None:
    """Through the store: a commit's job update and events are one transaction; an event row
    that cannot be written takes the job's change with it."""
    store = PostgresStore(postgres_url)
    sup = python_supervisor(store, tmp_path)
    job = sup.submit([frames_spec("1-2")]).jobs[0]
    head = store.head_seq
    with psycopg.connect(postgres_url, autocommit=True) as intruder:
        # The seq the next commit's event takes, already used behind the store's back.
        intruder.execute("CREATE TEMP TABLE copied AS SELECT * FROM events WHERE seq = %s", (head,))
        intruder.execute("UPDATE copied SET seq = seq + 1")
        intruder.execute("INSERT INTO events SELECT * FROM copied")
    changes = Changes(now=5.0)
    assert verbs.block_job(changes, store.load().jobs[0], "")
    with pytest.raises(StorageError):
        store.write(changes)
    assert all(event.seq == 0 for event in changes.events)
    assert store.head_seq == head
    [stored] = store.load().jobs
    assert stored.id == job.id and not stored.blocked
    store.close()


PUT = (
    "INSERT INTO kinds (id, words, ratio, blob, maybe) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET words=excluded.words, maybe=excluded.maybe"
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys=st.lists(st.integers(min_value=0, max_value=40), min_size=2, max_size=90),
    upsert=st.booleans(),
)
def test_rows_of_one_statement_go_together_and_store_what_a_row_a_statement_would(
    db: PgDatabase, keys: list[int], upsert: bool
) -> None:
    """An executemany in a batched transaction sends its rows several to a statement
    (store/pg_row_batches.py); an upsert whose key comes again still ends with the last row's
    values, as a statement a row did; a plain insert of distinct keys stores them all."""
    db.execute("DELETE FROM kinds")
    if not upsert:
        keys = list(dict.fromkeys(keys))
    rows = [(key, f"row {n}", 0.5, b"", n) for n, key in enumerate(keys)]
    with db.batched_transaction():
        db.executemany(PUT if upsert else ROW, rows)
    last = {row[0]: (row[1], row[4]) for row in rows}
    stored = db.execute("SELECT id, words, maybe FROM kinds ORDER BY id").fetchall()
    assert stored == [(key, *last[key]) for key in sorted(last)]


def test_a_batched_commit_sends_a_statement_per_run_of_rows(db: PgDatabase) -> None:
    """100 distinct rows of one insert are one statement of column arrays, an upsert that
    meets a key again is cut there, and another statement goes a row at a time."""
    batch = db.new_batch()
    with db.rendering(batch):
        db.executemany(ROW, [(n, "x", 1.0, b"", None) for n in range(100)])
        db.executemany(PUT, [(1, "a", 1.0, b"", 1), (2, "b", 1.0, b"", 2), (1, "c", 1.0, b"", 3)])
        db.executemany("UPDATE kinds SET maybe = ? WHERE id = ?", [(5, 1), (6, 2)])
    statements = batch.statements
    assert [statement.count('"x"') for statement in statements] == [100, 0, 0, 0, 0]
    assert ['"a"' in s and '"b"' in s and "'c'" not in s for s in statements[1:3]] == [True, False]
    assert "'c'" in statements[2]  # (a run of one row: the one-row statement)
    assert len(statements) == 5  # (each UPDATE alone)
    db.send([batch])
    assert db.execute("SELECT id, words, maybe FROM kinds WHERE id < 3 ORDER BY id").fetchall() == [
        (0, "x", None),
        (1, "c", 5),
        (2, "b", 6),
    ]


def test_floats_beyond_the_numbers_and_values_of_other_kinds(db: PgDatabase) -> None:
    """NaN and the infinities go in an array under PostgreSQL's own spellings; a run holding
    a value of a kind the arrays do not render (a ``Decimal``) goes a row at a time."""
    specials = [math.nan, math.inf, -math.inf, -0.0, 5e-324]
    batch = db.new_batch()
    with db.rendering(batch):
        db.executemany(ROW, [(n, "f", value, b"", None) for n, value in enumerate(specials)])
        db.executemany(ROW, [(10, "d", Decimal("1.5"), b"", None), (11, "d", 2.5, b"", None)])
    assert len(batch.statements) == 3
    db.send([batch])
    back = [row[0] for row in db.execute("SELECT ratio FROM kinds ORDER BY id").fetchall()]
    assert math.isnan(back[0]) and back[1:5] == specials[1:] and back[5:] == [1.5, 2.5]
    assert math.copysign(1.0, back[3]) == -1.0
