"""The SQLite store: one file in WAL mode under the data directory.

Every operation of the supervisor is written in one transaction together with the events it
caused, so the log and the state can never disagree, and an event is published only after it
is durable. ``synchronous=NORMAL`` in WAL mode keeps every committed transaction across a
crash of the process (kill -9); ``durability = "full"`` also survives power loss.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.changes import Changes
from ..core.events import Event, EventName, EventType
from ..core.model import Job, Subjob, WorkItem
from ..core.states import JobStatus, WorkStatus
from .codec import decode_spec, encode_spec
from .migrations import MIGRATIONS

_EVENT_COLUMNS = (
    "seq, time, name, type, job_id, pgrp, label, user, subjob_id, work_name, host, status, "
    "previous_status, message, callback_run_id"
)


@dataclass(slots=True)
class StoredState:
    """Everything the supervisor keeps in memory, as loaded at start."""

    jobs: list[Job] = field(default_factory=list)
    head_seq: int = 0
    last_job_id: int = 0


@dataclass(frozen=True, slots=True)
class StoredSubmission:
    digest: str
    job_ids: list[int]
    pgrp: int
    seq: int


class SqliteStore:
    def __init__(self, path: Path, *, durability: str = "normal") -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._refuse_newer_schema()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except BaseException:
            self._db.close()
            raise
        self.head_seq = self._scalar("SELECT COALESCE(MAX(seq), 0) FROM events")

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return self._scalar("PRAGMA user_version")

    def _scalar(self, sql: str, params: Sequence[object] = ()) -> int:
        row = self._db.execute(sql, params).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _refuse_newer_schema(self) -> None:
        """A database written by a newer Latchwork is left exactly as it is."""
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"{self.path} has schema version {version}, newer than this Latchwork "
                f"({len(MIGRATIONS)}); upgrade Latchwork"
            )

    def _migrate(self) -> None:
        version = self.schema_version
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
            "submit_time, start_time, end_time FROM jobs ORDER BY id"
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
            "start_time, end_time, message, lease_id FROM work ORDER BY job_id, idx"
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
            "ORDER BY job_id, id"
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
            last_job_id=self._scalar("SELECT COALESCE(MAX(id), 0) FROM jobs"),
        )

    # --- writing -----------------------------------------------------------------------

    def write(self, changes: Changes, submission: tuple[str, str] | None = None) -> None:
        """Store ``changes`` in one transaction and number its events.

        ``submission`` (request id, digest) records an idempotent Submit in the same
        transaction. On failure nothing is written and the events stay unnumbered.
        """
        seq = self.head_seq
        for event in changes.events:
            seq += 1
            event.seq = seq
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            jobs = list(changes.dirty_jobs.values())
            known = {job.id for job in changes.new_jobs}
            db.executemany(
                "INSERT INTO jobs (id, pgrp, pid, label, user, status, blocked, suspended, "
                "removed, spec, submit_time, start_time, end_time) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
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
                    for j in changes.new_jobs
                ],
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
                    if j.id not in known
                ],
            )
            work = [(job.id, item) for job in changes.new_jobs for item in job.work]
            work.extend(
                (key[0], item) for key, item in changes.dirty_work.items() if key[0] not in known
            )
            db.executemany(
                "INSERT OR REPLACE INTO work (job_id, idx, name, status, retries, attempts, "
                "subjob_id, host, exit_code, start_time, end_time, message, lease_id) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
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
                    for job_id, w in work
                ],
            )
            subjobs = [(job.id, s) for job in changes.new_jobs for s in job.subjobs]
            subjobs.extend(
                (key[0], s) for key, s in changes.dirty_subjobs.items() if key[0] not in known
            )
            db.executemany(
                "INSERT OR REPLACE INTO subjobs (job_id, id, status, host, start_time, "
                "ran_failure) VALUES (?,?,?,?,?,?)",
                [
                    (job_id, s.id, s.status.value, s.host, s.start_time, s.ran_failure)
                    for job_id, s in subjobs
                ],
            )
            db.executemany(
                f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [_event_row(e) for e in changes.events],
            )
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

    def oldest_seq(self) -> int:
        return self._scalar("SELECT COALESCE(MIN(seq), 0) FROM events")


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
