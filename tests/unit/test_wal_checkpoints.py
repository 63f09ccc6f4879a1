"""The SQLite store checkpoints its write-ahead log in a thread of its own, never in a commit
(server/store/wal_checkpoints.py), and the log still starts again from its beginning: it does
not grow without end."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from latchwork.server.core.changes import Changes
from latchwork.server.store import SqliteStore
from latchwork.server.store.wal_checkpoints import WalCheckpoints

from .factories import frames_spec, new_job


def write_jobs(store: SqliteStore, first_id: int, count: int) -> None:
    """``count`` commits of one job each."""
    for job_id in range(first_id, first_id + count):
        changes = Changes(now=1.0)
        changes.new_jobs.append(new_job(frames_spec("1-5"), job_id))
        store.write(changes)


def pages_in_log(path: Path) -> int:
    """The pages the write-ahead log holds now (a PASSIVE checkpoint's report, which copies
    what it can and changes nothing else)."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as raw:
        ((_, in_log, _),) = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return int(in_log)


def test_a_commit_never_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "lw.db"
    store = SqliteStore(path)
    store.checkpoints.stop()  # only commits now
    try:
        write_jobs(store, 1, 1200)
        # past SQLite's default of a checkpoint in the commit that passes 1,000 pages
        assert pages_in_log(path) > 1000
    finally:
        store.close()


def test_the_thread_checkpoints_and_the_log_starts_again(tmp_path: Path) -> None:
    path = tmp_path / "lw.db"
    store = SqliteStore(path)
    try:
        write_jobs(store, 1, 300)
        grown = pages_in_log(path)
        assert grown > 300  # a page or more per commit: nothing checkpointed it in a commit
        seen = store.checkpoints.done
        deadline = time.monotonic() + 10
        while store.checkpoints.done < seen + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.checkpoints.done >= seen + 2
        write_jobs(store, 301, 1)  # the first commit after a whole checkpoint starts it again
        assert pages_in_log(path) < 20
        assert [job.id for job in store.load().jobs][-1] == 301
    finally:
        store.close()


def test_a_log_past_the_bound_is_started_again_by_a_restart_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "lw.db"
    store = SqliteStore(path)
    checkpoints = WalCheckpoints(path, period=3600, restart_frames=50)
    try:
        write_jobs(store, 1, 100)
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            checkpoints.checkpoint(db)
        assert checkpoints.restarts == 1 and checkpoints.done == 1
        write_jobs(store, 101, 1)
        assert pages_in_log(path) < 20
    finally:
        checkpoints.stop()
        store.close()
