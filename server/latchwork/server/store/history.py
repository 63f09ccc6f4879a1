"""Finished jobs kept in the store only: which they are at start, and reading them back.

A supervisor keeps in memory only the jobs that can still change (issue 16, item 1): a job
finished long enough ago is *retired* (:mod:`latchwork.server.retired_jobs`) and read from here
when asked for. A job is retired at start when it is final (complete, failed, killed or
removed), finished before the cutoff, and has no running work item (a lease the restart must
recover). The same statements on SQLite and PostgreSQL; staged jobs (a Submit still being
written) are never read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ..core.model import Job, Subjob, WorkItem
from ..core.states import FINAL_JOB_STATUSES, JobStatus, WorkStatus
from .database import IDS_PER_QUERY, Database, rows_for_ids
from .records import RetiredSummary
from .rows import (
    JOB_COLUMNS,
    SUBJOB_COLUMNS,
    WORK_COLUMNS,
    job_from_row,
    subjob_from_row,
    work_from_row,
)

_STAGED = "(SELECT id FROM staged_jobs)"
NOT_STAGED = f"id NOT IN {_STAGED}"

#: Rows read at a time while a listing looks for its page of finished jobs.
PAGE_BATCH = 200

_FINAL = ", ".join(f"'{status.value}'" for status in sorted(FINAL_JOB_STATUSES))
_RUNNING = "(SELECT job_id FROM work WHERE status = 'running')"


def retired_at(alias: str = "") -> str:
    """The SQL condition of a job retired at start (one ``?``: the cutoff time)."""
    a = f"{alias}." if alias else ""
    return (
        f"{a}status IN ({_FINAL}) AND {a}end_time < ? AND {a}id NOT IN {_RUNNING} "
        f"AND {a}id NOT IN {_STAGED}"
    )


def retired_summary(db: Database, cutoff: float) -> RetiredSummary:
    """What is kept of the jobs retired at start with ``cutoff``: one pass over the jobs'
    rows, and one over the frames' statuses (not joined to their jobs: a join of every
    frame to its job took twice as long)."""
    summary = RetiredSummary()
    for user, status, pgrp, pid, count in db.execute(
        'SELECT "user", status, pgrp, pid, COUNT(*) FROM jobs '
        f'WHERE {retired_at()} GROUP BY "user", status, pgrp, pid',
        (cutoff,),
    ):
        by_status = summary.jobs_by_user.setdefault(user, {})
        by_status[JobStatus(status)] = by_status.get(JobStatus(status), 0) + count
        summary.count += count
        summary.pgrps.add(pgrp)
        if pid:
            summary.parents.add(pid)
    summary.stored_frames = {
        WorkStatus(status): count
        for status, count in db.execute(
            "SELECT status, COUNT(*) FROM work WHERE job_id NOT IN "
            f"(SELECT id FROM jobs WHERE status = 'removed') AND job_id NOT IN {_STAGED} "
            "GROUP BY status"
        )
    }
    return summary


def final_frames_of(db: Database, user: str) -> dict[WorkStatus, int]:
    """The frames by status of ``user``'s stored final jobs, those removed left out."""
    statuses = [s.value for s in sorted(FINAL_JOB_STATUSES) if s is not JobStatus.REMOVED]
    return {
        WorkStatus(status): count
        for status, count in db.execute(
            "SELECT w.status, COUNT(*) FROM work w JOIN jobs j ON j.id = w.job_id "
            f'WHERE j."user" = ? AND j.status IN ({",".join("?" * len(statuses))}) '
            f"AND j.id NOT IN {_STAGED} GROUP BY w.status",
            (user, *statuses),
        )
    }


def load_jobs(db: Database, job_ids: Sequence[int]) -> list[Job]:
    """The stored jobs of these ids, whole (work items and instances), in id order; ids of
    no stored job (or of a staged one) are left out."""
    found = [
        job_from_row(row)
        for row in rows_for_ids(
            db,
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE id IN ({{ids}}) AND {NOT_STAGED} ORDER BY id",
            job_ids,
        )
    ]
    return with_rows(db, found)


def _with_rows(db: Database, jobs: list[Job]) -> list[Job]:
    """``jobs`` with their work items and instances read and attached."""
    if not jobs:
        return jobs
    ids = [job.id for job in jobs]
    marks = ",".join("?" * len(ids))
    work: dict[int, list[WorkItem]] = {}
    for row in db.execute(
        f"SELECT {WORK_COLUMNS} FROM work WHERE job_id IN ({marks}) ORDER BY job_id, idx", ids
    ):
        work.setdefault(row[0], []).append(work_from_row(row))
    subjobs: dict[int, list[Subjob]] = {}
    for row in db.execute(
        f"SELECT {SUBJOB_COLUMNS} FROM subjobs WHERE job_id IN ({marks}) ORDER BY job_id, id", ids
    ):
        subjobs.setdefault(row[0], []).append(subjob_from_row(row))
    for job in jobs:
        attach_rows(job, work.get(job.id, []), subjobs.get(job.id, []))
    return jobs


def attach_rows(job: Job, work: list[WorkItem], subjobs: list[Subjob]) -> None:
    """Give a job read from its row its work items and instances (and their links)."""
    job.work = work
    job.subjobs = subjobs
    job.__post_init__()
    for item in work:
        if item.status is WorkStatus.RUNNING and 0 <= item.subjob_id < len(subjobs):
            subjobs[item.subjob_id].work_index = item.index


def job_id_by_label(db: Database, pgrp: int, label: str) -> int:
    """The id of the stored job labelled ``label`` in ``pgrp`` (0: none)."""
    row = db.execute(
        f"SELECT id FROM jobs WHERE pgrp = ? AND label = ? AND {NOT_STAGED}", (pgrp, label)
    ).fetchone()
    return int(row[0]) if row else 0


def labels_in_pgrp(db: Database, pgrp: int) -> dict[str, int]:
    """The stored jobs of process group ``pgrp``: label -> id."""
    return {
        row[0]: row[1]
        for row in db.execute(
            f"SELECT label, id FROM jobs WHERE pgrp = ? AND {NOT_STAGED}", (pgrp,)
        )
    }


def child_ids(db: Database, parent_id: int) -> list[int]:
    """The ids of the stored jobs whose parent is ``parent_id``, in order."""
    return [
        row[0]
        for row in db.execute(
            f"SELECT id FROM jobs WHERE pid = ? AND {NOT_STAGED} ORDER BY id", (parent_id,)
        )
    ]


@dataclass(frozen=True, slots=True)
class FinishedFilter:
    """What a listing of finished jobs asks of the rows (empty: any)."""

    statuses: frozenset[JobStatus]
    users: frozenset[str] = frozenset()
    pgrps: frozenset[int] = frozenset()
    parent_id: int = 0
    name_glob: str = ""
    """Shell-style; the rows are narrowed in SQL (:func:`like_superset`), and the caller
    matches the pattern itself on what is read."""


def finished_jobs_before(
    db: Database, before_id: int, where: FinishedFilter, batch: int
) -> Iterator[Job]:
    """Stored final jobs the filter selects, newest first, below ``before_id`` (0: any),
    without their work items: read ``batch`` rows at a time, as the caller goes on."""
    statuses = sorted(s.value for s in where.statuses if s.is_final)
    if not statuses:
        return
    clauses = [f"status IN ({','.join('?' * len(statuses))})", NOT_STAGED]
    params: list[object] = list(statuses)
    if where.users:
        clauses.append(f'"user" IN ({",".join("?" * len(where.users))})')
        params.extend(sorted(where.users))
    if where.pgrps:
        clauses.append(f"pgrp IN ({','.join('?' * len(where.pgrps))})")
        params.extend(sorted(where.pgrps))
    if where.parent_id:
        clauses.append("pid = ?")
        params.append(where.parent_id)
    if where.name_glob:
        clauses.append("name LIKE ? ESCAPE '\\'")
        params.append(like_superset(where.name_glob))
    below = before_id
    while True:
        page_clauses = [*clauses, "id < ?"] if below else clauses
        rows = db.execute(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE {' AND '.join(page_clauses)} "
            "ORDER BY id DESC LIMIT ?",
            [*params, *([below] if below else []), batch],
        ).fetchall()
        for row in rows:
            yield job_from_row(row)
        if len(rows) < batch:
            return
        below = rows[-1][0]


def like_superset(glob: str) -> str:
    """A ``LIKE`` pattern (escape ``\\``) matching every name the shell-style ``glob``
    matches (``fnmatch.fnmatchcase``), and maybe more: ``*`` is ``%``, ``?`` is ``_``, and a
    bracket expression (``[a-c]``, ``[!x]``) any one character. SQLite's ``LIKE`` ignores the
    case of ASCII letters, PostgreSQL's does not; either way nothing the glob matches is
    left out, and the caller matches the glob itself on the rows read."""
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        i += 1
        if char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        elif char == "[":
            # As fnmatch reads it: a ']' right after '[' or '[!' is a member; without a
            # closing ']' the '[' is itself.
            j = i + 1 if i < len(glob) and glob[i] == "!" else i
            j = glob.find("]", j + 1)
            if j < 0:
                out.append("[")
            else:
                out.append("_")
                i = j + 1
        elif char in "%_\\":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def with_rows(db: Database, jobs: list[Job]) -> list[Job]:
    """Jobs read from their rows alone (:func:`finished_jobs_before`), their work items and
    instances attached, :data:`IDS_PER_QUERY` jobs per statement."""
    result: list[Job] = []
    for start in range(0, len(jobs), IDS_PER_QUERY):
        result.extend(_with_rows(db, jobs[start : start + IDS_PER_QUERY]))
    return result


def finished_page(
    db: Database, before_id: int, where: FinishedFilter, wanted: int, keep: Callable[[Job], bool]
) -> list[Job]:
    """The first ``wanted`` jobs of :func:`finished_jobs_before` that ``keep`` keeps (a
    pattern matched in Python, jobs also in memory left out), whole."""
    page: list[Job] = []
    if wanted > 0:
        for job in finished_jobs_before(db, before_id, where, PAGE_BATCH):
            if keep(job):
                page.append(job)
                if len(page) >= wanted:
                    break
    return with_rows(db, page)


@dataclass(frozen=True, slots=True)
class JobsWhere:
    """What a snapshot's reads of stored jobs may be narrowed to in SQL (empty: any). The
    caller filters what is read itself: this only spares reading the rest."""

    pgrps: frozenset[int] = frozenset()
    labels: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()

    def clauses(self) -> tuple[list[str], list[object]]:
        """SQL conditions and their parameters; a list too long for one statement is left to
        the caller's own filter."""
        clauses: list[str] = []
        params: list[object] = []
        narrowing: list[tuple[str, Sequence[object]]] = [
            ("pgrp", sorted(self.pgrps)),
            ("label", sorted(self.labels)),
            ('"user"', sorted(self.users)),
        ]
        for column, values in narrowing:
            if values and len(values) <= IDS_PER_QUERY:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        return clauses, params


def jobs_after(
    db: Database, after_id: int, limit: int, up_to_id: int = 0, where: JobsWhere | None = None
) -> list[Job]:
    """Up to ``limit`` stored jobs with ids above ``after_id`` (and up to ``up_to_id``, when
    given; narrowed by ``where``), whole, in id order."""
    clauses = ["id > ?", NOT_STAGED]
    params: list[object] = [after_id]
    if up_to_id:
        clauses.append("id <= ?")
        params.append(up_to_id)
    if where is not None:
        narrower, values = where.clauses()
        clauses += narrower
        params += values
    found = [
        job_from_row(row)
        for row in db.execute(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?",
            [*params, limit],
        )
    ]
    return _with_rows(db, found)
