"""The SQLite store: one file in WAL mode under the data directory.

Every operation of the supervisor is written in one transaction together with the events it
caused, so the log and the state can never disagree, and an event is published only after it
is durable.

:class:`SqliteStore` opens the file (:mod:`.sqlite_connection`: the refusals, the migrations,
the transactions) and turns SQLite's errors into typed ones (``typed_storage_errors`` wraps
every public method); what it does is :class:`~.sql_store.SqlStore`'s, shared with the
PostgreSQL store. A worker's reports go through the commit queue (server/commit_queue.py),
which gathers those of a turn of the event loop into one transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from ..core.changes import Changes
from .errors import typed_storage_errors
from .hosts import StoredHost as StoredHost  # re-exported (host_registry)
from .protocol import Answered
from .records import StagedChunk as StagedChunk  # re-exported (staging, tests)
from .records import StoredCallback as StoredCallback
from .records import StoredState as StoredState
from .records import StoredSubmission as StoredSubmission
from .sql_store import RenderedWrite, SqlStore
from .sqlite_connection import Transaction, opening, schema_version
from .wal_checkpoints import WalCheckpoints


@typed_storage_errors
class SqliteStore(SqlStore):
    def __init__(
        self, path: Path, *, durability: str = "normal", background_check: bool = False
    ) -> None:
        """``background_check``: SQLite's quick check of the file runs while the state is
        loaded, and :meth:`load` waits for its verdict (the server's start); without it the
        check is over before this returns."""
        self.path = path
        with opening(path, durability, background_check=background_check) as (db, check):
            self._sqlite = db
            self._check = check
            super().__init__(db, partial(Transaction, db))
            # Checkpoints in a thread of their own, never in a commit (.wal_checkpoints).
            db.execute("PRAGMA wal_autocheckpoint=0")
            self.checkpoints = WalCheckpoints(path)

    def load(self, retired_before: float | None = None) -> StoredState:
        """The state, as :class:`SqlStore`'s; refused (``StoreUnusable``) if the quick check
        still running when the store opened finds the file damaged."""
        try:
            return super().load(retired_before)
        finally:
            if self._check is not None:
                check, self._check = self._check, None
                check.verdict()

    def close(self) -> None:
        self.checkpoints.stop()
        self._close_reader()
        self._sqlite.close()

    def _open_reader(self) -> sqlite3.Connection:
        """A second connection to the file, for reads only: in WAL mode it reads the last
        committed state while the loop's connection writes."""
        reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        reader.execute("PRAGMA query_only=ON")
        return reader

    # --- a worker's reports, grouped into one transaction per turn of the event loop -------

    #: The commit queue gathers a turn's reports and sends them together (server/commit_queue.py).
    gathers = True

    def aside_writes(self) -> SqliteStore:
        return self

    def render_write(
        self, changes: Changes, submission: tuple[str, str] | None = None
    ) -> RenderedWrite:
        """Number ``changes``' events; the write itself is made with its group's."""
        return RenderedWrite(changes, self._rendered(changes), time.perf_counter(), submission)

    def send_writes(self, writes: Sequence[RenderedWrite]) -> Answered:
        """Write ``writes`` in one transaction, at once; its error, typed, is the answer."""
        try:
            self.write_rendered(writes)
        except Exception as error:
            return Answered(error)
        return Answered(None)

    @property
    def schema_version(self) -> int:
        return schema_version(self._sqlite)
