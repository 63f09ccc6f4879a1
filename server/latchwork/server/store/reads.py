"""Reading the store back: the state loaded at start, callbacks, their runs, submissions.

Jobs of a Submit still being written (staged, see :mod:`.staged`) are left out of the state,
but their ids count as taken. The same queries on SQLite and PostgreSQL (:mod:`.database`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.model import Job, Subjob, WorkItem
from ..core.runs import CallbackRun
from . import history
from .database import Database, rows_for_ids, scalar
from .records import StoredCallback, StoredState, StoredSubmission
from .rows import (
    CALLBACK_COLUMNS,
    JOB_COLUMNS,
    RUN_COLUMNS,
    SUBJOB_COLUMNS,
    WORK_COLUMNS,
    callback_from_row,
    job_from_row,
    run_from_row,
    subjob_from_row,
    work_from_row,
)


def load_state(db: Database, head_seq: int, retired_before: float | None = None) -> StoredState:
    """Every job (not staged) with its work items and instances, as the supervisor keeps
    them in memory; with ``retired_before``, only those not retired at that cutoff
    (:mod:`.history`), and what is kept of the others."""
    if retired_before is not None:
        return _live_state(db, head_seq, retired_before)
    jobs: dict[int, Job] = {}
    for row in db.execute(
        f"SELECT {JOB_COLUMNS} FROM jobs WHERE id NOT IN (SELECT id FROM staged_jobs) ORDER BY id"
    ):
        job = job_from_row(row)
        jobs[job.id] = job
    work_rows: dict[int, list[WorkItem]] = {}
    for row in db.execute(
        f"SELECT {WORK_COLUMNS} FROM work "
        "WHERE job_id NOT IN (SELECT id FROM staged_jobs) ORDER BY job_id, idx"
    ):
        work_rows.setdefault(row[0], []).append(work_from_row(row))
    subjob_rows: dict[int, list[Subjob]] = {}
    for row in db.execute(
        f"SELECT {SUBJOB_COLUMNS} FROM subjobs "
        "WHERE job_id NOT IN (SELECT id FROM staged_jobs) ORDER BY job_id, id"
    ):
        subjob_rows.setdefault(row[0], []).append(subjob_from_row(row))
    for job in jobs.values():
        history.attach_rows(job, work_rows.get(job.id, []), subjob_rows.get(job.id, []))
    return StoredState(
        jobs=list(jobs.values()),
        head_seq=head_seq,
        # Staged jobs included: their ids are taken (a Submit is still writing them).
        last_job_id=scalar(db, "SELECT COALESCE(MAX(id), 0) FROM jobs"),
    )


def _live_state(db: Database, head_seq: int, cutoff: float) -> StoredState:
    """The jobs not retired at ``cutoff``, whole, and the summary of those retired."""
    live = [
        job_from_row(row)
        for row in db.execute(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE NOT ({history.retired_at()}) "
            f"AND {history.NOT_STAGED} ORDER BY id",
            (cutoff,),
        )
    ]
    return StoredState(
        jobs=history.with_rows(db, live),
        head_seq=head_seq,
        last_job_id=scalar(db, "SELECT COALESCE(MAX(id), 0) FROM jobs"),
        retired=history.retired_summary(db, cutoff),
    )


def load_callbacks(db: Database, owners: Sequence[int] | None = None) -> list[StoredCallback]:
    """Every stored callback in id order, or only those of the jobs ``owners``, by owner and
    then id."""
    if owners is None:
        return [
            callback_from_row(row)
            for row in db.execute(f"SELECT {CALLBACK_COLUMNS} FROM callbacks ORDER BY id")
        ]
    return [
        callback_from_row(row)
        for row in rows_for_ids(
            db,
            f"SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE job_id IN ({{ids}}) "
            "ORDER BY job_id, id",
            owners,
        )
    ]


def owners_compiled_at_start(db: Database) -> list[int]:
    """The jobs with a callback that a clock or the whole farm can latch, or stored before
    its watched jobs were (``callback_watches`` job 0): compiled at every start."""
    return [
        int(row[0])
        for row in db.execute(
            "SELECT DISTINCT owner_id FROM callback_watches WHERE job_id = 0 ORDER BY owner_id"
        )
    ]


def watchers_of(db: Database, job_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(watched job, owner) for every callback whose trigger names one of ``job_ids``."""
    return [
        (int(row[0]), int(row[1]))
        for row in rows_for_ids(
            db,
            "SELECT DISTINCT job_id, owner_id FROM callback_watches WHERE job_id IN ({ids})",
            job_ids,
        )
    ]


def callback_owner(db: Database, callback_id: int) -> int:
    """The job the callback ``callback_id`` belongs to (0: no such callback)."""
    return scalar(db, "SELECT COALESCE(MAX(job_id), 0) FROM callbacks WHERE id = ?", (callback_id,))


def last_callback_id(db: Database) -> int:
    return scalar(db, "SELECT COALESCE(MAX(id), 0) FROM callbacks")


def last_run_id(db: Database) -> int:
    return scalar(db, "SELECT COALESCE(MAX(id), 0) FROM callback_runs")


def pending_runs(db: Database) -> list[CallbackRun]:
    return [
        run_from_row(row)
        for row in db.execute(f"SELECT {RUN_COLUMNS} FROM callback_runs WHERE done = 0 ORDER BY id")
    ]


def list_runs(
    db: Database, *, job_id: int, callback_id: int, before_id: int, limit: int
) -> list[CallbackRun]:
    """Runs, newest first, of one job and/or callback (0: any), older than ``before_id``."""
    clauses = ["1=1"]
    params: list[object] = []
    if job_id:
        clauses.append("job_id = ?")
        params.append(job_id)
    if callback_id:
        clauses.append("callback_id = ?")
        params.append(callback_id)
    if before_id:
        clauses.append("id < ?")
        params.append(before_id)
    params.append(limit)
    return [
        run_from_row(row)
        for row in db.execute(
            f"SELECT {RUN_COLUMNS} FROM callback_runs WHERE {' AND '.join(clauses)} "
            "ORDER BY id DESC LIMIT ?",
            params,
        )
    ]


def find_submission(db: Database, request_id: str) -> StoredSubmission | None:
    row = db.execute(
        "SELECT digest, job_ids, pgrp, seq FROM submissions WHERE request_id=?",
        (request_id,),
    ).fetchone()
    if row is None:
        return None
    return StoredSubmission(row[0], [int(x) for x in row[1].split(",")], row[2], row[3])
