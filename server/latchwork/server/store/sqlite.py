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


@typed_storage_errors
class SqliteStore(SqlStore):
    def __init__(self, path: Path, *, durability: str = "normal") -> None:
        self.path = path
        with opening(path, durability) as db:
            self._sqlite = db
            super().__init__(db, partial(Transaction, db))

    def close(self) -> None:
        self._sqlite.close()

    @property
    def schema_version(self) -> int:
        return schema_version(self._sqlite)
