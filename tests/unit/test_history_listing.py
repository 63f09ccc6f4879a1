"""Finished jobs listed from the store are filtered in SQL: by user, process group or parent
through an index, by name pattern on the ``name`` column (schema 8).

ListJobs and the dashboard read retired jobs from the store, newest first, with the listing's
filters (``history.finished_jobs_before``). Without an index on the filtered column, a user
with no finished job among a million made that a scan of every job's row on the event loop;
a name pattern was matched in Python on every row read. What is checked here: the query plan
SQLite chooses for the statement the listing really runs (a plan does not depend on the
machine's speed, where a timing would); that the ``LIKE`` pattern a glob becomes never leaves
out a name the glob matches, on SQLite and on PostgreSQL; and that a store of schema 7 gets
its jobs' names from their specs. Listings through the supervisor, names included, are
checked against the in-memory answer in ``test_retired_jobs.py``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from fnmatch import fnmatchcase, translate
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latchwork.server.core.states import FINAL_JOB_STATUSES
from latchwork.server.store.history import FinishedFilter, finished_jobs_before, like_superset
from latchwork.server.store.migrations import MIGRATIONS
from latchwork.server.store.opening import open_store
from latchwork.server.store.pg_migrations import PG_MIGRATIONS

from .factories import Farm, frames_spec


class Recording:
    """An sqlite3 connection that notes the statements run on it."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.statements: list[tuple[str, Sequence[Any]]] = []

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> sqlite3.Cursor:
        self.statements.append((sql, parameters))
        return self.connection.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> sqlite3.Cursor:
        return self.connection.executemany(sql, parameters)


def _plan(tmp_path: Path, where: FinishedFilter) -> str:
    database = tmp_path / "latchwork.db"
    open_store(database).close()  # created and migrated
    with contextlib.closing(sqlite3.connect(database)) as connection:
        recording = Recording(connection)
        assert list(finished_jobs_before(recording, 0, where, batch=100)) == []
        ((sql, parameters),) = recording.statements
        rows = connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters).fetchall()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(
    ("where", "index"),
    [
        (FinishedFilter(frozenset(FINAL_JOB_STATUSES), users=frozenset({"alice"})), "jobs_user"),
        (FinishedFilter(frozenset(FINAL_JOB_STATUSES), pgrps=frozenset({42})), "jobs_pgrp_label"),
        (FinishedFilter(frozenset(FINAL_JOB_STATUSES), parent_id=7), "jobs_pid"),
    ],
)
def test_a_filtered_listing_of_finished_jobs_searches_an_index(
    tmp_path: Path, where: FinishedFilter, index: str
) -> None:
    plan = _plan(tmp_path, where)
    assert f"SEARCH jobs USING INDEX {index}" in plan, plan


# Globs from an alphabet with every character either syntax treats specially; names drawn
# from the regular expression fnmatch makes of the glob, so that each one matches it.
_GLOBS = st.text(alphabet="ab_%\\*?[]!-", max_size=6)


def _storable(name: str) -> bool:
    """Text both databases take: no NUL, no lone surrogate."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in name


@pytest.fixture(params=["sqlite", "postgresql"])
def like(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``like(name, pattern)``: the database's ``name LIKE pattern ESCAPE '\\'``."""
    if request.param == "sqlite":
        with contextlib.closing(sqlite3.connect(":memory:")) as connection:
            yield lambda name, pattern: bool(
                connection.execute("SELECT ? LIKE ? ESCAPE '\\'", (name, pattern)).fetchone()[0]
            )
        return
    url: str = request.getfixturevalue("postgres_url")
    with psycopg.connect(url, autocommit=True) as pg:

        def pg_like(name: str, pattern: str) -> bool:
            row = pg.execute("SELECT %s LIKE %s ESCAPE '\\'", (name, pattern)).fetchone()
            return bool(row and row[0])

        yield pg_like


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_like_pattern_of_a_glob_never_leaves_out_a_name_it_matches(
    like: Any, data: st.DataObject
) -> None:
    glob = data.draw(_GLOBS, label="glob")
    matching = st.from_regex(translate(glob), fullmatch=True).filter(_storable)
    name = data.draw(matching, label="name")
    assert fnmatchcase(name, glob)
    assert like(name, like_superset(glob)), like_superset(glob)


@pytest.mark.parametrize(
    ("glob", "pattern"),
    [
        ("shot_*", "shot\\_%"),
        ("50%?", "50\\%_"),
        ("a\\b", "a\\\\b"),
        ("[!x]y[a-c]", "_y_"),
        ("[]]", "_"),
        ("[abc", "[abc"),
        ("[!]", "[!]"),
    ],
)
def test_a_glob_becomes_a_like_pattern(glob: str, pattern: str) -> None:
    assert like_superset(glob) == pattern


def test_an_older_store_gets_its_jobs_names_from_their_specs(
    tmp_path: Path, store_location: str | Path
) -> None:
    """SQLite's schema 7 and PostgreSQL's 3 become 8 and 4: the names copied out of the specs,
    a non-ASCII one (escaped in the spec's JSON) among them."""
    farm = Farm(tmp_path, location=store_location)
    specs = [frames_spec("1", name=n) for n in ("comp_v003", "plan_é🎥")] + [frames_spec("1")]
    jobs = farm.open().submit(specs, user="ann").jobs
    farm.close()
    if isinstance(store_location, Path):
        with contextlib.closing(sqlite3.connect(store_location)) as raw:
            raw.execute("DROP INDEX jobs_user")
            raw.execute("ALTER TABLE jobs DROP COLUMN name")
            raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
            raw.commit()
    else:
        with psycopg.connect(store_location, autocommit=True) as pg:
            pg.execute("DROP INDEX jobs_user")
            pg.execute("ALTER TABLE jobs DROP COLUMN name")
            pg.execute("UPDATE latchwork_schema SET version = %s", (len(PG_MIGRATIONS) - 1,))
    store = open_store(store_location)  # migrated
    store.close()
    if isinstance(store_location, Path):
        with contextlib.closing(sqlite3.connect(store_location)) as raw:
            names = dict(raw.execute("SELECT id, name FROM jobs").fetchall())
    else:
        with psycopg.connect(store_location) as pg:
            names = dict(pg.execute("SELECT id, name FROM jobs").fetchall())
    assert names == {job.id: job.spec.name for job in jobs}
    assert [names[job.id] for job in jobs[:2]] == ["comp_v003", "plan_é🎥"]
