"""Finished jobs listed by user (schema 8), process group or parent read an index, not every row.

ListJobs and the dashboard read retired jobs from the store, newest first, with the listing's
filters (``history.finished_jobs_before``). Without an index on the filtered column, a user
with no finished job among a million made that a scan of every job's row on the event loop.
What is checked is the query plan SQLite chooses for the statement the listing really runs:
a plan does not depend on the machine's speed, where a timing would.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from latchwork.server.core.states import FINAL_JOB_STATUSES
from latchwork.server.store.history import FinishedFilter, finished_jobs_before
from latchwork.server.store.opening import open_store


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
