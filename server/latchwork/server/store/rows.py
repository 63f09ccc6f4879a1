"""Domain objects as table rows and back: the columns of each table and their order.

One place for the layout of every row, so that what is written and what is read cannot drift
apart. Nothing here touches a database (values in, tuples out), so a second store (PostgreSQL,
issue 16) with the same tables shares it. Values are those both databases take alike: booleans
as 0/1 integers, and the column ``user`` quoted (a reserved word in PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..core.events import Event, EventName, EventType
from ..core.model import Job, Subjob, WorkItem
from ..core.runs import CallbackRun
from ..core.states import JobStatus, WorkStatus
from ..core.triggers.engine import Callback
from .codec import decode_callback, decode_spec, encode_callback, encode_spec
from .records import StagedChunk, StoredCallback

JOB_COLUMNS = (
    'id, pgrp, pid, label, "user", status, blocked, suspended, removed, spec, submit_time, '
    "start_time, end_time, cascade_depth, name"
)
"""``name`` repeats ``spec``'s, so that a listing by name is filtered in SQL (schema 8)."""
WORK_COLUMNS = (
    "job_id, idx, name, status, retries, attempts, subjob_id, host, exit_code, start_time, "
    "end_time, message, lease_id"
)
SUBJOB_COLUMNS = "job_id, id, status, host, start_time, ran_failure"
EVENT_COLUMNS = (
    'seq, time, name, type, job_id, pgrp, label, "user", subjob_id, work_name, host, status, '
    "previous_status, message, callback_run_id"
)
RUN_COLUMNS = (
    "id, callback_id, job_id, triggers, binding, event_seq, due_time, done, outcome, "
    "start_time, duration_ms, output, error, error_line, delay_seconds, depth"
)
CALLBACK_COLUMNS = "id, job_id, spec, from_dependency, fired, state, registered_seq"
WATCH_COLUMNS = "job_id, callback_id, owner_id"


# --- jobs, work items, instances -------------------------------------------------------------


def job_row(j: Job) -> tuple[object, ...]:
    """A job's row, in the order of :data:`JOB_COLUMNS`."""
    return (
        j.id,
        j.pgrp,
        j.pid,
        j.label,
        j.user,
        j.status.value,
        int(j.blocked),
        int(j.suspended),
        int(j.removed),
        encode_spec(j.spec),
        j.submit_time,
        j.start_time,
        j.end_time,
        j.cascade_depth,
        j.spec.name,
    )


def job_from_row(row: Sequence[Any]) -> Job:
    """The job of a :data:`JOB_COLUMNS` row, without its work items and instances (its
    ``pid`` column is an index only: a job's parent is part of its spec)."""
    return Job(
        id=row[0],
        pgrp=row[1],
        label=row[3],
        user=row[4],
        spec=decode_spec(row[9]),
        submit_time=row[10],
        blocked=bool(row[6]),
        suspended=bool(row[7]),
        removed=bool(row[8]),
        status=JobStatus(row[5]),
        start_time=row[11],
        end_time=row[12],
        cascade_depth=row[13],
    )


def job_state_row(j: Job) -> tuple[object, ...]:
    """What changes of a stored job: status, blocked, suspended, removed, start and end
    time, then its id (for ``WHERE id``)."""
    return (
        j.status.value,
        int(j.blocked),
        int(j.suspended),
        int(j.removed),
        j.start_time,
        j.end_time,
        j.id,
    )


def work_row(job_id: int, w: WorkItem) -> tuple[object, ...]:
    """A work item's row, in the order of :data:`WORK_COLUMNS`."""
    return (
        job_id,
        w.index,
        w.name,
        w.status.value,
        w.retries,
        w.attempts,
        w.subjob_id,
        w.host,
        w.exit_code,
        w.start_time,
        w.end_time,
        w.message,
        w.lease_id,
    )


# A status by its stored value: a dict lookup, where ``WorkStatus(value)`` costs a call into
# the enum machinery per row (a tenth of a restart's load, 100,000 frames).
_WORK_STATUS: dict[str, WorkStatus] = {status.value: status for status in WorkStatus}


def work_from_row(row: Sequence[Any]) -> WorkItem:
    """The work item of a :data:`WORK_COLUMNS` row (its job's id is ``row[0]``)."""
    # Positional, in WorkItem's field order: keywords cost a fifth more per row.
    return WorkItem(row[1], row[2], _WORK_STATUS[row[3]], *row[4:13])


def subjob_row(job_id: int, s: Subjob) -> tuple[object, ...]:
    """An instance's row, in the order of :data:`SUBJOB_COLUMNS`."""
    return (job_id, s.id, s.status.value, s.host, s.start_time, int(s.ran_failure))


def subjob_from_row(row: Sequence[Any]) -> Subjob:
    """The instance of a :data:`SUBJOB_COLUMNS` row (its job's id is ``row[0]``)."""
    return Subjob(
        id=row[1],
        status=_WORK_STATUS[row[2]],
        host=row[3],
        start_time=row[4],
        ran_failure=bool(row[5]),
    )


def staged_chunks(jobs: Sequence[Job], chunk_rows: int) -> list[StagedChunk]:
    """The rows of new jobs, in chunks of at most ``chunk_rows`` rows (a job's row, with
    its encoded spec, counts as one). Pure (no I/O), so it may run in a thread."""
    chunks = [StagedChunk()]

    def room() -> StagedChunk:
        if chunks[-1].rows >= chunk_rows:
            chunks.append(StagedChunk())
        return chunks[-1]

    for job in jobs:
        room().jobs.append(job_row(job))
        for item in job.work:
            room().work.append(work_row(job.id, item))
        for subjob in job.subjobs:
            room().subjobs.append(subjob_row(job.id, subjob))
    return [c for c in chunks if c.rows]


# --- events ----------------------------------------------------------------------------------


def event_row(e: Event) -> tuple[object, ...]:
    """An event's row, in the order of :data:`EVENT_COLUMNS`."""
    return (
        e.seq,
        e.time,
        e.name.value,
        e.type.value,
        e.job_id,
        e.pgrp,
        e.label,
        e.user,
        e.subjob_id,
        e.work_name,
        e.host,
        e.status,
        e.previous_status,
        e.message,
        e.callback_run_id,
    )


def event_from_row(row: Sequence[Any]) -> Event:
    """The event of an :data:`EVENT_COLUMNS` row."""
    return Event(
        seq=int(row[0]),
        time=float(row[1]),
        name=EventName(row[2]),
        type=EventType(row[3]),
        job_id=int(row[4]),
        pgrp=int(row[5]),
        label=str(row[6]),
        user=str(row[7]),
        subjob_id=int(row[8]),
        work_name=str(row[9]),
        host=str(row[10]),
        status=str(row[11]),
        previous_status=str(row[12]),
        message=str(row[13]),
        callback_run_id=int(row[14]),
    )


# --- callbacks and their runs ----------------------------------------------------------------


def callback_row(c: Callback) -> tuple[object, ...]:
    """A new callback's row, in the order of :data:`CALLBACK_COLUMNS`."""
    return (
        c.id,
        c.job_id,
        encode_callback(c.spec),
        int(c.from_dependency),
        c.fired,
        json.dumps(c.state()),
        c.registered_seq,
    )


def callback_progress_row(c: Callback) -> tuple[object, ...]:
    """What changes of a stored callback: fired, state, then its id (for ``WHERE id``)."""
    return (c.fired, json.dumps(c.state()), c.id)


def callback_from_row(row: Sequence[Any]) -> StoredCallback:
    """The callback of a :data:`CALLBACK_COLUMNS` row."""
    return StoredCallback(
        id=row[0],
        job_id=row[1],
        spec=decode_callback(row[2]),
        from_dependency=bool(row[3]),
        fired=row[4],
        state=json.loads(row[5]),
        registered_seq=row[6],
    )


def watch_rows(c: Callback) -> list[tuple[object, ...]]:
    """A new callback's rows of ``callback_watches`` (:data:`WATCH_COLUMNS`): one per job
    whose events can latch it, or one of job 0 when a clock or the whole farm can."""
    jobs = c.watched_jobs
    return [(job_id, c.id, c.job_id) for job_id in (jobs if jobs is not None else [0])]


def run_row(r: CallbackRun) -> tuple[object, ...]:
    """A callback run's row, in the order of :data:`RUN_COLUMNS`."""
    return (
        r.id,
        r.callback_id,
        r.job_id,
        r.triggers,
        r.binding,
        r.event_seq,
        r.due_time,
        int(r.done),
        r.outcome,
        r.start_time,
        r.duration_ms,
        r.output,
        r.error,
        r.error_line,
        r.delay_seconds,
        r.depth,
    )


def run_from_row(row: Sequence[Any]) -> CallbackRun:
    """The callback run of a :data:`RUN_COLUMNS` row."""
    return CallbackRun(
        id=row[0],
        callback_id=row[1],
        job_id=row[2],
        triggers=row[3],
        binding=row[4],
        event_seq=row[5],
        due_time=row[6],
        done=bool(row[7]),
        outcome=row[8],
        start_time=row[9],
        duration_ms=row[10],
        output=row[11],
        error=row[12],
        error_line=row[13],
        delay_seconds=row[14],
        depth=row[15],
    )
