"""The one commit path: every change to the model is stored and acted on here, in this order.

Submits, operator control, leases and reports, callback runs and timers all build a
:class:`~.core.changes.Changes` and hand it to :meth:`CommitPipeline.commit`, which runs

1. **index** the new jobs, so that every later stage (and trigger) can find them;
2. **derive tree events**: the job-tree events the commit's job events complete (a parent
   done when its last child is) are events of the same commit;
3. **number** the events: they take their seqs before anything sees them;
4. **observe triggers**: the numbered events are fed to the trigger engine and each firing
   becomes a pending run record *in the same Changes*;
5. **write**, in one transaction: changes, events, latches, firings and the submission record.
   This is the outbox: a firing is stored with the event that caused it, or neither is, so a
   crash never loses a firing nor runs one whose event was never stored;

and only once the write succeeded, the effects, which cannot be taken back:

6. **publish** the events to the event log (subscribers see only what is stored), and count
   the jobs touched again in the farm's totals (:mod:`.core.farm_counts`);
7. forget the callbacks of removed jobs in the trigger engine;
8. note the new runs and timers (:class:`CallbackRuns`);
9. **offer** what became runnable to the scheduler;
10. signal the leases to kill, suspend or resume (through their workers' sinks);
11. wake the workers waiting for work, if anything was offered;
12. **drain** the runs: qube callbacks run inline (their actions commit through here again),
    Python and mail ones go to the callback runner.

When a stage of 2-5 fails (a full disk, say) nothing was stored: the model, changed in
memory by the transitions already, is taken back from the store (:meth:`reload`) and the
error re-raised to the caller, which may retry.

A worker's reports and leases, the farm's busiest commits, may instead go through
:meth:`CommitPipeline.commit_aside`: stages 1-4 and the write's rendering on the loop, the
write sent in a group with others (:mod:`.commit_queue`: on PostgreSQL its answer awaited
while the loop goes on; on SQLite those of a turn of the loop in one transaction), stages
6-12 once it landed. Every other commit first lands those queued, so the order of the stages
above holds across all commits. The qube callbacks such a landing runs (stage 12) commit
through :meth:`CommitPipeline.commit_soon`: aside as well on PostgreSQL, at once on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from .callback_runs import CallbackRuns, RunQueue
from .commit_queue import CommitQueue
from .core.changes import Changes
from .core.model import Job
from .core.triggers.engine import Firing
from .eventlog import EventLog
from .job_index import JobIndex
from .leases import LeaseRegistry, WorkSignal
from .store.errors import StorageError, StorageUnavailable
from .store.hosts import StoredHost
from .store.protocol import Store
from .throttled_log import ThrottledLog
from .triggering import Triggering

log = logging.getLogger(__name__)
_storage_log = ThrottledLog(log)


@dataclass(slots=True)
class _Commit:
    """One commit on its way through the stages."""

    changes: Changes
    submission: tuple[str, str] | None
    firings: list[Firing]
    hosts: Sequence[StoredHost] = ()
    offered: bool = False


_Stage = Callable[[_Commit], None]


class CommitPipeline:
    """Stores ``Changes`` and carries out their effects, in the order the module explains.

    It owns the callback runs (:attr:`runs`), the outbox it fills and drains, and is their
    :class:`~.callback_runs.CommitHost`.
    """

    def __init__(
        self,
        store: Store,
        index: JobIndex,
        triggering: Triggering,
        event_log: EventLog,
        leasing: LeaseRegistry,
        work_signal: WorkSignal,
        *,
        clock: Callable[[], float],
        run_queue: RunQueue | None,
    ) -> None:
        self._store = store
        self._index = index
        self._triggering = triggering
        self._log = event_log
        self._leasing = leasing
        self._work_signal = work_signal
        self.runs = CallbackRuns(self, triggering, clock, run_queue)
        # Stages 2-5: on failure, nothing is stored and the model is reloaded.
        self._storing: tuple[_Stage, ...] = (
            self._derive_tree_events,
            self._number_events,
            self._observe_triggers,
            self._write,
        )
        # Stages 6-12: only after the write succeeded.
        self._effects: tuple[_Stage, ...] = (
            self._publish,
            self._recount,
            self._forget_removed_jobs,
            self._note_runs,
            self._offer,
            self._signal_leases,
            self._wake_workers,
            self._drain_runs,
        )
        self._aside = store.aside_writes()
        self._queue = (
            CommitQueue(self._aside, self._failed_aside) if self._aside is not None else None
        )
        self._reload_owed = False

    def commit(
        self,
        changes: Changes,
        submission: tuple[str, str] | None = None,
        firings: list[Firing] | None = None,
        *,
        hosts: Sequence[StoredHost] = (),
    ) -> None:
        """Store ``changes`` with the events, latches and firings they cause; then act on them.

        ``submission``: the (request id, digest) of a Submit, recorded in the same
        transaction; ``firings``: those already found (catch-up of callbacks registered);
        ``hosts``: host rows written in the same transaction as the host events of
        ``changes`` (the host registry's changes of state)."""
        self._land_queued()
        batch = _Commit(changes, submission, firings if firings is not None else [], hosts)
        self._index_new_jobs(batch)
        try:
            for stage in self._storing:
                stage(batch)
        except Exception as error:
            self._not_stored(error)
            raise
        for effect in self._effects:
            effect(batch)

    def commit_aside(
        self,
        changes: Changes,
        then: Callable[[], None],
        *,
        firings: list[Firing] | None = None,
        submission: tuple[str, str] | None = None,
    ) -> Awaitable[None]:
        """:meth:`commit`, its write sent in a group (:mod:`.commit_queue`): the returned
        awaitable is done once ``changes`` are stored and their effects, then ``then``, ran;
        it raises what the write raised. On a store without grouped writes it is
        :meth:`commit` and ``then`` at once, and the awaitable is already done.

        For the commits of a worker's reports and leases, whose callers await their answer,
        of the qube callbacks run inline (:meth:`commit_soon`), and of Submits on a store
        whose commit is a round trip (:attr:`round_trips`); ``submission`` as :meth:`commit`'s."""
        if self._queue is None or self._aside is None:
            self.commit(changes, submission, firings=firings)
            then()
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        if self._reload_owed:
            self._land_queued()  # (raises)
        batch = _Commit(changes, submission, firings if firings is not None else [])
        self._index_new_jobs(batch)
        try:
            for stage in self._storing[:-1]:
                stage(batch)
            write = self._aside.render_write(changes, submission)
        except Exception as error:
            self._not_stored(error)
            raise

        def landed(may_commit: bool) -> None:
            for effect in self._effects[:-1]:
                effect(batch)
            then()
            if may_commit:
                self.runs.drain(aside=True)
            else:
                # Landed by a commit whose transitions are made already: the runs' own
                # commits (qube callbacks run inline) wait until it is done.
                asyncio.get_running_loop().call_soon(self.runs.drain, True)

        return self._queue.put(write, landed, fires=bool(changes.new_runs))

    def commit_soon(
        self,
        changes: Changes,
        *,
        firings: list[Firing] | None = None,
        submission: tuple[str, str] | None = None,
    ) -> Awaitable[None] | None:
        """Store and act on ``changes``: where a commit waits for a round trip to the
        database (PostgreSQL), sent aside (:meth:`commit_aside`) and the loop goes on, the
        returned awaitable done once it landed; elsewhere (SQLite, whose commit is made on
        the loop in a fraction of a millisecond) :meth:`commit` at once, and None returned.
        ``submission`` as :meth:`commit`'s.

        For a qube callback's run, finished inline in the middle of the landing of the
        report that fired it: committed at once on PostgreSQL, it held the loop for the
        queue's round trips, and then its own, a tenth of the farm benchmark's time
        (docs/benchmarks.md, farm throughput on PostgreSQL). And for a Submit, whose commit
        made at once held the loop as long (docs/benchmarks.md, session 16)."""
        if not self.round_trips:
            self.commit(changes, submission, firings)
            return None
        return self.commit_aside(changes, _nothing, firings=firings, submission=submission)

    @property
    def round_trips(self) -> bool:
        """Whether a commit waits for a round trip to the database (PostgreSQL), so that one
        made at once holds the loop that long, and the commits of requests answered only
        once stored are better sent aside (:meth:`commit_aside`)."""
        return self._queue is not None and self._aside is not None and not self._aside.gathers

    async def room(self) -> None:
        """Before the transitions of a :meth:`commit_aside`: wait while the store is behind
        (:meth:`.commit_queue.CommitQueue.room`); at once where commits are not sent aside."""
        if self._queue is not None:
            await self._queue.room()

    def settle(self) -> None:
        """Land the commits in flight (blocking the loop for their round trip): before a read
        that must match the published events, as a Subscribe's snapshot."""
        self._land_queued()

    def close(self) -> None:
        """Land the commits in flight (before the store is closed)."""
        if self._queue is not None:
            self._queue.close()

    def _land_queued(self) -> None:
        """Land the queue before a commit or a read; raises when that failed, or when the
        model had to be taken back from the store first (the caller's transitions were made
        on the model before: they are gone, and the caller may try again)."""
        if self._reload_owed:  # a failed send's reload failed too: the model is not the store's
            self.reload()
            self._reload_owed = False
            raise StorageUnavailable("the state was taken back from the store after a failed write")
        if self._queue is not None and len(self._queue):
            self._queue.flush()

    def _not_stored(self, error: Exception) -> None:
        if isinstance(error, StorageError):
            # A full disk: expected, retried by the callers; one line, not a traceback per try.
            _storage_log.warning(
                "could not store changes (%s); reloading state from the store", error
            )
        else:
            log.error("could not store changes; reloading state from the store", exc_info=error)
        self.reload()

    def _failed_aside(self, error: BaseException) -> None:
        """A group of queued writes failed (:mod:`.commit_queue`): the model back from the
        store. Should that fail too, the next commit tries again before anything else."""
        self._reload_owed = True
        if isinstance(error, Exception):
            self._not_stored(error)
        else:
            self.reload()
        self._reload_owed = False

    # --- loading -------------------------------------------------------------------------

    def load(self) -> None:
        """Build the model from the store: jobs, leases and queue, callbacks, runs to run."""
        state = self._store.load(self._index.retired_before())
        self._index.load(state.last_job_id, state.jobs, state.retired)
        self.runs.reset(self._triggering.load())

    def reload(self) -> None:
        """Take the model back from the store after a change could not be stored.

        The runs still to be handed out stay as they are: the store's list of unfinished runs
        also holds those already handed to the callback runner and the one being finished,
        and taking it would run them twice.
        """
        if self._queue is not None:
            # Those in flight land first (or fail, and reload): the store then holds them.
            with contextlib.suppress(Exception):
                self._queue.flush()
        pending = self.runs.pending
        self.load()
        self.runs.pending = pending

    def get_job(self, job_id: int) -> Job | None:
        """For :class:`CallbackRuns` (as its ``CommitHost``)."""
        return self._index.get_job(job_id)

    # --- the stages, in order ------------------------------------------------------------

    def _index_new_jobs(self, batch: _Commit) -> None:
        for job in batch.changes.new_jobs:
            self._index.add_new(job)

    def _derive_tree_events(self, batch: _Commit) -> None:
        self._triggering.tree_events(batch.changes)

    def _number_events(self, batch: _Commit) -> None:
        self._store.number_events(batch.changes)

    def _observe_triggers(self, batch: _Commit) -> None:
        self._triggering.observe(batch.changes, batch.firings)

    def _write(self, batch: _Commit) -> None:
        self._store.write(batch.changes, batch.submission, hosts=batch.hosts)

    def _publish(self, batch: _Commit) -> None:
        self._log.publish(batch.changes.events)

    def _recount(self, batch: _Commit) -> None:
        self._index.recount(batch.changes)

    def _forget_removed_jobs(self, batch: _Commit) -> None:
        for job in batch.changes.dirty_jobs.values():
            if job.removed:
                self._triggering.remove_job(job.id)

    def _note_runs(self, batch: _Commit) -> None:
        self.runs.committed(batch.changes)

    def _offer(self, batch: _Commit) -> None:
        batch.offered = self._index.offer(batch.changes)

    def _signal_leases(self, batch: _Commit) -> None:
        changes = batch.changes
        for lease_id in changes.kill_leases:
            self._leasing.release(lease_id, kill=True)
        for lease_id in changes.suspend_leases:
            if (sink := self._leasing.sink_for(lease_id)) is not None:
                sink.suspend(lease_id)
        for lease_id in changes.resume_leases:
            if (sink := self._leasing.sink_for(lease_id)) is not None:
                sink.resume(lease_id)

    def _wake_workers(self, batch: _Commit) -> None:
        if batch.offered:
            self._work_signal.wake()

    def _drain_runs(self, batch: _Commit) -> None:
        self.runs.drain()


def _nothing() -> None:
    """What a :meth:`CommitPipeline.commit_soon` does once its effects ran: nothing more."""
