"""What the supervisor asks of a store, whichever database keeps it (SQLite or PostgreSQL).

The rest of the supervisor is written against :class:`Store`, never against one store's class,
so that the choice of database is made once, where the store is opened (:mod:`.opening`).
Both stores give the same answers: one transaction per write, a gapless event sequence, the
firings (callback runs) written with the events that caused them, errors typed as
:mod:`.errors` types them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from ..core.changes import Changes
from ..core.events import Event
from ..core.filters import EventFilter
from ..core.model import Job
from ..core.runs import CallbackRun
from ..core.states import WorkStatus
from .history import FinishedFilter, JobsWhere
from .hosts import StoredHost
from .records import StagedChunk, StoredCallback, StoredState, StoredSubmission


class HistoryReads(Protocol):
    """The reads of jobs kept in the store only (retired: :mod:`.history`), the part of the
    store the supervisor's index of jobs uses (:mod:`latchwork.server.retired_jobs`)."""

    def load_jobs(self, job_ids: Sequence[int]) -> list[Job]: ...

    def job_id_by_label(self, pgrp: int, label: str) -> int: ...

    def final_frames_of(self, user: str) -> dict[WorkStatus, int]: ...

    def labels_in_pgrp(self, pgrp: int) -> dict[str, int]: ...

    def child_ids(self, parent_id: int) -> list[int]: ...

    # Thread-safe: on a connection of their own (SqlStore's reader).
    def read_finished_page(
        self, before_id: int, where: FinishedFilter, wanted: int, keep: Callable[[Job], bool]
    ) -> list[Job]: ...

    def read_jobs_after(
        self, after_id: int, limit: int, up_to_id: int = 0, where: JobsWhere | None = None
    ) -> list[Job]: ...

    def read_jobs(self, job_ids: Sequence[int]) -> list[Job]: ...


W = TypeVar("W")


class PendingWrite(Protocol):
    """A write sent, its answer not read yet: the event loop watches :meth:`fileno` and
    calls :meth:`poll` when it is readable, or :meth:`wait` blocks for it."""

    #: The answer's error, typed as :mod:`.errors` types them (None: stored); once done.
    error: BaseException | None
    #: Called when another use of the store waited for the answer itself (no more data will
    #: come to watch).
    on_settled: Callable[[], None] | None

    def fileno(self) -> int: ...

    def poll(self) -> bool:
        """Read what came, without blocking; True once the whole answer is in."""
        ...

    def wait(self) -> None:
        """Block until the whole answer is in."""
        ...


class Answered:
    """A :class:`PendingWrite` whose answer is in when it is handed over: a send made at once
    (SQLite's), or one that raised instead of going out."""

    __slots__ = ("error", "on_settled")

    def __init__(self, error: BaseException | None) -> None:
        self.error = error
        self.on_settled: Callable[[], None] | None = None

    def fileno(self) -> int:
        return -1

    def poll(self) -> bool:
        return True

    def wait(self) -> None:
        return None


class AsideWrites(Protocol[W]):
    """A store whose writes can be rendered, then sent in groups by the commit queue
    (server/commit_queue.py). ``W`` is the store's rendered write.

    PostgreSQL's send is a round trip, its answer awaited on the event loop while it goes on;
    SQLite's is made at once, answered when :meth:`send_writes` returns (:attr:`gathers`)."""

    #: True: a send is made at once, on the loop, so the queue gathers the writes of a turn of
    #: the loop and sends them together; False: the writes that queue up while one is in
    #: flight go together next.
    gathers: bool

    def render_write(self, changes: Changes, submission: tuple[str, str] | None = None) -> W:
        """Number ``changes``' events (unless done) after those rendered before, and render
        its write; nothing is sent. ``submission``: a Submit's (request id, digest), recorded
        in the same transaction (``Store.write``'s)."""
        ...

    def send_writes(self, writes: Sequence[W]) -> PendingWrite:
        """Send ``writes`` as one transaction, all or none, without waiting for the answer;
        one send at a time."""
        ...

    def wrote(self, write: W) -> None:
        """Once ``write`` is stored: the metrics hear of it."""
        ...

    def unwind(self, writes: Sequence[W]) -> None:
        """After a failed send: ``writes`` were not stored (their events lose their seqs and
        the numbering goes back to the stored head)."""
        ...


class Store(HistoryReads, Protocol):
    """The store's public surface (see :class:`~.sql_store.SqlStore` for what each does)."""

    #: The sequence number of the newest stored event (0: none yet).
    head_seq: int
    #: Called after each successful write with the changes and the seconds it took.
    on_write: Callable[[Changes, float], None] | None
    #: How many staged jobs of an unfinished Submit were deleted when the store was opened.
    leftover_staged: int

    def close(self) -> None: ...

    @property
    def schema_version(self) -> int: ...

    def load(self, retired_before: float | None = None) -> StoredState: ...

    @staticmethod
    def staged_chunks(jobs: Sequence[Job], chunk_rows: int) -> list[StagedChunk]: ...

    #: Whether :meth:`stage` and :meth:`find_submission` may be called from a thread (off the
    #: event loop): they run on a connection of their own (PostgreSQL's).
    side_connection: bool

    def stage(self, chunk: StagedChunk) -> None: ...

    def delete_staged(self, first_id: int, last_id: int) -> int: ...

    def number_events(self, changes: Changes) -> None: ...

    def write(
        self,
        changes: Changes,
        submission: tuple[str, str] | None = None,
        *,
        hosts: Sequence[StoredHost] = (),
    ) -> None: ...

    def aside_writes(self) -> AsideWrites[Any] | None:
        """The store's writes sent aside, if it has them (None: every write waited for where
        it is made, as SQLite's, whose commit is a local call)."""
        ...

    def load_callbacks(self, owners: Sequence[int] | None = None) -> list[StoredCallback]: ...

    def owners_compiled_at_start(self) -> list[int]: ...

    def watchers_of(self, job_ids: Sequence[int]) -> list[tuple[int, int]]: ...

    def callback_owner(self, callback_id: int) -> int: ...

    def last_callback_id(self) -> int: ...

    def last_run_id(self) -> int: ...

    def pending_runs(self) -> list[CallbackRun]: ...

    def list_runs(
        self, *, job_id: int = 0, callback_id: int = 0, before_id: int = 0, limit: int = 100
    ) -> list[CallbackRun]: ...

    def find_submission(self, request_id: str) -> StoredSubmission | None: ...

    def job_events(self, job_ids: Sequence[int]) -> list[Event]: ...

    def read_events(
        self,
        after_seq: int,
        limit: int,
        *,
        through_seq: int = 0,
        matching: EventFilter | None = None,
    ) -> list[Event]:
        """Up to ``limit`` events after ``after_seq``, in order; ``through_seq``: none after
        it; ``matching``: of the others, at least every one that filter lets through."""
        ...

    def trim_events(self, *, keep_last: int = 0, before_time: float = 0.0) -> int: ...

    def oldest_seq(self) -> int: ...

    def save_hosts(self, hosts: list[StoredHost]) -> None: ...

    def load_hosts(self) -> list[StoredHost]: ...
