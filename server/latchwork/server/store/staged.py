"""Staged writes: the rows of a large Submit, written ahead in short transactions.

A Submit of many jobs would hold the database (and the event loop) for long in one
transaction. Its rows are written in chunks instead, each job's id listed in ``staged_jobs``,
which hides it from :func:`~.reads.load_state`; the commit that stores the Submit's
events makes them visible with one DELETE (:func:`unstage`). A Submit that fails, or a
process that dies, in between leaves staged rows that :func:`delete_staged` removes. The same
statements on SQLite and PostgreSQL (:mod:`.database`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.model import Job
from .database import Database, Transactions, Unread, insert, scalar
from .records import StagedChunk
from .rows import JOB_COLUMNS, SUBJOB_COLUMNS, WORK_COLUMNS


def stage(db: Database, transaction: Transactions, chunk: StagedChunk) -> None:
    """Write rows of new jobs, staged, in one transaction."""
    with transaction():
        db.executemany(insert("jobs", JOB_COLUMNS), chunk.jobs)
        db.executemany("INSERT INTO staged_jobs (id) VALUES (?)", [(j[0],) for j in chunk.jobs])
        db.executemany(insert("work", WORK_COLUMNS), chunk.work)
        db.executemany(insert("subjobs", SUBJOB_COLUMNS), chunk.subjobs)


def delete_staged(db: Database, transaction: Transactions, first_id: int, last_id: int) -> int:
    """Delete the staged jobs with ids in ``first_id``..``last_id`` and their rows; returns
    how many jobs. ``0, 0``: every staged job (at start, those of a Submit the process died
    in)."""
    where = "id BETWEEN ? AND ?" if last_id else "1 = 1"
    params: tuple[int, ...] = (first_id, last_id) if last_id else ()
    staged = f"SELECT id FROM staged_jobs WHERE {where}"
    if not scalar(db, f"SELECT COUNT(*) FROM staged_jobs WHERE {where}", params):
        return 0
    with transaction():
        for table, key in (("work", "job_id"), ("subjobs", "job_id"), ("jobs", "id")):
            db.execute(f"DELETE FROM {table} WHERE {key} IN ({staged})", params)
        deleted = db.execute(f"DELETE FROM staged_jobs WHERE {where}", params).rowcount
    return int(deleted)


_STAGED_COUNT_GUARD = (
    "SELECT 1 / (CASE WHEN (SELECT COUNT(*) FROM staged_jobs WHERE id BETWEEN ? AND ?) = ? "
    "THEN 1 ELSE 0 END)"
)
"""Fails, dividing by zero, unless the staged jobs are all there: PostgreSQL's check inside a
batched transaction, whose statements cannot be read before it ends (SQLite answers a
division by zero with NULL: its check is the DELETE's row count)."""


def unstage(db: Database, jobs: Sequence[Job]) -> None:
    """Make staged jobs visible: one DELETE of their ids (a Submit's ids are consecutive).
    Runs inside the caller's transaction, which fails, writing nothing, should a staged job
    be missing."""
    first, last = jobs[0].id, jobs[-1].id
    if last - first + 1 != len(jobs):
        raise RuntimeError(f"staged jobs {first}..{last}: {len(jobs)} jobs, not consecutive")
    db.execute(_STAGED_COUNT_GUARD, (first, last, len(jobs)))
    shown = db.execute("DELETE FROM staged_jobs WHERE id BETWEEN ? AND ?", (first, last))
    if not isinstance(shown, Unread) and shown.rowcount != len(jobs):
        raise RuntimeError(f"staged jobs {first}..{last}: {shown.rowcount} of {len(jobs)} found")
