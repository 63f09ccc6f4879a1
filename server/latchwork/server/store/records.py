"""What the store hands back and takes in besides the domain objects themselves.

Plain data, independent of the database: a second store (PostgreSQL, issue 16) returns the
same records, so the supervisor never learns which store it runs on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.model import CallbackSpec, Job
from ..core.states import JobStatus, WorkStatus


@dataclass(slots=True)
class RetiredSummary:
    """What a load tells of the jobs it left in the store (retired): their number and
    statuses by user, the groups and parents they belong to, and the frames of every stored
    job not removed (memory's own included: the index takes those away). Nothing per job."""

    jobs_by_user: dict[str, dict[JobStatus, int]] = field(default_factory=dict)
    stored_frames: dict[WorkStatus, int] = field(default_factory=dict)
    pgrps: set[int] = field(default_factory=set)
    parents: set[int] = field(default_factory=set)
    count: int = 0


@dataclass(slots=True)
class StoredState:
    """Everything the supervisor keeps in memory, as loaded at start."""

    jobs: list[Job] = field(default_factory=list)
    head_seq: int = 0
    last_job_id: int = 0
    # What is kept of the jobs left in the store (None: every job was loaded).
    retired: RetiredSummary | None = None


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
    """Rows of a large Submit written in one short transaction, staged (see
    :meth:`SqlStore.stage <latchwork.server.store.sql_store.SqlStore.stage>`)."""

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
