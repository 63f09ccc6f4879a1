"""The write of one commit: everything an operation changed, in one transaction.

Jobs, work items, instances, the events they caused, callbacks and their runs, and an
idempotent Submit's record are written together, so the log and the state can never
disagree, and an event is published only after it is durable. The statements are the same on
SQLite and PostgreSQL (:mod:`.database`); the store opens the transaction around them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.changes import Changes
from .codec import encode_spec
from .database import Database, insert, put
from .hosts import StoredHost, put_hosts
from .rows import (
    CALLBACK_COLUMNS,
    EVENT_COLUMNS,
    JOB_COLUMNS,
    RUN_COLUMNS,
    SUBJOB_COLUMNS,
    WATCH_COLUMNS,
    WORK_COLUMNS,
    callback_progress_row,
    callback_row,
    event_row,
    job_row,
    job_state_row,
    run_row,
    subjob_row,
    watch_rows,
    work_row,
)
from .staged import unstage

_INSERT_JOBS = insert("jobs", JOB_COLUMNS)
_UPDATE_JOBS = (
    "UPDATE jobs SET status=?, blocked=?, suspended=?, removed=?, start_time=?, "
    "end_time=? WHERE id=?"
)
# A job changed after submit (ModifyJobs): its spec, and the instances off its list's end.
_UPDATE_SPECS = "UPDATE jobs SET spec=?, name=? WHERE id=?"
_DELETE_SUBJOBS_FROM = "DELETE FROM subjobs WHERE job_id=? AND id>=?"
_PUT_WORK = put("work", WORK_COLUMNS, "job_id, idx")
_PUT_SUBJOBS = put("subjobs", SUBJOB_COLUMNS, "job_id, id")
_INSERT_EVENTS = insert("events", EVENT_COLUMNS)
_INSERT_CALLBACKS = insert("callbacks", CALLBACK_COLUMNS)
_INSERT_WATCHES = insert("callback_watches", WATCH_COLUMNS)
_UPDATE_CALLBACKS = "UPDATE callbacks SET fired=?, state=? WHERE id=?"
_PUT_RUNS = put("callback_runs", RUN_COLUMNS, "id")
_INSERT_SUBMISSION = (
    "INSERT INTO submissions (request_id, digest, job_ids, pgrp, seq, time) VALUES (?,?,?,?,?,?)"
)


def write_changes(
    db: Database,
    changes: Changes,
    seq: int,
    submission: tuple[str, str] | None,
    hosts: Sequence[StoredHost] = (),
) -> None:
    """Store ``changes``, whose events are numbered, in the caller's transaction; ``seq`` is
    the head of the log after them. ``submission`` (request id, digest) records an idempotent
    Submit. On failure the error is raised (and the caller's transaction rolled back)."""
    put_hosts(db, hosts)
    jobs = list(changes.dirty_jobs.values())
    known = {job.id for job in changes.new_jobs}
    # Rows of new jobs inserted here; staged ones were written before and are shown
    # (and updated like any other job's where they changed since).
    inserted: set[int] = set() if changes.staged else known
    if changes.staged:
        unstage(db, changes.new_jobs)
    else:
        db.executemany(_INSERT_JOBS, [job_row(j) for j in changes.new_jobs])
    db.executemany(_UPDATE_JOBS, [job_state_row(j) for j in jobs if j.id not in inserted])
    respecified = [j for j in changes.respecified.values() if j.id not in inserted]
    db.executemany(_UPDATE_SPECS, [(encode_spec(j.spec), j.spec.name, j.id) for j in respecified])
    db.executemany(_DELETE_SUBJOBS_FROM, [(j.id, len(j.subjobs)) for j in respecified])
    work = [(job.id, item) for job in changes.new_jobs if job.id in inserted for item in job.work]
    work.extend(
        (key[0], item) for key, item in changes.dirty_work.items() if key[0] not in inserted
    )
    db.executemany(_PUT_WORK, [work_row(job_id, w) for job_id, w in work])
    subjobs = [(job.id, s) for job in changes.new_jobs if job.id in inserted for s in job.subjobs]
    subjobs.extend(
        (key[0], s) for key, s in changes.dirty_subjobs.items() if key[0] not in inserted
    )
    db.executemany(_PUT_SUBJOBS, [subjob_row(job_id, s) for job_id, s in subjobs])
    db.executemany(_INSERT_EVENTS, [event_row(e) for e in changes.events])
    _write_callbacks(db, changes)
    if submission is not None and changes.new_jobs:
        db.execute(
            _INSERT_SUBMISSION,
            (
                submission[0],
                submission[1],
                ",".join(str(j.id) for j in changes.new_jobs),
                changes.new_jobs[0].pgrp,
                seq,
                changes.now,
            ),
        )


def _write_callbacks(db: Database, changes: Changes) -> None:
    db.executemany(_INSERT_CALLBACKS, [callback_row(c) for c in changes.new_callbacks])
    db.executemany(_INSERT_WATCHES, [row for c in changes.new_callbacks for row in watch_rows(c)])
    new_ids = {c.id for c in changes.new_callbacks}
    db.executemany(
        _UPDATE_CALLBACKS,
        [callback_progress_row(c) for c in changes.dirty_callbacks.values() if c.id not in new_ids],
    )
    db.executemany(_PUT_RUNS, [run_row(r) for r in (*changes.new_runs, *changes.finished_runs)])
