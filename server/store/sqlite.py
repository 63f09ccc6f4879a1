"""The SQLite store: one file in WAL mode under the data directory.

Every operation of the supervisor is written in one transaction together with the events it
caused, so the log and the state can never disagree, and an event is published only after it
is durable. ``synchronous=NORMAL`` in WAL mode keeps every committed transaction across a
crash of the process (kill -9); ``durability = "full"`` also survives power loss.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.changes import Changes
from ..core.events import Event, EventName, EventType
from ..core.model import CallbackSpec, Job, Subjob, WorkItem
from ..core.runs import CallbackRun
from ..core.states import JobStatus, WorkStatus
from .codec import decode_callback, decode_spec, encode_callback, encode_spec
from .errors import StoreUnusable, typed_storage_errors, unusable
from .migrations import MIGRATIONS

_SQLITE_HEADER = b"SQLite format 3\x00"

_EVENT_COLUMNS = (
    "seq, time, name, type, job_id, pgrp, label, user, subjob_id, work_name, host, status, "
    "previous_status, message, callback_run_id"
)


_RUN_COLUMNS = (
    "id, callback_id, job_id, triggers, binding, event_seq, due_time, done, outcome, "
    "start_time, duration_ms, output, error, error_line, delay_seconds, depth"
)


@dataclass(slots=True)
class StoredState:
    """Everything the supervisor keeps in memory, as loaded at start."""

    jobs: list[Job] = field(default_factory=list)
    head_seq: int = 0
    last_job_id: int = 0


@dataclass(frozen=True, slots=True)
class StoredCallback:
    id: int
    job_id: int
    spec: CallbackSpec
    from_dependency: bool
    fired: int
    state: dict[str, Any]
    registered_seq: int


@dataclass(slots=True)
class StagedChunk:
    """Rows of a large Submit written in one short transaction, staged (see :meth:`stage`)."""

    jobs: list[tuple[object, ...]] = field(default_factory=list)
    work: list[tuple[object, ...]] = field(default_factory=list)
    subjobs: list[tuple[object, ...]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.jobs) + len(self.work) + len(self.subjobs)


@dataclass(frozen=True, slots=True)
class StoredSubmission:
    digest: str
    job_ids: list[int]
    pgrp: int
    seq: int


@typed_storage_errors
class SqliteStore:
    def __init__(self, path: Path, *, durability: str = "normal") -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._refuse_unusable_file()
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise unusable(path, error) from error
        try:
            self._refuse_foreign_or_newer()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._refuse_corrupt()
            self._migrate()
            self.leftover_staged = self._delete_staged(0, 0)
            self.head_seq = self._scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
        except sqlite3.Error as error:
            self._db.close()
            raise unusable(path, error) from error
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return self._scalar("PRAGMA user_version")

    def _scalar(self, sql: str, params: Sequence[object] = ()) -> int:
        row = self._db.execute(sql, params).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    # --- checks at start: one line naming the file and the problem, never a traceback ----

    def _refuse_unusable_file(self) -> None:
        """Problems visible before SQLite reads a byte: read-only files, foreign files."""
        path = self.path
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise StoreUnusable(
                f"{path} is read-only; the supervisor must be able to write it and its "
                "directory (check the file's attributes, permissions and the mount)"
            )
        if path.exists() and path.stat().st_size > 0:
            with open(path, "rb") as handle:
                header = handle.read(len(_SQLITE_HEADER))
            if header != _SQLITE_HEADER:
                raise StoreUnusable(
                    f"{path} is not a Latchwork database (it is not an SQLite file)"
                )

    def _refuse_foreign_or_newer(self) -> None:
        """A database written by a newer Latchwork, or by another program, is left as it is."""
        version = self._scalar("PRAGMA user_version")
        tables = {
            str(row[0])
            for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if (version == 0 and tables) or (version > 0 and not {"jobs", "events"} <= tables):
            raise StoreUnusable(
                f"{self.path} is not a Latchwork database (an SQLite file without "
                "Latchwork's tables)"
            )
        if version > len(MIGRATIONS):
            raise StoreUnusable(
                f"{self.path} was written by a newer version of Latchwork (schema version "
                f"{version}, newer than this Latchwork's {len(MIGRATIONS)}); upgrade Latchwork"
            )

    def _refuse_corrupt(self) -> None:
        """SQLite's quick check: a damaged page is found now, not by some later request."""
        problems = [str(row[0]) for row in self._db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            first = problems[0] if problems else "no answer"
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise StoreUnusable(
                f"{self.path} is corrupt (SQLite's quick_check: {first}{more}); "
                "restore it from a backup"
            )

    def _migrate(self) -> None:
        version = self._scalar("PRAGMA user_version")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={number}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # --- loading -----------------------------------------------------------------------

    def load(self) -> StoredState:
        jobs: dict[int, Job] = {}
        for row in self._db.execute(
            "SELECT id, pgrp, label, user, status, blocked, suspended, removed, spec, "
            "submit_time, start_time, end_time FROM jobs "
            "WHERE id NOT IN (SELECT id FROM staged_jobs) ORDER BY id"
        ):
            job = Job(
                id=row[0],
                pgrp=row[1],
                label=row[2],
                user=row[3],
                spec=decode_spec(row[8]),
                submit_time=row[9],
                blocked=bool(row[5]),
                suspended=bool(row[6]),
                removed=bool(row[7]),
                status=JobStatus(row[4]),
                start_time=row[10],
                end_time=row[11],
            )
            jobs[job.id] = job
        work_rows: dict[int, list[WorkItem]] = {}
        for row in self._db.execute(
            "SELECT job_id, idx, name, status, retries, attempts, subjob_id, host, exit_code, "
            "start_time, end_time, message, lease_id FROM work "
            "WHERE job_id NOT IN (SELECT id FROM staged_jobs) ORDER BY job_id, idx"
        ):
            work_rows.setdefault(row[0], []).append(
                WorkItem(
                    index=row[1],
                    name=row[2],
                    status=WorkStatus(row[3]),
                    retries=row[4],
                    attempts=row[5],
                    subjob_id=row[6],
                    host=row[7],
                    exit_code=row[8],
                    start_time=row[9],
                    end_time=row[10],
                    message=row[11],
                    lease_id=row[12],
                )
            )
        subjob_rows: dict[int, list[Subjob]] = {}
        for row in self._db.execute(
            "SELECT job_id, id, status, host, start_time, ran_failure FROM subjobs "
            "WHERE job_id NOT IN (SELECT id FROM staged_jobs) ORDER BY job_id, id"
        ):
            subjob_rows.setdefault(row[0], []).append(
                Subjob(
                    id=row[1],
                    status=WorkStatus(row[2]),
                    host=row[3],
                    start_time=row[4],
                    ran_failure=bool(row[5]),
                )
            )
        for job in jobs.values():
            job.work = work_rows.get(job.id, [])
            job.subjobs = subjob_rows.get(job.id, [])
            job.__post_init__()
            for item in job.work:
                if item.status is WorkStatus.RUNNING and 0 <= item.subjob_id < len(job.subjobs):
                    job.subjobs[item.subjob_id].work_index = item.index
        return StoredState(
            jobs=list(jobs.values()),
            head_seq=self.head_seq,
            # Staged jobs included: their ids are taken (a Submit is still writing them).
            last_job_id=self._scalar("SELECT COALESCE(MAX(id), 0) FROM jobs"),
        )

    # --- staged writes (large Submits) ---------------------------------------------------

    @staticmethod
    def staged_chunks(jobs: Sequence[Job], chunk_rows: int) -> list[StagedChunk]:
        """The rows of new jobs, in chunks of at most ``chunk_rows`` rows (a job's row, with
        its encoded spec, counts as one). Pure (no I/O), so it may run in a thread."""
        chunks = [StagedChunk()]

        def room() -> StagedChunk:
            if chunks[-1].rows >= chunk_rows:
                chunks.append(StagedChunk())
            return chunks[-1]

        for job in jobs:
            room().jobs.append(_job_row(job))
            for item in job.work:
                room().work.append(_work_row(job.id, item))
            for subjob in job.subjobs:
                room().subjobs.append(_subjob_row(job.id, subjob))
        return [c for c in chunks if c.rows]

    def stage(self, chunk: StagedChunk) -> None:
        """Write rows of new jobs, staged, in one transaction: invisible to :meth:`load`
        until :meth:`write` stores them with ``Changes.staged``."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", chunk.jobs
            )
            db.executemany("INSERT INTO staged_jobs (id) VALUES (?)", [(j[0],) for j in chunk.jobs])
            db.executemany(f"INSERT INTO work ({_WORK_COLUMNS}) VALUES ({_WORK_MARKS})", chunk.work)
            db.executemany(
                f"INSERT INTO subjobs ({_SUBJOB_COLUMNS}) VALUES (?,?,?,?,?,?)", chunk.subjobs
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def delete_staged(self, first_id: int, last_id: int) -> int:
        """Delete the staged jobs with ids in ``first_id``..``last_id`` and their rows (a
        Submit that failed while or after staging); returns how many jobs."""
        return self._delete_staged(first_id, last_id)

    def _delete_staged(self, first_id: int, last_id: int) -> int:
        """``0, 0``: every staged job (at start, those of a Submit the process died in)."""
        where = "id BETWEEN ? AND ?" if last_id else "1 = 1"
        params: tuple[int, ...] = (first_id, last_id) if last_id else ()
        staged = f"SELECT id FROM staged_jobs WHERE {where}"
        if not self._scalar(f"SELECT COUNT(*) FROM staged_jobs WHERE {where}", params):
            return 0
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            for table, key in (("work", "job_id"), ("subjobs", "job_id"), ("jobs", "id")):
                db.execute(f"DELETE FROM {table} WHERE {key} IN ({staged})", params)
            deleted = db.execute(f"DELETE FROM staged_jobs WHERE {where}", params).rowcount
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return int(deleted)

    # --- writing -----------------------------------------------------------------------

    def number_events(self, changes: Changes) -> None:
        """Give the events their sequence numbers, ahead of writing them."""
        seq = self.head_seq
        for event in changes.events:
            seq += 1
            event.seq = seq

    def write(self, changes: Changes, submission: tuple[str, str] | None = None) -> None:
        """Store ``changes`` in one transaction (numbering its events if not done yet).

        ``submission`` (request id, digest) records an idempotent Submit in the same
        transaction. On failure nothing is written and the events are unnumbered.
        """
        if changes.events and not changes.events[0].seq:
            self.number_events(changes)
        seq = changes.events[-1].seq if changes.events else self.head_seq
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            jobs = list(changes.dirty_jobs.values())
            known = {job.id for job in changes.new_jobs}
            # Rows of new jobs inserted here; staged ones were written before and are shown
            # (and updated like any other job's where they changed since).
            inserted: set[int] = set() if changes.staged else known
            if changes.staged:
                self._unstage(changes.new_jobs)
            else:
                db.executemany(
                    f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [_job_row(j) for j in changes.new_jobs],
                )
            db.executemany(
                "UPDATE jobs SET status=?, blocked=?, suspended=?, removed=?, start_time=?, "
                "end_time=? WHERE id=?",
                [
                    (
                        j.status.value,
                        j.blocked,
                        j.suspended,
                        j.removed,
                        j.start_time,
                        j.end_time,
                        j.id,
                    )
                    for j in jobs
                    if j.id not in inserted
                ],
            )
            work = [
                (job.id, item)
                for job in changes.new_jobs
                if job.id in inserted
                for item in job.work
            ]
            work.extend(
                (key[0], item) for key, item in changes.dirty_work.items() if key[0] not in inserted
            )
            db.executemany(
                f"INSERT OR REPLACE INTO work ({_WORK_COLUMNS}) VALUES ({_WORK_MARKS})",
                [_work_row(job_id, w) for job_id, w in work],
            )
            subjobs = [
                (job.id, s) for job in changes.new_jobs if job.id in inserted for s in job.subjobs
            ]
            subjobs.extend(
                (key[0], s) for key, s in changes.dirty_subjobs.items() if key[0] not in inserted
            )
            db.executemany(
                f"INSERT OR REPLACE INTO subjobs ({_SUBJOB_COLUMNS}) VALUES (?,?,?,?,?,?)",
                [_subjob_row(job_id, s) for job_id, s in subjobs],
            )
            db.executemany(
                f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [_event_row(e) for e in changes.events],
            )
            self._write_callbacks(changes)
            if submission is not None and changes.new_jobs:
                db.execute(
                    "INSERT INTO submissions (request_id, digest, job_ids, pgrp, seq, time) "
                    "VALUES (?,?,?,?,?,?)",
                    (
                        submission[0],
                        submission[1],
                        ",".join(str(j.id) for j in changes.new_jobs),
                        changes.new_jobs[0].pgrp,
                        seq,
                        changes.now,
                    ),
                )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            for event in changes.events:
                event.seq = 0
            raise
        self.head_seq = seq

    def _unstage(self, jobs: Sequence[Job]) -> None:
        """Make staged jobs visible: one DELETE of their ids (a Submit's ids are consecutive)."""
        first, last = jobs[0].id, jobs[-1].id
        shown = self._db.execute(
            "DELETE FROM staged_jobs WHERE id BETWEEN ? AND ?", (first, last)
        ).rowcount
        if shown != len(jobs) or last - first + 1 != len(jobs):
            raise RuntimeError(f"staged jobs {first}..{last}: {shown} of {len(jobs)} found")

    def _write_callbacks(self, changes: Changes) -> None:
        db = self._db
        db.executemany(
            "INSERT INTO callbacks (id, job_id, spec, from_dependency, fired, state, "
            "registered_seq) VALUES (?,?,?,?,?,?,?)",
            [
                (
                    c.id,
                    c.job_id,
                    encode_callback(c.spec),
                    c.from_dependency,
                    c.fired,
                    json.dumps(c.state()),
                    c.registered_seq,
                )
                for c in changes.new_callbacks
            ],
        )
        new_ids = {c.id for c in changes.new_callbacks}
        db.executemany(
            "UPDATE callbacks SET fired=?, state=? WHERE id=?",
            [
                (c.fired, json.dumps(c.state()), c.id)
                for c in changes.dirty_callbacks.values()
                if c.id not in new_ids
            ],
        )
        db.executemany(
            f"INSERT OR REPLACE INTO callback_runs ({_RUN_COLUMNS}) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [_run_row(r) for r in (*changes.new_runs, *changes.finished_runs)],
        )

    def load_callbacks(self) -> list[StoredCallback]:
        return [
            StoredCallback(
                id=row[0],
                job_id=row[1],
                spec=decode_callback(row[2]),
                from_dependency=bool(row[3]),
                fired=row[4],
                state=json.loads(row[5]),
                registered_seq=row[6],
            )
            for row in self._db.execute(
                "SELECT id, job_id, spec, from_dependency, fired, state, registered_seq "
                "FROM callbacks ORDER BY id"
            )
        ]

    def last_callback_id(self) -> int:
        return self._scalar("SELECT COALESCE(MAX(id), 0) FROM callbacks")

    def last_run_id(self) -> int:
        return self._scalar("SELECT COALESCE(MAX(id), 0) FROM callback_runs")

    def pending_runs(self) -> list[CallbackRun]:
        return [
            _row_run(row)
            for row in self._db.execute(
                f"SELECT {_RUN_COLUMNS} FROM callback_runs WHERE done = 0 ORDER BY id"
            )
        ]

    def list_runs(
        self, *, job_id: int = 0, callback_id: int = 0, before_id: int = 0, limit: int = 100
    ) -> list[CallbackRun]:
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
            _row_run(row)
            for row in self._db.execute(
                f"SELECT {_RUN_COLUMNS} FROM callback_runs WHERE {' AND '.join(clauses)} "
                "ORDER BY id DESC LIMIT ?",
                params,
            )
        ]

    def job_events(self, job_ids: Sequence[int]) -> list[Event]:
        """Every stored event of these jobs, in order: the history catch-up replays."""
        if not job_ids:
            return []
        marks = ",".join("?" * len(job_ids))
        return [
            _row_event(row)
            for row in self._db.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE job_id IN ({marks}) ORDER BY seq",
                list(job_ids),
            )
        ]

    def find_submission(self, request_id: str) -> StoredSubmission | None:
        row = self._db.execute(
            "SELECT digest, job_ids, pgrp, seq FROM submissions WHERE request_id=?",
            (request_id,),
        ).fetchone()
        if row is None:
            return None
        return StoredSubmission(row[0], [int(x) for x in row[1].split(",")], row[2], row[3])

    # --- the event log -----------------------------------------------------------------

    def read_events(self, after_seq: int, limit: int) -> list[Event]:
        return [
            _row_event(row)
            for row in self._db.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            )
        ]

    def trim_events(self, *, keep_last: int = 0, before_time: float = 0.0) -> int:
        """Delete old events (retention); returns how many. The newest event always stays,
        so the sequence continues from it after a restart."""
        cutoff = 0
        if keep_last > 0:
            cutoff = max(cutoff, self.head_seq - keep_last)
        if before_time > 0:
            cutoff = max(
                cutoff,
                self._scalar(
                    "SELECT COALESCE(MAX(seq), 0) FROM events WHERE time < ?", (before_time,)
                ),
            )
        cutoff = min(cutoff, self.head_seq - 1)
        if cutoff <= 0:
            return 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            deleted = self._db.execute("DELETE FROM events WHERE seq <= ?", (cutoff,)).rowcount
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return int(deleted)

    def oldest_seq(self) -> int:
        return self._scalar("SELECT COALESCE(MIN(seq), 0) FROM events")


_JOB_COLUMNS = (
    "id, pgrp, pid, label, user, status, blocked, suspended, removed, spec, submit_time, "
    "start_time, end_time"
)
_WORK_COLUMNS = (
    "job_id, idx, name, status, retries, attempts, subjob_id, host, exit_code, start_time, "
    "end_time, message, lease_id"
)
_WORK_MARKS = ",".join("?" * 13)
_SUBJOB_COLUMNS = "job_id, id, status, host, start_time, ran_failure"


def _job_row(j: Job) -> tuple[object, ...]:
    return (
        j.id,
        j.pgrp,
        j.pid,
        j.label,
        j.user,
        j.status.value,
        j.blocked,
        j.suspended,
        j.removed,
        encode_spec(j.spec),
        j.submit_time,
        j.start_time,
        j.end_time,
    )


def _work_row(job_id: int, w: WorkItem) -> tuple[object, ...]:
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


def _subjob_row(job_id: int, s: Subjob) -> tuple[object, ...]:
    return (job_id, s.id, s.status.value, s.host, s.start_time, s.ran_failure)


def _event_row(e: Event) -> tuple[object, ...]:
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


def _row_event(row: Sequence[Any]) -> Event:
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


def _run_row(r: CallbackRun) -> tuple[object, ...]:
    return (
        r.id,
        r.callback_id,
        r.job_id,
        r.triggers,
        r.binding,
        r.event_seq,
        r.due_time,
        r.done,
        r.outcome,
        r.start_time,
        r.duration_ms,
        r.output,
        r.error,
        r.error_line,
        r.delay_seconds,
        r.depth,
    )


def _row_run(row: Sequence[Any]) -> CallbackRun:
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
