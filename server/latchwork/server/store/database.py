"""The part of a database connection the store's SQL runs on, whichever database it is.

The store's statements (:mod:`.writes`, :mod:`.staged`, :mod:`.reads`, :mod:`.event_log`,
:mod:`.hosts`) are written once, in the SQL that SQLite and PostgreSQL both speak, with ``?``
for parameters. They run on a :class:`Database`: an ``sqlite3.Connection`` is one as it is; a
PostgreSQL connection is adapted (:class:`~.postgres_connection.PgDatabase`). Transactions are
the caller's: each store opens them its own way (:class:`Transactions`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol


class Rows(Protocol):
    """The cursor a statement answers with."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Unread:
    """What a statement in a batched transaction answers (PostgreSQL's,
    :mod:`.postgres_connection`): it has not run yet, so reading it is refused (and the
    transaction, sent only at its end, is never sent). A check that must hold there is written
    in SQL (:func:`.staged.unstage`)."""

    @staticmethod
    def _refuse() -> RuntimeError:
        return RuntimeError(
            "nothing can be read inside a batched transaction: its statements run at its end"
        )

    @property
    def rowcount(self) -> int:
        raise self._refuse()

    def fetchone(self) -> Any:
        raise self._refuse()

    def fetchall(self) -> list[Any]:
        raise self._refuse()

    def __iter__(self) -> Iterator[Any]:
        raise self._refuse()


class Database(Protocol):
    """Runs statements written with ``?`` parameters."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Rows: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> object: ...


class ClosingDatabase(Database, Protocol):
    """A :class:`Database` its owner closes (a connection of the store's own)."""

    def close(self) -> None: ...


#: Opens one write transaction: committed when its block completes, else rolled back.
Transactions = Callable[[], AbstractContextManager[object]]


def scalar(db: Database, sql: str, params: Sequence[object] = ()) -> int:
    """The integer the query answers (0 for no row or NULL)."""
    row = db.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


IDS_PER_QUERY = 500
"""At most this many ids in one ``IN (...)`` list (SQLite's default limit is far above)."""


def rows_for_ids(db: Database, sql: str, ids: Iterable[int]) -> Iterator[Any]:
    """The rows of ``sql`` for ``ids``, which it names as ``{ids}`` (``job_id IN ({ids})``):
    the distinct ids in order, :data:`IDS_PER_QUERY` per query."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), IDS_PER_QUERY):
        chunk = ordered[start : start + IDS_PER_QUERY]
        yield from db.execute(sql.format(ids=",".join("?" * len(chunk))), chunk)


def placeholders(columns: str) -> str:
    """``?,?,?`` for a list of columns such as ``"id, name, status"``."""
    return ",".join("?" * (columns.count(",") + 1))


def insert(table: str, columns: str) -> str:
    """``INSERT INTO table (columns) VALUES (?, …)``."""
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders(columns)})"


def put(table: str, columns: str, key: str) -> str:
    """Insert, or replace the row of the same ``key`` (an upsert both databases run)."""
    keys = {k.strip() for k in key.split(",")}
    others = [c.strip() for c in columns.split(",") if c.strip() not in keys]
    updates = ", ".join(f"{c}=excluded.{c}" for c in others)
    return f"{insert(table, columns)} ON CONFLICT ({key}) DO UPDATE SET {updates}"
