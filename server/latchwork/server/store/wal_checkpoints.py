"""Checkpoints of the SQLite write-ahead log, in a thread of their own, off the commit path.

In WAL mode a commit appends to the log, and the pages are copied back into the database file
by a *checkpoint*. By default SQLite runs one inside the commit that takes the log past 1,000
pages, with the database file's fsync: that commit then takes 5-8 ms instead of a few tens of
microseconds (measured here: 81 of 20,000 small commits, 0.4 %, all others under 0.5 ms), and
it is the supervisor's event loop that waits. A dependency's chain of commits (the
predecessor's report, the firing's unblock, the dependent's lease) meets one of those often
enough to set its p99.

So the store's connection never checkpoints (``wal_autocheckpoint = 0``) and this thread, on a
connection of its own, runs a ``PASSIVE`` checkpoint every :data:`CHECKPOINT_SECONDS`: it
copies what it can without waiting for, or blocking, the store's transactions (SQLite does its
work outside Python's lock, so the loop goes on meanwhile). When a checkpoint has copied the
whole log before the next commit, that commit starts the log from its beginning again. Under
a steady stream of commits that moment never comes (each checkpoint ends behind the commits
made while it ran), so once the log holds more than :data:`RESTART_FRAMES` pages a
``RESTART`` checkpoint holds the commits back while it copies the little the last one left
and starts the log again: a stall of a few milliseconds every few seconds at a farm's full
rate, where the commit path stalled for 5-8 ms at every 1,000 pages before, and none under a
lighter load. A checkpoint that fails (a full disk) is tried again at the next period; the
commits go on, into a longer log.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from ..throttled_log import ThrottledLog

log = logging.getLogger(__name__)
_failures = ThrottledLog(log)

CHECKPOINT_SECONDS = 0.25
"""How often the log is copied back into the database file."""
RESTART_FRAMES = 16_384
"""Pages in the log (64 MiB of 4 KiB pages) past which a checkpoint starts it again."""


class WalCheckpoints:
    """The checkpointing thread of one SQLite store: started with it, stopped before it closes."""

    def __init__(
        self,
        path: Path,
        period: float = CHECKPOINT_SECONDS,
        restart_frames: int = RESTART_FRAMES,
    ) -> None:
        self._path = path
        self._period = period
        self._restart_frames = restart_frames
        self._stop = threading.Event()
        self.done = 0
        """Checkpoints run (for tests and the curious)."""
        self.restarts = 0
        """Of them, those that held the commits back to start the log again."""
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            log.warning("%s: no checkpoints of the write-ahead log (%s)", self._path, error)
            return
        try:
            while not self._stop.wait(self._period):
                self.checkpoint(db)
        finally:
            db.close()

    def checkpoint(self, db: sqlite3.Connection) -> None:
        try:
            # (busy, pages in the log, pages copied); read whole, so no read lock is left
            # that would keep the log from starting again
            ((_, in_log, _),) = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            if in_log > self._restart_frames:
                db.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
                self.restarts += 1
            self.done += 1
        except sqlite3.Error as error:
            _failures.warning(
                "%s: a checkpoint of the write-ahead log failed (%s)", self._path, error
            )

    def stop(self) -> None:
        """End the thread (its connection closed) before the store's connection closes, which
        then runs SQLite's last checkpoint itself."""
        self._stop.set()
        self._thread.join()
