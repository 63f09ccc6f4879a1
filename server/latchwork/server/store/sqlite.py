"""The SQLite store: one file in WAL mode under the data directory.

Every operation of the supervisor is written in one transaction together with the events it
caused, so the log and the state can never disagree, and an event is published only after it
is durable.

:class:`SqliteStore` opens the file (:mod:`.sqlite_connection`: the refusals, the migrations,
the transactions) and turns SQLite's errors into typed ones (``typed_storage_errors`` wraps
every public method); what it does is :class:`~.sql_store.SqlStore`'s, shared with the
PostgreSQL store.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from .errors import typed_storage_errors
from .hosts import StoredHost as StoredHost  # re-exported (host_registry)
from .records import StagedChunk as StagedChunk  # re-exported (staging, tests)
from .records import StoredCallback as StoredCallback
from .records import StoredState as StoredState
from .records import StoredSubmission as StoredSubmission
from .sql_store import SqlStore
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
        self._sqlite.close()

    @property
    def schema_version(self) -> int:
        return schema_version(self._sqlite)
