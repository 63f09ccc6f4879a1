"""Copying an SQLite store into PostgreSQL: the upgrade path of a farm that outgrew one box.

Every table is copied whole, row by row as it is (the two schemas have the same tables and
columns: :mod:`.pg_migrations`), in one PostgreSQL transaction: a copy that fails leaves the
target as it was. The target must hold no job and no event: a copy never merges two farms'
histories. Ids and event sequence numbers need no adjusting afterwards: the store draws them
from ``MAX(id)`` and ``MAX(seq)`` when it opens (no PostgreSQL sequence is involved), so a
supervisor started on the copy continues them.

The SQLite file is opened through :class:`~.sqlite.SqliteStore` first (checked, migrated to
this Latchwork's schema, a Submit that died half-staged cleaned), then read in one read
transaction: a supervisor still writing it cannot tear the copy.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from .errors import StoreUnusable
from .pg_migrations import TABLES
from .postgres import PostgresStore
from .postgres_connection import connect, describe
from .postgres_errors import one_line
from .sqlite import SqliteStore


class TargetNotEmpty(StoreUnusable):
    """The PostgreSQL database already holds jobs or events (nothing was copied)."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What was copied: the rows of each table, and the head of the event log."""

    rows: dict[str, int] = field(default_factory=dict)
    head_seq: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def copy_sqlite_to_postgres(sqlite_path: Path, url: str) -> CopyReport:
    """Copy the SQLite store at ``sqlite_path`` into the (empty) database of ``url``.

    ``StoreUnusable`` (one line naming the store and the problem) when either cannot be used,
    ``TargetNotEmpty`` when the target already holds jobs or events; nothing is written then.
    """
    if not sqlite_path.is_file():  # (opening it would create an empty one)
        raise StoreUnusable(f"{sqlite_path} is not there: nothing to copy")
    SqliteStore(sqlite_path).close()  # checked and migrated, or refused
    PostgresStore(url).close()  # the schema made, or refused
    name = describe(url)
    source = sqlite3.connect(sqlite_path, isolation_level=None)
    try:
        source.execute("BEGIN")  # one snapshot of every table
        try:
            target = connect(url)
        except psycopg.Error as error:
            raise StoreUnusable(f"{name} cannot be reached ({one_line(error)})") from None
        try:
            return _copy(source, target, name)
        except psycopg.Error as error:
            raise StoreUnusable(
                f"{name}: the copy failed and nothing was written ({one_line(error)})"
            ) from None
        finally:
            target.close()
    finally:
        source.close()


def _copy(source: sqlite3.Connection, target: psycopg.Connection[Any], name: str) -> CopyReport:
    rows: dict[str, int] = {}
    with target.transaction():
        # No supervisor may write while the copy checks and fills the tables.
        target.execute(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE")
        held = [_count(target, table) for table in ("jobs", "events")]
        if any(held):
            raise TargetNotEmpty(
                f"{name} already holds {held[0]} jobs and {held[1]} events; copy into an "
                "empty database (nothing was copied)"
            )
        for table in TABLES:
            columns = [str(row[1]) for row in source.execute(f"PRAGMA table_info({table})")]
            names = ", ".join(f'"{column}"' for column in columns)
            count = 0
            with target.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {names} FROM {table}"):
                    copy.write_row(row)
                    count += 1
            rows[table] = count
        head = target.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
    return CopyReport(rows=rows, head_seq=int(head[0]) if head else 0)


def _count(target: psycopg.Connection[Any], table: str) -> int:
    row = target.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0
