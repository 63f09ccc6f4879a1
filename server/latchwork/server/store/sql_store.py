"""What both stores do alike: the head of the event log, numbering, and every operation.

SQLite and PostgreSQL run the same statements (:mod:`.database`); a store differs only in
how it opens its connection, checks and migrates its schema, and opens a transaction.
:class:`SqlStore` holds everything else, once: :class:`~.sqlite.SqliteStore` and
:class:`~.postgres.PostgresStore` give it a :class:`~.database.Database` and a transaction
opener, and wrap it to raise their driver's errors as :mod:`.errors`' types.

The work is done in modules of one concept each:

- :mod:`.writes`: the write of one commit;
- :mod:`.staged`: the rows of a large Submit, written ahead;
- :mod:`.reads`: the state at start, callbacks, runs and submissions;
- :mod:`.history`: the finished jobs kept in the store only;
- :mod:`.event_log`: reading and trimming the event log;
- :mod:`.hosts`: the farm's hosts (issue 12);
- :mod:`.rows` and :mod:`.records`: the table rows and the records handed back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..core.changes import Changes
from ..core.events import Event
from ..core.filters import EventFilter
from ..core.model import Job
from ..core.runs import CallbackRun
from ..core.states import WorkStatus
from . import event_log, history, reads, staged
from . import hosts as host_rows
from .database import ClosingDatabase, Database, Transactions, scalar
from .history import FinishedFilter, JobsWhere
from .hosts import StoredHost
from .protocol import AsideWrites
from .records import StagedChunk, StoredCallback, StoredState, StoredSubmission
from .rows import staged_chunks
from .writes import write_changes


@dataclass(slots=True)
class RenderedWrite:
    """A commit's write, its events numbered, for the commit queue to send
    (server/commit_queue.py); a store adds what it rendered of it."""

    changes: Changes
    #: The head of the event log after it.
    seq: int
    rendered_at: float
    #: A Submit's (request id, digest), recorded in the same transaction; None: not a Submit.
    submission: tuple[str, str] | None


class SqlStore:
    """The store's operations over ``db``; ``transaction()`` opens one write transaction."""

    def __init__(
        self, db: Database, transaction: Transactions, write_transaction: Transactions | None = None
    ) -> None:
        """``write_transaction``: the transaction of :meth:`write`, whose statements read no
        result (PostgreSQL sends it as one batch), but for a staged Submit's; ``transaction`` by
        default."""
        self._db = db
        self._transaction = transaction
        self._reader: ClosingDatabase | None = None
        self._reader_lock = threading.Lock()
        self._write_transaction = write_transaction or transaction
        # Called after each successful write with the changes and the seconds the write took
        # (the metrics' hook: server/metrics.py); it must not raise.
        self.on_write: Callable[[Changes, float], None] | None = None
        self.leftover_staged = staged.delete_staged(db, transaction, 0, 0)
        self.head_seq = scalar(db, "SELECT COALESCE(MAX(seq), 0) FROM events")

    # --- loading -----------------------------------------------------------------------

    def load(self, retired_before: float | None = None) -> StoredState:
        """The state to hold in memory: every job, or with ``retired_before`` only those
        not retired at that time (:mod:`.history`) and a summary of the others."""
        return reads.load_state(self._db, self.head_seq, retired_before)

    # --- finished jobs kept in the store only (history) ----------------------------------

    def load_jobs(self, job_ids: Sequence[int]) -> list[Job]:
        return history.load_jobs(self._db, job_ids)

    def job_id_by_label(self, pgrp: int, label: str) -> int:
        return history.job_id_by_label(self._db, pgrp, label)

    def final_frames_of(self, user: str) -> dict[WorkStatus, int]:
        return history.final_frames_of(self._db, user)

    def labels_in_pgrp(self, pgrp: int) -> dict[str, int]:
        return history.labels_in_pgrp(self._db, pgrp)

    def child_ids(self, parent_id: int) -> list[int]:
        return history.child_ids(self._db, parent_id)

    # The long reads (a page found among a million finished jobs, a snapshot of every job)
    # run on a connection of their own, the reader, so that they can be made from a thread
    # while the loop goes on with its own connection (retired_jobs.py). They read committed
    # rows: a job retires only once its final state is stored (JobIndex.recount).

    def read_finished_page(
        self, before_id: int, where: FinishedFilter, wanted: int, keep: Callable[[Job], bool]
    ) -> list[Job]:
        """The first ``wanted`` stored final jobs below ``before_id`` (0: any) that ``where``
        selects and ``keep`` keeps, newest first, whole; on the reader (thread-safe)."""
        with self._reading() as db:
            return history.finished_page(db, before_id, where, wanted, keep)

    def read_jobs_after(
        self, after_id: int, limit: int, up_to_id: int = 0, where: JobsWhere | None = None
    ) -> list[Job]:
        """Up to ``limit`` stored jobs with ids above ``after_id`` (and up to ``up_to_id``,
        when given; narrowed by ``where``), whole, in id order; on the reader (thread-safe)."""
        with self._reading() as db:
            return history.jobs_after(db, after_id, limit, up_to_id, where)

    def read_jobs(self, job_ids: Sequence[int]) -> list[Job]:
        """:meth:`load_jobs`, on the reader (thread-safe)."""
        with self._reading() as db:
            return history.load_jobs(db, job_ids)

    @contextmanager
    def _reading(self) -> Iterator[Database]:
        """The reader connection, opened on first use, for one caller at a time."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = self._open_reader()
            yield self._reader

    def _open_reader(self) -> ClosingDatabase:
        """A new connection to the same database, for reads only (a store's own)."""
        raise NotImplementedError

    def _close_reader(self) -> None:
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    # --- staged writes (large Submits) ---------------------------------------------------

    @staticmethod
    def staged_chunks(jobs: Sequence[Job], chunk_rows: int) -> list[StagedChunk]:
        """The rows of new jobs, in chunks of at most ``chunk_rows`` rows (a job's row, with
        its encoded spec, counts as one). Pure (no I/O), so it may run in a thread."""
        return staged_chunks(jobs, chunk_rows)

    #: Whether :meth:`stage` and :meth:`find_submission` may be called from a thread: here
    #: not (PostgreSQL's run on a connection of their own).
    side_connection = False

    def stage(self, chunk: StagedChunk) -> None:
        """Write rows of new jobs, staged, in one transaction: invisible to :meth:`load`
        until :meth:`write` stores them with ``Changes.staged``."""
        staged.stage(self._db, self._transaction, chunk)

    def delete_staged(self, first_id: int, last_id: int) -> int:
        """Delete the staged jobs with ids in ``first_id``..``last_id`` and their rows (a
        Submit that failed while or after staging); returns how many jobs."""
        return staged.delete_staged(self._db, self._transaction, first_id, last_id)

    # --- writing -----------------------------------------------------------------------

    def number_events(self, changes: Changes) -> None:
        """Give the events their sequence numbers, ahead of writing them."""
        seq = self.head_seq
        for event in changes.events:
            seq += 1
            event.seq = seq

    def write(
        self,
        changes: Changes,
        submission: tuple[str, str] | None = None,
        *,
        hosts: Sequence[StoredHost] = (),
    ) -> None:
        """Store ``changes`` in one transaction (numbering its events if not done yet).

        ``submission`` (request id, digest) records an idempotent Submit in the same
        transaction, and so are ``hosts`` (the rows of hosts whose state the events announce).
        On failure nothing is written and the events are unnumbered.
        """
        if changes.events and not changes.events[0].seq:
            self.number_events(changes)
        seq = changes.events[-1].seq if changes.events else self.head_seq
        started = time.perf_counter()
        try:
            with self._write_transaction():
                write_changes(self._db, changes, seq, submission, hosts)
        except BaseException:
            for event in changes.events:
                event.seq = 0
            raise
        self.head_seq = seq
        if self.on_write is not None:
            self.on_write(changes, time.perf_counter() - started)

    def aside_writes(self) -> AsideWrites[Any] | None:
        return None

    # --- writes rendered for the commit queue (server/commit_queue.py), the stores' shared part

    def _rendered(self, changes: Changes) -> int:
        """Number ``changes``' events (unless done) after those rendered before; the head of
        the log after them, which the numbering goes on from (the stored head is taken back
        should the send fail: :meth:`unwind`)."""
        if changes.events and not changes.events[0].seq:
            self.number_events(changes)
        seq = changes.events[-1].seq if changes.events else self.head_seq
        self.head_seq = seq
        return seq

    def write_rendered(self, writes: Sequence[RenderedWrite]) -> None:
        """Store ``writes`` (numbered by :meth:`_rendered`, in order) in one transaction, all
        or none: SQLite's group commit (server/commit_queue.py)."""
        with self._write_transaction():
            for write in writes:
                write_changes(self._db, write.changes, write.seq, write.submission, ())

    def wrote(self, write: RenderedWrite) -> None:
        """Once ``write`` is stored: the metrics hear of it."""
        if self.on_write is not None:
            self.on_write(write.changes, time.perf_counter() - write.rendered_at)

    def unwind(self, writes: Sequence[RenderedWrite]) -> None:
        """After a failed send: ``writes`` were not stored. They were numbered in order after
        the stored head, so it is just before the first of their events (read from them, not
        from a database that may be away); their events lose their seqs."""
        first = next((write.changes.events[0].seq for write in writes if write.changes.events), 0)
        if first:
            self.head_seq = first - 1
        for write in writes:
            for event in write.changes.events:
                event.seq = 0

    # --- callbacks, their runs, submissions ----------------------------------------------

    def load_callbacks(self, owners: Sequence[int] | None = None) -> list[StoredCallback]:
        """Every stored callback, or only those of the jobs ``owners``, by owner (to compile
        the callbacks of jobs in memory: :mod:`latchwork.server.dormant_callbacks`)."""
        return reads.load_callbacks(self._db, owners)

    def owners_compiled_at_start(self) -> list[int]:
        """The jobs with a callback on a clock or the whole farm, or stored before
        ``callback_watches``: their callbacks never sleep in the store."""
        return reads.owners_compiled_at_start(self._db)

    def watchers_of(self, job_ids: Sequence[int]) -> list[tuple[int, int]]:
        """(watched job, owner) for every callback whose trigger names one of ``job_ids``."""
        return reads.watchers_of(self._db, job_ids)

    def callback_owner(self, callback_id: int) -> int:
        return reads.callback_owner(self._db, callback_id)

    def last_callback_id(self) -> int:
        return reads.last_callback_id(self._db)

    def last_run_id(self) -> int:
        return reads.last_run_id(self._db)

    def pending_runs(self) -> list[CallbackRun]:
        return reads.pending_runs(self._db)

    def list_runs(
        self, *, job_id: int = 0, callback_id: int = 0, before_id: int = 0, limit: int = 100
    ) -> list[CallbackRun]:
        return reads.list_runs(
            self._db, job_id=job_id, callback_id=callback_id, before_id=before_id, limit=limit
        )

    def find_submission(self, request_id: str) -> StoredSubmission | None:
        return reads.find_submission(self._db, request_id)

    # --- the event log -----------------------------------------------------------------

    def job_events(self, job_ids: Sequence[int]) -> list[Event]:
        """Every stored event of these jobs, in order: the history catch-up replays."""
        return event_log.job_events(self._db, job_ids)

    def read_events(
        self,
        after_seq: int,
        limit: int,
        *,
        through_seq: int = 0,
        matching: EventFilter | None = None,
    ) -> list[Event]:
        return event_log.read_events(
            self._db, after_seq, limit, through_seq=through_seq, matching=matching
        )

    def trim_events(self, *, keep_last: int = 0, before_time: float = 0.0) -> int:
        """Delete old events (retention); returns how many. The newest event always stays,
        so the sequence continues from it after a restart."""
        return event_log.trim_events(
            self._db, self._transaction, self.head_seq, keep_last, before_time
        )

    def oldest_seq(self) -> int:
        return event_log.oldest_seq(self._db)

    # --- the farm's hosts ----------------------------------------------------------------

    def save_hosts(self, hosts: list[StoredHost]) -> None:
        """Insert or replace these hosts' rows, in one transaction."""
        with self._transaction():
            host_rows.put_hosts(self._db, hosts)

    def load_hosts(self) -> list[StoredHost]:
        return host_rows.load_hosts(self._db)
