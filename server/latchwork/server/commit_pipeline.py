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
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .callback_runs import CallbackRuns, RunQueue
from .core.changes import Changes
from .core.model import Job
from .core.triggers.engine import Firing
from .eventlog import EventLog
from .job_index import JobIndex
from .leases import LeaseRegistry, WorkSignal
from .store.errors import StorageError
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
        batch = _Commit(changes, submission, firings if firings is not None else [], hosts)
        self._index_new_jobs(batch)
        try:
            for stage in self._storing:
                stage(batch)
        except StorageError as error:
            # A full disk: expected, retried by the callers; one line, not a traceback per try.
            _storage_log.warning(
                "could not store changes (%s); reloading state from the store", error
            )
            self.reload()
            raise
        except Exception:
            log.exception("could not store changes; reloading state from the store")
            self.reload()
            raise
        for effect in self._effects:
            effect(batch)

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
        pending = self.runs.pending
        self.load()
        self.runs.pending = pending

    def get_job(self, job_id: int) -> Job | None:
        """For :class:`CallbackRuns` (as its ``CommitHost``)."""
        return self._index.get_job(job_id)

    # --- the stages, in order ------------------------------------------------------------

    def _index_new_jobs(self, batch: _Commit) -> None:
        for job in batch.changes.new_jobs:
            self._index.add(job)

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
