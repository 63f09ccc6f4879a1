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

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg

from ..core.changes import Changes
from . import reads, staged
from .errors import StoreUnusable
from .postgres_connection import PgDatabase, PgSend, RenderedBatch, connect, describe, open_database
from .postgres_errors import one_line, typed_pg_errors
from .records import StagedChunk, StoredSubmission
from .sql_store import RenderedWrite, SqlStore
from .writes import write_changes


@dataclass(slots=True)
class PgWrite(RenderedWrite):
    """A commit's write rendered (:meth:`PostgresStore.render_write`): its statements."""

    batch: RenderedBatch


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
        self._durability = durability
        self._pg = open_database(url, durability)
        self._side: PgDatabase | None = None
        self._side_lock = threading.Lock()
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
        with self._side_lock:
            if self._side is not None:
                self._side.close()
        self._close_reader()

    def _open_reader(self) -> PgDatabase:
        """A connection of its own for the long reads of the history (SqlStore's reader):
        each statement reads what is committed, never waiting for the loop's write in flight."""
        return PgDatabase(self.url, self._durability, connect(self.url, self._durability))

    # --- a Submit's request id and staged rows, from a thread ----------------------------

    #: :meth:`find_submission` and :meth:`stage` may be called from a thread: they run on a
    #: connection of their own, so they neither wait for a write in flight on the loop's
    #: connection nor hold the loop for their round trips (server/submissions.py, staging.py).
    side_connection = True

    def find_submission(self, request_id: str) -> StoredSubmission | None:
        """The stored Submit of ``request_id``, read on the side connection; committed rows
        only, as every read here."""
        with self._side_lock:
            return reads.find_submission(self._side_database(), request_id)

    def stage(self, chunk: StagedChunk) -> None:
        """Write rows of new jobs, staged (invisible until the Submit's final commit), in one
        transaction on the side connection: its rows as column arrays, the leader's fence
        first, so that a deposed supervisor stages nothing either (its rows would hold job ids
        the new leader gives again)."""
        with self._side_lock:
            side = self._side_database()
            staged.stage(side, side.batched_transaction, chunk)

    def _side_database(self) -> PgDatabase:
        """The side connection (the caller holds its lock): opened on first use, and again
        after it was lost; fenced as the loop's."""
        if self._side is None:
            self._side = PgDatabase(self.url, self._durability, connect(self.url, self._durability))
            self._side.fence_epoch = self._pg.fence_epoch
            self._side.on_deposed = self._pg.on_deposed
        return self._side

    # --- writes sent aside, their answer awaited on the event loop (server/commit_queue.py)

    #: A send is a round trip: writes queue up behind the one in flight (server/commit_queue.py).
    gathers = False

    def aside_writes(self) -> PostgresStore:
        return self

    def render_write(self, changes: Changes, submission: tuple[str, str] | None = None) -> PgWrite:
        seq = self._rendered(changes)
        batch = self._pg.new_batch()
        try:
            with self._pg.rendering(batch):
                write_changes(self._pg, changes, seq, submission, ())
        except BaseException:
            self.unwind([RenderedWrite(changes, seq, 0.0, submission)])
            raise
        return PgWrite(changes, seq, time.perf_counter(), submission, batch)

    def send_writes(self, writes: Sequence[PgWrite]) -> PgSend:
        return self._pg.start_send([write.batch for write in writes])

    @property
    def schema_version(self) -> int:
        return self._pg.schema_version()
