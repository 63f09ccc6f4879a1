"""The supervisor: the one place where requests meet the core, as a façade over small services.

Every operation follows the same path: check the request, apply core transitions to the
in-memory model, then hand the ``Changes`` to the one commit path, which stores them with their
events and firings in one transaction, publishes the events and carries out the effects. The
gRPC servicers, the local worker pool, remote workers and the callback runner all come here.

The map (each a module of its own, built here and given what it needs at construction):

- :class:`~.job_index.JobIndex` — the in-memory model: jobs by id, labels per process group,
  children, the job id counter, the scheduler's queue; loaded from the store.
- :class:`~.commit_pipeline.CommitPipeline` — the commit path, as ordered stages (index, tree
  events, number, observe triggers, write; then publish and the effects); it owns the callback
  runs and timers (:class:`~.callback_runs.CallbackRuns`, the outbox).
- :class:`~.submissions.Submissions` — Submit (in one piece or staged, :mod:`.staging`),
  replays of a request id, AddCallbacks.
- :class:`~.control.Control` — operator actions (block, kill, retry, ...).
- :class:`~.modifications.Modifications` — ModifyJobs: changes to jobs after submit.
- :class:`~.work_leasing.WorkLeasing` — workers, leases, reports, recovery.
- :class:`~.host_registry.HostRegistry` — the farm's hosts: declared resources, up/down,
  locks, usage; their events.
- :class:`~.triggering.Triggering` — callbacks, the trigger engine, firings.
- :class:`~.eventlog.EventLog` — the published events, read here as an :class:`EventFeed`.

Every method below is one of theirs, or a read over several of them; none holds state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from . import job_index
from .callback_runs import RUN_BUDGET_SECONDS as RUN_BUDGET_SECONDS  # re-exported (bench)
from .callback_runs import RunQueue as RunQueue  # re-exported (tests)
from .callback_submit import CallbackSubmitter
from .callbacks import LanguagePolicy
from .codecheck import CodeChecker
from .commit_pipeline import CommitPipeline
from .control import Control
from .control import ControlResult as ControlResult  # re-exported (the API layer)
from .core.events import Event
from .core.filters import EventFilter
from .core.firing_budget import FiringBudget
from .core.limits import DEFAULT_LIMITS, Limits
from .core.model import Job
from .core.runs import CallbackRun
from .core.triggers.engine import Callback
from .core.triggers.resolve import ResolveContext
from .core.visibility import ReadPolicy
from .eventlog import EventLog
from .host_registry import HostRegistry
from .job_index import JobIndex
from .leases import LeaseRegistry, WorkSignal
from .modifications import Modifications
from .output import OutputChunk, OutputStore
from .queries import JobQuery as JobQuery  # re-exported (the API layer, tests)
from .queries import event_at
from .routing_state import RegistryHosts, RoutingState
from .staging import SubmitResult as SubmitResult  # re-exported (the API layer)
from .store.protocol import Store
from .submissions import RequestConflict as RequestConflict  # re-exported (tests)
from .submissions import Submissions
from .triggering import Lookups, Triggering
from .work_leasing import WorkLeasing

log = logging.getLogger(__name__)


class EventFeed(Protocol):
    """The event log as subscribers read it: the head, the events after a seq, waiting."""

    @property
    def head_seq(self) -> int: ...

    def read(self, after_seq: int, limit: int) -> list[Event]: ...

    def read_matching(
        self, after_seq: int, limit: int, matching: EventFilter
    ) -> tuple[list[Event], int]: ...

    def oldest_seq(self) -> int: ...

    def newest_first(self) -> Iterator[Event]: ...

    def recent_failures(self) -> list[Event]: ...

    async def wait_beyond(self, seq: int, timeout: float) -> bool: ...


class Supervisor:
    """Builds the services over one store and exposes what the API layer, the worker pool,
    the callback runner, app.py and tests call: their methods, bound here by name."""

    def __init__(
        self,
        store: Store,
        outputs: OutputStore,
        *,
        clock: Callable[[], float] = time.time,
        languages: LanguagePolicy | None = None,
        admins: frozenset[str] = frozenset(),
        limits: Limits = DEFAULT_LIMITS,
        freeze_long_lived: bool = False,
        run_queue: RunQueue | None = None,
        firing_budget: FiringBudget | None = None,
        global_resources: Mapping[str, int] | None = None,
        read_policy: ReadPolicy | None = None,
        keep_finished_seconds: float | None = None,
    ) -> None:
        """``freeze_long_lived``: exempt what is loaded, and what each large Submit adds, from
        Python's cyclic garbage collector (:func:`~.job_index.freeze_long_lived`).
        Process-wide, so for the server's one supervisor, not for the many a test process makes.

        ``run_queue``: where Python and mail callback runs are handed out; without one they
        end as errors. ``firing_budget``: the bound on runaway cascades (default limits when
        not given). ``global_resources``: the licence limits (``{"nuke": 10}``,
        docs/routing.md). ``read_policy``: who may read which jobs (``visibility``); new
        triggers may name only jobs their owner may read. ``keep_finished_seconds``: how long
        a finished job stays in memory before it is read from the store instead
        (:mod:`.retired_jobs`; None: for ever)."""
        # The collaborators, for the wiring and for tests; the API layer uses the methods.
        self.store = store
        self.outputs = outputs
        self.limits = limits
        self.clock = clock
        # Python callback code is checked in another process before a Submit reaches the part
        # that runs on the loop (Submissions.submit_async).
        self.code_checker = CodeChecker()
        self._log = EventLog(store)
        self.event_log: EventFeed = self._log
        # Licences and the hosts as routing sees them (routing_state; docs/routing.md).
        signal = WorkSignal()
        self.routing = routing = RoutingState(global_resources, on_licence_freed=signal.wake)
        leasing = LeaseRegistry(routing)
        self.index = index = JobIndex(
            leasing, store, keep_finished_seconds=keep_finished_seconds, clock=clock
        )
        self.triggering = Triggering(
            store,
            Lookups(
                job=index.get_job,
                by_label=index.job_by_label,
                children=index.children_of,
                resident=index.resident_ids,
                peek=index.peek_job,
                peek_by_label=index.peek_by_label,
            ),
            languages or LanguagePolicy(),
            admins,
            budget=firing_budget,
            reads=read_policy,
        )
        # A retired job read back into memory has its callbacks compiled again.
        index.on_revive = self.triggering.revived
        pipeline = CommitPipeline(
            store,
            index,
            self.triggering,
            self._log,
            leasing,
            signal,
            clock=clock,
            run_queue=run_queue,
        )
        runs = pipeline.runs
        submissions = Submissions(
            store,
            index,
            pipeline,
            self.triggering,
            self._log,
            self.code_checker,
            limits=limits,
            clock=clock,
            freeze=freeze_long_lived,
            known_globals=routing.known_globals,
        )
        self._submissions = submissions
        # Jobs submitted by callbacks (qb.submit): checked as their owner's Submit.
        self.callback_submitter = runs.submitter = CallbackSubmitter(
            submissions,
            limits,
            admins,
            known_globals=routing.known_globals,
            code_checker=self.code_checker,
            reads=read_policy,
        )
        control = Control(index, pipeline, self._log, clock)
        modifications = Modifications(
            index, pipeline, self._log, clock, limits, known_globals=routing.known_globals
        )
        # The farm's hosts (host_registry): their rows in the store, their events committed.
        self.hosts = hosts = HostRegistry(store.save_hosts, pipeline.commit, clock)
        hosts.load(store.load_hosts())
        routing.attach_hosts(hosts, RegistryHosts(hosts))
        leases = WorkLeasing(leasing, index, pipeline, signal, clock, hosts)

        # --- the model (JobIndex) ---
        self.get_job = index.get_job
        self.all_jobs = index.all_jobs
        self.resident_jobs = index.resident_jobs
        self.retired_totals = index.retired_totals
        self.farm_counts = index.counts
        self.job_by_label = index.job_by_label
        self.children_of = index.children_of
        self.subtree = index.subtree
        self.pgrp_members = index.pgrp_members
        self.list_jobs = index.list_jobs
        self.list_jobs_aside = index.list_jobs_aside
        self.history_snapshot = index.history_snapshot
        # --- submitting and callbacks (Submissions, Triggering) ---
        self.labels_in_pgrp = submissions.labels_in_pgrp
        self.submit = submissions.submit
        self.submit_async = submissions.submit_async
        self.add_callbacks = submissions.add_callbacks
        self.add_callbacks_async = submissions.add_callbacks_async
        self.callbacks_of = self.triggering.callbacks_of
        self.universal_callbacks = submissions.universal  # loaded and reloaded by app.py
        # --- callback runs and timers (CallbackRuns, in the pipeline) ---
        self.finish_run = runs.finish
        self.check_submits = self.callback_submitter.check_async
        self.resume_pending_runs = runs.drain  # the runs a previous supervisor left (outbox)
        self.timers_changed = runs.timers_changed
        self.next_timer = runs.next_timer
        self.fire_due_timers = runs.fire_due_timers
        self.run_timers = runs.run_timers
        # --- operator actions (Control) ---
        self.control = control.control
        self.work_of = control.work_of
        # --- changes after submit (Modifications) ---
        self.modify_jobs = modifications.modify
        # --- workers and leases (WorkLeasing) ---
        self.register_worker = leases.register_worker
        self.knows_worker = leases.knows_worker
        self.worker_leases = leases.worker_leases
        self.work_signal = leases.work_signal
        self.lease = leases.lease
        self.lease_aside = leases.lease_aside
        self.report = leases.report
        self.report_and_lease = leases.report_and_lease
        self.report_many_and_lease = leases.report_many_and_lease
        self.report_many_and_lease_aside = leases.report_many_and_lease_aside
        self.settle = pipeline.settle
        self.close_commits = pipeline.close
        self.lease_entry = leases.lease_entry
        self.lease_sink = leases.lease_sink
        self.drop_worker = leases.drop_worker
        self.recover = leases.recover
        self.reattach = leases.reattach
        self.reattach_deadline = leases.reattach_deadline
        self.requeue_unclaimed = leases.requeue_unclaimed
        self.requeue_unheld = leases.requeue_unheld
        self.requeue_on_shutdown = leases.requeue_on_shutdown
        self.requeue_all = leases.requeue_all
        # --- routing: licences, why a job waits (RoutingState) ---
        self.waiting_reasons = routing.waiting_reasons
        self.wait_explanation = routing.wait_explanation
        self.worker_heartbeat = leases.heartbeat
        # --- the farm's hosts (HostRegistry) ---
        self.list_hosts = hosts.hosts
        self.get_host = hosts.get
        self.control_hosts = hosts.control
        self.host_workers = hosts.workers_of
        self.global_resources = routing.licences.usage  # name -> (in use, limit)

        if store.leftover_staged:
            log.warning(
                "deleted %d staged jobs of a Submit that was not finished when the supervisor "
                "stopped (it was not acknowledged)",
                store.leftover_staged,
            )
        if freeze_long_lived:
            # Loading builds every job's objects at once: a dozen full collections would walk
            # them again and again (a third of a restart's CPU), to find no garbage.
            with job_index.collector_paused():
                pipeline.load()
            job_index.freeze_long_lived()  # what was loaded lives as long as the process
        else:
            pipeline.load()

    def retire_finished_jobs(self, max_rows: int | None = None) -> int:
        """Let the jobs finished long enough ago leave memory, a slice of about ``max_rows``
        rows at a time (:meth:`JobIndex.retire_finished`), and their callbacks with them
        (dormant: :mod:`.dormant_callbacks`); how many jobs left."""
        retired = self.index.retire_finished(max_rows)
        self.triggering.retire(retired)
        return len(retired)

    # --- reads over more than one service ------------------------------------------------

    def get_callback(self, callback_id: int) -> Callback | None:
        return self.triggering.callback(callback_id)

    def resolve_context(self, owner: Job) -> ResolveContext:
        """How ``owner``'s triggers see other jobs (to resolve a trigger it would have)."""
        return self.triggering.context(owner)

    def event_at(self, seq: int) -> Event | None:
        return event_at(self._log, seq)

    def list_runs(
        self, *, job_id: int = 0, callback_id: int = 0, before_id: int = 0, limit: int = 100
    ) -> list[CallbackRun]:
        return self.store.list_runs(
            job_id=job_id, callback_id=callback_id, before_id=before_id, limit=limit
        )

    # --- work output ---------------------------------------------------------------------

    def read_output(
        self, job_id: int, work_index: int, attempt: int, stderr: bool, offset: int, limit: int
    ) -> OutputChunk:
        return self.outputs.read(job_id, work_index, attempt, stderr, offset, limit)

    def append_output(
        self, job_id: int, work_index: int, attempt: int, stderr: bool, data: bytes
    ) -> None:
        self.outputs.append(job_id, work_index, attempt, stderr, data)

    # --- retention -----------------------------------------------------------------------

    def forget_history_before(self, before_time: float, *, keep_last: int) -> tuple[int, int]:
        """Delete the events retention no longer keeps, from the store and from memory:
        those before ``before_time`` (0: any) beyond the newest ``keep_last`` (0: any).
        Returns how many were deleted and the oldest seq kept (0 when none was deleted)."""
        self.settle()  # (the store's head is then the stored one, never a write in flight)
        deleted = self.store.trim_events(keep_last=keep_last, before_time=before_time)
        if not deleted:
            return 0, 0
        oldest = self.store.oldest_seq()
        self._log.forget_before(oldest)
        return deleted, oldest
