"""The PostgreSQL store: the farm's state in a database a studio's database team runs.

The same semantics as the SQLite store, from the same code (:class:`~.sql_store.SqlStore`):
every operation in one transaction with the events it caused, a gapless event sequence kept
by the store (``events.seq`` is written, never drawn from a PostgreSQL sequence, so a copy or
a restart continues it from ``MAX(seq)``), the firings stored with their events, large
Submits staged. What differs is here and in :mod:`.postgres_connection`: opening a URL, its
own migrations (:mod:`.pg_migrations`), and psycopg's errors typed by SQLSTATE
(:mod:`.postgres_errors`).

``durability = "full"`` asks the server to flush every commit before it answers
(``synchronous_commit = on``); ``"normal"`` leaves the server's own setting, which its
administrators chose.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from .errors import StoreUnusable
from .postgres_connection import describe, open_database
from .postgres_errors import one_line, typed_pg_errors
from .sql_store import SqlStore


@typed_pg_errors
class PostgresStore(SqlStore):
    def __init__(
        self,
        url: str,
        *,
        durability: str = "normal",
        epoch: int | None = None,
        on_deposed: Callable[[], None] | None = None,
    ) -> None:
        """``epoch``: write only while it leads the database (server/leadership.py): every
        write transaction, the first included, checks it, and one that finds another
        supervisor took over raises :class:`~.errors.Deposed` having written nothing
        (``on_deposed`` is called first)."""
        self.url = url
        self._pg = open_database(url, durability)
        self._pg.fence_epoch = epoch
        self._pg.on_deposed = on_deposed
        try:
            super().__init__(self._pg, self._pg.transaction, self._pg.batched_transaction)
        except psycopg.Error as error:
            self._pg.close()
            raise StoreUnusable(f"{describe(url)} cannot be opened ({one_line(error)})") from None
        except BaseException:
            self._pg.close()
            raise

    def close(self) -> None:
        self._pg.close()

    @property
    def schema_version(self) -> int:
        return self._pg.schema_version()
