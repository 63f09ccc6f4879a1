"""The stored event log: reading it after a sequence number, replaying jobs, retention.

The events themselves are written with the rest of a commit (:mod:`.writes`). The same
queries on SQLite and PostgreSQL (:mod:`.database`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.events import Event
from .database import Database, Transactions, scalar
from .rows import EVENT_COLUMNS, event_from_row


def read_events(db: Database, after_seq: int, limit: int) -> list[Event]:
    return [
        event_from_row(row)
        for row in db.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
    ]


def job_events(db: Database, job_ids: Sequence[int]) -> list[Event]:
    """Every stored event of these jobs, in order: the history catch-up replays."""
    if not job_ids:
        return []
    marks = ",".join("?" * len(job_ids))
    return [
        event_from_row(row)
        for row in db.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE job_id IN ({marks}) ORDER BY seq",
            list(job_ids),
        )
    ]


def trim_events(
    db: Database, transaction: Transactions, head_seq: int, keep_last: int, before_time: float
) -> int:
    """Delete old events (retention); returns how many. The newest event (``head_seq``)
    always stays, so the sequence continues from it after a restart."""
    cutoff = 0
    if keep_last > 0:
        cutoff = max(cutoff, head_seq - keep_last)
    if before_time > 0:
        cutoff = max(
            cutoff,
            scalar(db, "SELECT COALESCE(MAX(seq), 0) FROM events WHERE time < ?", (before_time,)),
        )
    cutoff = min(cutoff, head_seq - 1)
    if cutoff <= 0:
        return 0
    with transaction():
        deleted = db.execute("DELETE FROM events WHERE seq <= ?", (cutoff,)).rowcount
    return int(deleted)


def oldest_seq(db: Database) -> int:
    return scalar(db, "SELECT COALESCE(MIN(seq), 0) FROM events")
