"""Opening the store a location names: a PostgreSQL URL, or the path of an SQLite file.

The one place that chooses the database; everything else holds a :class:`~.protocol.Store`.
The PostgreSQL store (and psycopg with it) is imported only when a URL asks for it: a
supervisor on SQLite never pays for loading the driver at start.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..store_location import is_postgres as is_postgres_url
from .protocol import Store
from .sqlite import SqliteStore

__all__ = ["is_postgres_url", "open_store"]


def open_store(
    location: str | Path,
    *,
    durability: str = "normal",
    epoch: int | None = None,
    on_deposed: Callable[[], None] | None = None,
    background_check: bool = False,
) -> Store:
    """The store at ``location``, opened (checked and migrated); ``StoreUnusable`` when it
    cannot be used, naming it and the problem in one line. ``epoch`` and ``on_deposed``: a
    PostgreSQL store's fence (:class:`~.postgres.PostgresStore`, server/leadership.py).
    ``background_check``: an SQLite file's quick check runs on while the state loads, and
    the first ``load`` waits for it (:class:`~.sqlite.SqliteStore`)."""
    if is_postgres_url(location):
        from .postgres import PostgresStore  # only a URL needs the driver

        return PostgresStore(
            str(location), durability=durability, epoch=epoch, on_deposed=on_deposed
        )
    return SqliteStore(Path(location), durability=durability, background_check=background_check)
