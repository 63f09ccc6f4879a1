"""What the store hands back and takes in besides the domain objects themselves.

Plain data, independent of the database: a second store (PostgreSQL, issue 16) returns the
same records, so the supervisor never learns which store it runs on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.model import CallbackSpec, Job


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
