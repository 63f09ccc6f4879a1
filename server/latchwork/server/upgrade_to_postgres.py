"""The upgrade path from SQLite to PostgreSQL, behind ``latchwork migrate``.

It copies a stopped supervisor's SQLite store (``latchwork.db``) into an empty PostgreSQL
database, all of it in one transaction (``store.copying``), and says what it copied; then the
supervisor starts with ``store = "postgresql://…"``. It refuses, with one line and exit status
1, what would lose or mix state: a source that is missing or not a Latchwork database, a
source a running supervisor still writes (its data directory's lock is held), a database it
cannot reach, and a database that already holds jobs or events (nothing is half-copied). The
URL's password is never printed (``store_location.masked``).

The command's parser lives with ``serve``'s in :mod:`latchwork.server.commands`, which imports
this module only when the command runs; the store's modules (and psycopg) come later still.
"""

from __future__ import annotations

from pathlib import Path

from .instance_lock import InstanceLock, InstanceLocked
from .store_location import masked, redacted

# The names the supervisor gives them (config.Settings.database, app.LOCK_NAME), repeated here
# so that the command need not import the app.
DATABASE_NAME = "latchwork.db"
LOCK_NAME = "latchwork.lock"


class MigrateRefused(Exception):
    """The copy cannot be made; the message is the one line the operator reads."""


def migrate(source: Path, url: str) -> list[str]:
    """Copy the store at ``source`` into ``url``; the lines that say what was copied.
    Raises :class:`MigrateRefused` (nothing written) when it cannot."""
    database = source / DATABASE_NAME if source.is_dir() else source
    if not database.is_file():
        raise MigrateRefused(f"{database} does not exist (give the {DATABASE_NAME} to copy)")
    lock_path = database.parent / LOCK_NAME
    lock: InstanceLock | None = None
    if lock_path.exists():
        try:
            lock = InstanceLock.acquire(lock_path, f"migrating to {masked(url)}")
        except InstanceLocked as held:
            raise MigrateRefused(
                f"{database.parent} is in use by {held.holder()}: stop that supervisor first"
            ) from None
        except OSError:
            lock = None  # a read-only directory: no supervisor can be writing there either
    try:
        return _copy(database, url)
    finally:
        if lock is not None:
            lock.release()


def _copy(database: Path, url: str) -> list[str]:
    from .store.copying import copy_sqlite_to_postgres
    from .store.errors import StorageError, StoreUnusable

    try:
        report = copy_sqlite_to_postgres(database, url)
    except (StoreUnusable, StorageError, OSError) as error:
        raise MigrateRefused(redacted(str(error), url)) from None
    head = "events up to seq"
    width = max(len(name) for name in (*report.rows, head))
    return [
        f"latchwork migrate: copied {database} to {masked(url)}",
        *(f"  {table:<{width}}  {rows:>11,} rows" for table, rows in report.rows.items()),
        f"  {head:<{width}}  {report.head_seq:>11,}",
        f'next: start the supervisor with store = "{masked(url)}" (or --store)',
    ]
