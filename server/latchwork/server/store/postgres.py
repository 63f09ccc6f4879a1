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

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg

from ..core.changes import Changes
from .errors import StoreUnusable
from .postgres_connection import PgSend, RenderedBatch, describe, open_database
from .postgres_errors import one_line, typed_pg_errors
from .sql_store import SqlStore
from .writes import write_changes


@dataclass(slots=True)
class PgWrite:
    """A commit's write rendered (:meth:`PostgresStore.render_write`), for the commit queue
    to send (server/commit_queue.py)."""

    changes: Changes
    batch: RenderedBatch
    rendered_at: float


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

    # --- writes sent aside, their answer awaited on the event loop (server/commit_queue.py)

    def aside_writes(self) -> PostgresStore:
        return self

    def render_write(self, changes: Changes) -> PgWrite:
        if changes.events and not changes.events[0].seq:
            self.number_events(changes)
        seq = changes.events[-1].seq if changes.events else self.head_seq
        batch = self._pg.new_batch()
        with self._pg.rendering(batch):
            write_changes(self._pg, changes, seq, None, ())
        # The numbering goes on from here; the stored head is read back should a send fail.
        self.head_seq = seq
        return PgWrite(changes, batch, time.perf_counter())

    def send_writes(self, writes: Sequence[PgWrite]) -> PgSend:
        return self._pg.start_send([write.batch for write in writes])

    def wrote(self, write: PgWrite) -> None:
        if self.on_write is not None:
            self.on_write(write.changes, time.perf_counter() - write.rendered_at)

    def unwind(self, writes: Sequence[PgWrite]) -> None:
        # The writes were numbered in order after the stored head: it is just before the
        # first of their events (read from them, not from a database that may be away).
        first = next((write.changes.events[0].seq for write in writes if write.changes.events), 0)
        if first:
            self.head_seq = first - 1
        for write in writes:
            for event in write.changes.events:
                event.seq = 0

    @property
    def schema_version(self) -> int:
        return self._pg.schema_version()
