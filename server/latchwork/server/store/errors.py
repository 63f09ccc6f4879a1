"""Storage failures as types the rest of the supervisor can act on.

sqlite3 raises one ``OperationalError`` for a full disk, a busy file and an I/O error alike;
callers need to tell them apart (a full disk is worth retrying later, a client should hear
RESOURCE_EXHAUSTED rather than a Python class name). Every public method of the store raises
these instead of sqlite3's errors: ``typed_storage_errors`` wraps them once, at the boundary.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from ..core.errors import SupervisorError

# SQLite's primary result codes (the low byte of an extended code).
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26


class StorageError(SupervisorError):
    """The store could not do what was asked; nothing was written.

    ``str(error)`` keeps SQLite's own text, for the log; the caller reads ``public_message``.
    """

    public_message = (
        "the supervisor could not use its storage; nothing was changed — try again later"
    )


class StorageFull(StorageError):
    """The disk (or the file system holding the database) is full."""

    public_message = (
        "the supervisor's storage is full; nothing was changed — try again when space is freed"
    )


class StorageUnavailable(StorageError):
    """Busy, locked, read-only or failing storage: possibly better a moment later."""

    public_message = (
        "the supervisor's storage is unavailable; nothing was changed — try again later"
    )


class Deposed(StorageUnavailable):
    """Another supervisor took over the database (server/leadership.py): this one may never
    write to it again, and stops."""

    public_message = (
        "this supervisor is no longer the leader (a standby took over); nothing was changed "
        "— reconnect to the leader"
    )


class StorageCorrupt(StorageError):
    """SQLite found the file damaged."""

    public_message = "the supervisor's storage is damaged; nothing was changed — tell the operator"


def primary_code(error: sqlite3.Error) -> int:
    code = getattr(error, "sqlite_errorcode", None)
    return int(code) & 0xFF if isinstance(code, int) else 0


def translate(error: sqlite3.Error) -> StorageError:
    """The typed error for a sqlite3 error (its text kept as the message, for the log)."""
    code = primary_code(error)
    kind: type[StorageError]
    if code == SQLITE_FULL or "database or disk is full" in str(error):
        kind = StorageFull
    elif code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        kind = StorageCorrupt
    elif code in (
        SQLITE_BUSY,
        SQLITE_LOCKED,
        SQLITE_IOERR,
        SQLITE_READONLY,
        SQLITE_CANTOPEN,
        SQLITE_PERM,
    ):
        kind = StorageUnavailable
    elif isinstance(error, sqlite3.ProgrammingError):
        kind = StorageUnavailable  # e.g. the store was closed during shutdown
    else:
        kind = StorageError
    return kind(f"{error} ({getattr(error, 'sqlite_errorname', type(error).__name__)})")


F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)
E = TypeVar("E", bound=BaseException)


def typed_errors(
    driver_error: type[E], translated: Callable[[E], StorageError]
) -> Callable[[C], C]:
    """A class decorator: every public method (and property) of the class, its bases' too,
    raises ``translated(error)`` instead of a ``driver_error`` of the database's driver.

    One mechanism for every store: a method added later is covered without thought.
    """

    def typed(method: F) -> F:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except driver_error as error:
                raise translated(error) from error

        return wrapper  # type: ignore[return-value]

    def decorate(cls: C) -> C:
        members: dict[str, Any] = {}
        for klass in reversed(cls.__mro__[:-1]):  # a subclass's own member wins
            members.update(vars(klass))
        for name, member in members.items():
            if name.startswith("_"):
                continue
            if isinstance(member, property) and member.fget is not None:
                setattr(cls, name, property(typed(member.fget), member.fset, member.fdel))
            elif isinstance(member, staticmethod):
                setattr(cls, name, staticmethod(typed(member.__func__)))
            elif isinstance(member, classmethod):
                setattr(cls, name, classmethod(typed(member.__func__)))
            elif callable(member) and not isinstance(member, type):
                setattr(cls, name, typed(member))
        return cls

    return decorate


#: The SQLite store's decorator (sqlite3's errors, typed by :func:`translate`).
typed_storage_errors = typed_errors(sqlite3.Error, translate)


class StoreUnusable(RuntimeError):
    """The database cannot be used at all. The message is one line naming the file (or the
    PostgreSQL database) and the problem (read-only, unreachable, not a Latchwork database,
    written by a newer version, corrupt)."""


def unusable(path: object, error: sqlite3.Error) -> StoreUnusable:
    """The one-line refusal for an error SQLite raised while opening ``path``."""
    code = primary_code(error)
    if code in (SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM):
        return StoreUnusable(f"{path} is read-only or cannot be opened for writing ({error})")
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return StoreUnusable(f"{path} is corrupt ({error}); restore it from a backup")
    if code == SQLITE_FULL:
        return StoreUnusable(f"{path} cannot be opened: the disk is full")
    return StoreUnusable(f"{path} cannot be opened ({error})")
