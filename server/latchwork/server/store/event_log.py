"""The stored event log: reading it after a sequence number, replaying jobs, retention.

The events themselves are written with the rest of a commit (:mod:`.writes`). The same
queries on SQLite and PostgreSQL (:mod:`.database`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.events import Event, EventType
from ..core.filters import EventFilter
from .database import Database, Transactions, scalar
from .rows import EVENT_COLUMNS, event_from_row

#: Values of one criterion beyond which :func:`narrowing` leaves it to the filter itself.
MAX_NARROWING_VALUES = 500


def read_events(
    db: Database,
    after_seq: int,
    limit: int,
    *,
    through_seq: int = 0,
    matching: EventFilter | None = None,
) -> list[Event]:
    """Up to ``limit`` events with seq > ``after_seq`` (and ≤ ``through_seq`` if given), in
    order; with ``matching``, only those its criteria may let through (:func:`narrowing`)."""
    clauses = ["seq > ?"]
    parameters: list[object] = [after_seq]
    if through_seq:
        clauses.append("seq <= ?")
        parameters.append(through_seq)
    if matching is not None:
        for column, values in narrowing(matching):
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            parameters.extend(values)
    parameters.append(limit)
    return [
        event_from_row(row)
        for row in db.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(clauses)} "
            "ORDER BY seq LIMIT ?",
            parameters,
        )
    ]


def narrowing(matching: EventFilter) -> list[tuple[str, Sequence[object]]]:
    """The columns and values to which ``matching`` narrows the events, as SQL can select
    them: only a necessary condition (the filter itself is applied to what is read), so a
    criterion of more than :data:`MAX_NARROWING_VALUES` values is left out rather than sent."""
    types = matching.types or frozenset(EventType)
    if not matching.include_callback_runs:
        types = types - {EventType.CALLBACK}
    criteria: list[tuple[str, Sequence[object]]] = [
        ("job_id", sorted(matching.job_ids)),
        ("pgrp", sorted(matching.pgrps)),
        ("label", sorted(matching.labels)),
        ('"user"', sorted(matching.users)),
        ("name", sorted(name.value for name in matching.names)),
        ("type", sorted(t.value for t in types) if types != frozenset(EventType) else []),
    ]
    return [
        (column, values) for column, values in criteria if 0 < len(values) <= MAX_NARROWING_VALUES
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
