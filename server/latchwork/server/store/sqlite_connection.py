"""Opening the SQLite file, and the transactions every write of the store runs in.

Opening refuses, in one line naming the file and the problem (never a traceback), whatever
would otherwise fail later or damage something: a read-only file, a file that is not a
Latchwork database, one written by a newer Latchwork, a corrupt one. Then it applies the
schema migrations. ``synchronous=NORMAL`` in WAL mode keeps every committed transaction
across a crash of the process (kill -9); ``durability = "full"`` also survives power loss.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from ..file_modes import private_dir, private_file, tighten_if_present
from .database import scalar
from .errors import StoreUnusable, unusable
from .migrations import MIGRATIONS

_SQLITE_HEADER = b"SQLite format 3\x00"


@contextmanager
def opening(
    path: Path, durability: str, *, background_check: bool = False
) -> Iterator[tuple[sqlite3.Connection, QuickCheck | None]]:
    """The connection to ``path``, checked, configured and migrated, and the quick check
    still running in the background (None: it ran already).

    The block runs the rest of the store's opening: an error of SQLite's in it is refused
    like one while opening (``StoreUnusable``), and any error closes the connection.
    ``background_check``: a file that needs no migration is checked in a thread while the
    store goes on (the supervisor loads its state meanwhile, and waits for the verdict
    before it serves: :meth:`QuickCheck.verdict`); the check reads the whole file, a
    fifth of a second per 100 MiB here.
    """
    private_dir(path.parent)
    _refuse_unusable_file(path)
    _make_private(path)
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as error:
        raise unusable(path, error) from error
    try:
        _refuse_foreign_or_newer(db, path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
        db.execute("PRAGMA foreign_keys=ON")
        check: QuickCheck | None = None
        if background_check and schema_version(db) == len(MIGRATIONS):
            check = QuickCheck(path)
        else:
            _refuse_corrupt(db, path)
        _migrate(db)
        yield db, check
    except sqlite3.Error as error:
        db.close()
        raise unusable(path, error) from error
    except BaseException:
        db.close()
        raise


class Transaction:
    """One write transaction: committed if the block completes, else rolled back (unless
    SQLite ended it already) and the error raised.

    A class rather than a ``@contextmanager`` generator: it is on every commit's path, and
    costs a third as much.
    """

    __slots__ = ("_db",)

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        db = self._db
        if kind is None:
            try:
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        elif db.in_transaction:
            db.execute("ROLLBACK")


def schema_version(db: sqlite3.Connection) -> int:
    return scalar(db, "PRAGMA user_version")


# --- checks at start: one line naming the file and the problem, never a traceback ------------


def _refuse_unusable_file(path: Path) -> None:
    """Problems visible before SQLite reads a byte: read-only files, foreign files."""
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise StoreUnusable(
            f"{path} is read-only; the supervisor must be able to write it and its "
            "directory (check the file's attributes, permissions and the mount)"
        )
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
        if header != _SQLITE_HEADER:
            raise StoreUnusable(f"{path} is not a Latchwork database (it is not an SQLite file)")


def _make_private(path: Path) -> None:
    """The database 0600 (created so, or tightened when ours), and any WAL or shared-memory
    file an older Latchwork left; SQLite gives new ones the database's mode
    (:mod:`latchwork.server.file_modes`)."""
    private_file(path)
    for suffix in ("-wal", "-shm"):
        tighten_if_present(path.with_name(path.name + suffix))


def _refuse_foreign_or_newer(db: sqlite3.Connection, path: Path) -> None:
    """A database written by a newer Latchwork, or by another program, is left as it is."""
    version = schema_version(db)
    tables = {
        str(row[0]) for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    if (version == 0 and tables) or (version > 0 and not {"jobs", "events"} <= tables):
        raise StoreUnusable(
            f"{path} is not a Latchwork database (an SQLite file without Latchwork's tables)"
        )
    if version > len(MIGRATIONS):
        raise StoreUnusable(
            f"{path} was written by a newer version of Latchwork (schema version "
            f"{version}, newer than this Latchwork's {len(MIGRATIONS)}); upgrade Latchwork"
        )


def _refuse_corrupt(db: sqlite3.Connection, path: Path) -> None:
    """SQLite's quick check: a damaged page is found now, not by some later request."""
    _refuse_problems([str(row[0]) for row in db.execute("PRAGMA quick_check")], path)


def _refuse_problems(problems: list[str], path: Path) -> None:
    if problems != ["ok"]:
        first = problems[0] if problems else "no answer"
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise StoreUnusable(
            f"{path} is corrupt (SQLite's quick_check: {first}{more}); restore it from a backup"
        )


class QuickCheck:
    """SQLite's quick check of ``path``, in a thread on a read-only connection of its own.

    SQLite runs it without Python's lock, so on a machine of two cores or more it costs the
    start nothing while the supervisor loads (WAL lets both read at once).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._problems: list[str] = []
        self._thread = threading.Thread(target=self._run, name="sqlite-quick-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            db = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                self._problems = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
            finally:
                db.close()
        except sqlite3.Error as error:
            self._problems = [str(error)]

    def verdict(self) -> None:
        """Wait for the check; ``StoreUnusable`` if it found the file damaged."""
        self._thread.join()
        _refuse_problems(self._problems, self._path)


def _migrate(db: sqlite3.Connection) -> None:
    """Apply the migrations this file lacks, each in its own transaction."""
    version = schema_version(db)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with Transaction(db):
            for statement in script.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={number}")
