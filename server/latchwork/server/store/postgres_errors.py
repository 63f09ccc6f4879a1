"""PostgreSQL's failures as the store's typed errors (:mod:`.errors`), by SQLSTATE.

psycopg raises one class per SQLSTATE; the supervisor needs to know only what SQLite's codes
tell it: full (retry later), unavailable (a moment later: a lost connection, a server
shutting down, a lock or serialization conflict), damaged, or refused (a constraint: the
text is kept, for the log). Messages are made one line (libpq's span several).
"""

from __future__ import annotations

import psycopg

from .errors import (
    StorageCorrupt,
    StorageError,
    StorageFull,
    StorageUnavailable,
    typed_errors,
)

# SQLSTATE classes and codes (PostgreSQL's appendix A).
_DISK_FULL = "53100"
_CORRUPT = ("XX001", "XX002")  # data_corrupted, index_corrupted
_UNAVAILABLE_CLASSES = (
    "08",  # connection exception
    "53",  # insufficient resources (out of memory, too many connections)
    "57",  # operator intervention (admin shutdown, crash shutdown, cannot connect now)
    "40",  # transaction rollback (serialization failure, deadlock)
    "55",  # object not in prerequisite state (lock not available)
    "25",  # invalid transaction state (read-only transaction: a hot standby)
)


def one_line(error: BaseException) -> str:
    """The error's text on one line (libpq's messages carry hints on lines of their own)."""
    parts = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(parts) or type(error).__name__


def translate_pg(error: psycopg.Error) -> StorageError:
    """The typed error for a psycopg error (its text kept as the message, for the log)."""
    state = error.sqlstate or ""
    kind: type[StorageError]
    if state == _DISK_FULL:
        kind = StorageFull
    elif state in _CORRUPT:
        kind = StorageCorrupt
    elif state[:2] in _UNAVAILABLE_CLASSES or (
        not state and isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
    ):
        kind = StorageUnavailable  # also: the connection is lost or closed (no SQLSTATE)
    else:
        kind = StorageError
    return kind(f"{one_line(error)} ({state or type(error).__name__})")


#: The PostgreSQL store's decorator (psycopg's errors, typed by :func:`translate_pg`).
typed_pg_errors = typed_errors(psycopg.Error, translate_pg)
