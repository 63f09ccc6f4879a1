"""The supervisor application service: the one place where requests meet the core.

Every operation follows the same path: check the request, apply core transitions to the
in-memory model, write the changes and their events in one transaction, publish the events,
then carry out the effects (wake workers, signal processes). The gRPC servicers, the local
worker pool and remote workers all go through here.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass

from latchwork.sandbox.actions import CallbackAction

from . import queries
from .callback_runs import RUN_BUDGET_SECONDS as RUN_BUDGET_SECONDS  # re-exported (bench)
from .callback_runs import STORAGE_RETRY_SECONDS, CallbackRuns, RunQueue
from .callbacks import LanguagePolicy
from .codecheck import CodeChecker
from .core import transitions
from .core.actions import JOB_ACTIONS, WORK_ACTIONS, OperatorAction
from .core.changes import Changes
from .core.errors import AlreadyExists, NotFound
from .core.events import Event
from .core.firing_budget import FiringBudget
from .core.limits import DEFAULT_LIMITS, Limits
from .core.model import CallbackLanguage, CallbackSpec, Job, JobSpec, WorkItem
from .core.runs import CallbackRun
from .core.scheduler import Scheduler
from .core.states import JobStatus, WorkStatus
from .core.submission import (
    FieldError,
    SubmissionRejected,
    check_callback_sizes,
    context_problems,
    intrinsic_problems,
    make_job,
    normalize,
    place_job,
    unplaced_job,
    validate_submission,
)
from .core.transitions import WorkOutcome
from .core.triggers.dependency import Desugared, hold, read_dependency
from .core.triggers.engine import Callback, Firing
from .eventlog import EventLog
from .leases import LeaseGrant, LeaseRegistry, LeaseSink
from .output import OutputStore
from .queries import JobQuery as JobQuery  # re-exported (the API layer, tests)
from .staging import Prepared, Stager, SubmitResult, fresh_label
from .store import SqliteStore
from .store.errors import StorageError
from .throttled_log import ThrottledLog
from .triggering import Lookups, Submitted, Triggering

log = logging.getLogger(__name__)
_storage_log = ThrottledLog(log)


class RequestConflict(AlreadyExists):
    """A request id reused for a different request."""


@dataclass(frozen=True, slots=True)
class ControlResult:
    job_id: int
    work_name: str
    changed: bool
    job_status: JobStatus


class Supervisor:
    def __init__(
        self,
        store: SqliteStore,
        outputs: OutputStore,
        *,
        clock: Callable[[], float] = time.time,
        languages: LanguagePolicy | None = None,
        admins: frozenset[str] = frozenset(),
        limits: Limits = DEFAULT_LIMITS,
        freeze_long_lived: bool = False,
        run_queue: RunQueue | None = None,
        firing_budget: FiringBudget | None = None,
    ) -> None:
        """``freeze_long_lived``: exempt what is loaded, and what each large Submit adds, from
        Python's cyclic garbage collector (:func:`_freeze_long_lived`). Process-wide, so for
        the server's one supervisor, not for the many a test process makes.

        ``run_queue``: where Python and mail callback runs are handed out; without one they
        end as errors. ``firing_budget``: the bound on runaway cascades (default limits when
        not given)."""
        self.store = store
        self._freeze = freeze_long_lived
        self.outputs = outputs
        self.limits = limits
        # Python callback code is checked in another process before a Submit reaches the part
        # that runs on the loop (see submit_async).
        self.code_checker = CodeChecker()
        self.clock = clock
        self.log = EventLog(store)
        self.scheduler = Scheduler()
        self.jobs: dict[int, Job] = {}
        self._labels: dict[int, dict[str, int]] = {}
        self._children: dict[int, list[int]] = {}
        self._leasing = LeaseRegistry()
        self._last_job_id = 0
        self._work_wakeup = asyncio.Event()
        self.triggering = Triggering(
            store,
            Lookups(job=self.get_job, by_label=self.job_by_label, children=self.children_of),
            languages or LanguagePolicy(),
            admins,
            budget=firing_budget,
        )
        self._stager = Stager(
            self, store, self.triggering, clock, retry_seconds=STORAGE_RETRY_SECONDS
        )
        self._runs = CallbackRuns(self, self.triggering, clock, run_queue)
        if store.leftover_staged:
            log.warning(
                "deleted %d staged jobs of a Submit that was not finished when the supervisor "
                "stopped (it was not acknowledged)",
                store.leftover_staged,
            )
        self._load()
        if self._freeze:
            _freeze_long_lived()  # what was loaded lives as long as the process

    # --- state ---------------------------------------------------------------------------

    def _load(self) -> None:
        state = self.store.load()
        self.jobs = {}
        self._labels = {}
        self._children = {}
        self._leasing.reset()
        self.scheduler = Scheduler()
        self._last_job_id = max(state.last_job_id, self._stager.reserved_last_id)
        for job in state.jobs:
            self._index(job)
            for item in job.work:
                if item.status is WorkStatus.RUNNING and item.lease_id:
                    self._leasing.restore(item.lease_id, job, item)
                elif item.status is WorkStatus.PENDING:
                    self.scheduler.offer(job, item)
        self._runs.reset(self.triggering.load())

    def _reload(self) -> None:
        """Take the model back from the store after a change could not be stored.

        The runs still to be handed out stay as they are: the store's list of unfinished runs
        also holds those already handed to the callback runner and the one being finished,
        and taking it would run them twice.
        """
        pending = self._runs.pending
        self._load()
        self._runs.pending = pending

    def _index(self, job: Job) -> None:
        self.jobs[job.id] = job
        self._labels.setdefault(job.pgrp, {})[job.label] = job.id
        if job.pid:
            self._children.setdefault(job.pid, []).append(job.id)

    def get_job(self, job_id: int) -> Job | None:
        return self.jobs.get(job_id)

    def labels_in_pgrp(self, pgrp: int) -> set[str]:
        """The labels used in ``pgrp``, those held by a Submit being staged included."""
        return set(self._labels.get(pgrp, {})) | self._stager.reserved_labels(pgrp)

    def job_by_label(self, pgrp: int, label: str) -> Job | None:
        job_id = self._labels.get(pgrp, {}).get(label)
        return self.jobs.get(job_id) if job_id is not None else None

    def children_of(self, job_id: int) -> list[int]:
        return queries.children_of(self._children, job_id)

    def _commit(
        self,
        changes: Changes,
        submission: tuple[str, str] | None = None,
        firings: list[Firing] | None = None,
    ) -> None:
        """Store ``changes`` with the events, latches and firings they cause; then act on them."""
        for job in changes.new_jobs:
            self._index(job)
        try:
            self.triggering.tree_events(changes)
            self.store.number_events(changes)
            self.triggering.observe(changes, firings if firings is not None else [])
            self.store.write(changes, submission)
        except StorageError as error:
            # A full disk: expected, retried by the callers; one line, not a traceback per try.
            _storage_log.warning(
                "could not store changes (%s); reloading state from the store", error
            )
            self._reload()
            raise
        except Exception:
            log.exception("could not store changes; reloading state from the store")
            self._reload()
            raise
        self.log.publish(changes.events)
        for job in changes.dirty_jobs.values():
            if job.removed:
                self.triggering.engine.remove_job(job.id)
        self._runs.committed(changes)
        offered = self._offer(changes)
        for lease_id in changes.kill_leases:
            self._leasing.release(lease_id, kill=True)
        for lease_id in changes.suspend_leases:
            if (sink := self._leasing.sink_for(lease_id)) is not None:
                sink.suspend(lease_id)
        for lease_id in changes.resume_leases:
            if (sink := self._leasing.sink_for(lease_id)) is not None:
                sink.resume(lease_id)
        if offered:
            self._wake_workers()
        self._runs.drain()

    def _offer(self, changes: Changes) -> bool:
        """Tell the scheduler what ``changes`` may have made runnable; True if anything."""
        offered = False
        for job in changes.new_jobs:
            if job.tally[WorkStatus.PENDING]:
                self.scheduler.offer_new(job)
                offered = True
        for job, work in changes.made_pending:
            # Queued even while the job is held: releasing the hold re-offers the job only.
            self.scheduler.offer(job, work)
            offered = True
        changes.made_pending.clear()
        for job in changes.dirty_jobs.values():
            if job.dispatchable and job.tally[WorkStatus.PENDING]:
                self.scheduler.offer(job)
                offered = True
        return offered

    def _wake_workers(self) -> None:
        self._work_wakeup.set()
        self._work_wakeup = asyncio.Event()

    def work_signal(self) -> asyncio.Event:
        """An event set the next time work may have become runnable.

        Take it before deciding to wait, so that nothing offered in between is missed.
        """
        return self._work_wakeup

    # --- submitting ----------------------------------------------------------------------

    async def submit_async(
        self,
        specs: Sequence[JobSpec],
        *,
        pgrp: int = 0,
        user: str = "",
        request_id: str = "",
        digest: str = "",
        request_bytes: int = 0,
    ) -> SubmitResult:
        """:meth:`submit`, with the heavy pure work done first, off the event loop.

        Python callback code is checked in a checker process and the work items are built in
        a thread while other RPCs are served; then :meth:`submit` checks again, on the loop,
        everything that depends on the stored state (group, parents, labels, a replayed
        request id) and applies the submission in one piece, so it stays atomic (all jobs or
        none) whatever changed meanwhile, other Submits included. Submits do not wait for each
        other: a one-job Submit is not held up by another user's code being checked.

        A large Submit (over ``staging.STAGE_ABOVE_ROWS`` work items and instances or
        ``STAGE_ABOVE_JOBS`` jobs) is written staged, so that no single step holds the loop for
        long: see :meth:`Stager.submit`.
        """
        await self._stager.wait(request_id)
        replay = bool(request_id) and self.store.find_submission(request_id) is not None
        prepared: Prepared | None = None
        if not replay:
            errors = await asyncio.to_thread(
                intrinsic_problems, specs, self.limits, request_bytes=request_bytes
            )
            if errors:  # every problem at once, those against the stored state too
                raise SubmissionRejected(errors + context_problems(specs, pgrp, self))
            await self._check_code(
                (f"jobs[{i}].callbacks[{j}]", c)
                for i, spec in enumerate(specs)
                for j, c in enumerate(spec.callbacks)
            )
            prepared = await asyncio.to_thread(self._prepare, specs)
            rows = sum(len(job.work) + len(job.subjobs) for job in prepared.jobs)
            if self._stager.should_stage(rows, len(specs)):
                # A copy of this request may have begun staging while this one was checked;
                # from here to the reservation nothing awaits, so no third copy slips in.
                await self._stager.wait(request_id)
                if not (request_id and self.store.find_submission(request_id)):
                    staged = await self._stager.submit(
                        specs, pgrp, user, request_id, digest, prepared
                    )
                    await asyncio.sleep(0)
                    return staged
        result = self.submit(
            specs,
            pgrp=pgrp,
            user=user,
            request_id=request_id,
            digest=digest,
            request_bytes=request_bytes,
            prepared=prepared,
        )
        # Let other requests in before the caller builds its (large) response.
        await asyncio.sleep(0)
        return result

    def take_job_ids(self, count: int) -> int:
        """Advance the job id counter by ``count`` (a Submit being staged); the first id."""
        first_id = self._last_job_id + 1
        self._last_job_id += count
        return first_id

    def stored_labels(self, pgrp: int) -> Container[str]:
        """The labels of the jobs in ``pgrp``, those held by a Submit being staged left out."""
        return self._labels.get(pgrp, {})

    def commit_staged(
        self,
        specs: Sequence[JobSpec],
        jobs: list[Job],
        desugared: list[Desugared | None],
        submission: tuple[str, str] | None,
        now: float,
    ) -> int:
        """The last step of a staged Submit (:meth:`Stager.submit`), its checks passed: make
        its jobs visible in one commit; the head seq after it."""
        changes = Changes(now=now, staged=True)
        callbacks = self._callbacks_for(specs, jobs, desugared, [])
        for job in jobs:
            transitions.submit(changes, job)
        firings = self.triggering.register(changes, callbacks)
        self._commit(changes, submission, firings)
        if self._freeze:
            _freeze_long_lived()
        return self.log.head_seq

    def _prepare(self, specs: Sequence[JobSpec]) -> Prepared:
        return Prepared([unplaced_job(normalize(spec), self.limits) for spec in specs])

    async def _check_code(self, callbacks: Iterable[tuple[str, CallbackSpec]]) -> None:
        """Check Python callback code in the checker process (its verdicts are then cached)."""
        if CallbackLanguage.PYTHON not in self.triggering.policy.enabled:
            return
        python = [
            (path, spec) for path, spec in callbacks if spec.language == CallbackLanguage.PYTHON
        ]
        failed = set(await self.code_checker.check(spec.code for _, spec in python))
        if failed:
            raise SubmissionRejected(
                [
                    FieldError(
                        f"{path}.code",
                        "the code could not be checked (the checker process failed); try again",
                    )
                    for path, spec in python
                    if spec.code in failed
                ]
            )

    def submit(
        self,
        specs: Sequence[JobSpec],
        *,
        pgrp: int = 0,
        user: str = "",
        request_id: str = "",
        digest: str = "",
        request_bytes: int = 0,
        prepared: Prepared | None = None,
    ) -> SubmitResult:
        """Check and apply a submission in one piece.

        With ``prepared`` (from :meth:`submit_async`), the submission's own checks passed off
        the loop and its work items are built: only the checks against the stored state
        (group, parents, labels) are left, and they run here, right before it is applied.
        """
        if request_id and (replayed := self._replayed(request_id, digest)) is not None:
            return replayed
        if prepared is None:
            errors = validate_submission(
                specs, pgrp, self, self.limits, request_bytes=request_bytes
            )
        else:
            errors = context_problems(specs, pgrp, self)
        if errors:
            raise SubmissionRejected(errors)
        changes = Changes(now=self.clock())
        jobs: list[Job] = []
        group = pgrp
        taken = self.labels_in_pgrp(pgrp) if pgrp else set()
        taken.update(spec.label for spec in specs if spec.label)
        first_id = self._last_job_id + 1
        for offset, spec in enumerate(specs):
            job_id = first_id + offset
            group = group or job_id
            label = spec.label or fresh_label(job_id, taken)
            owner = spec.user or user
            if prepared is not None:
                job = place_job(prepared.jobs[offset], job_id, group, label, owner, changes.now)
            else:
                job = make_job(normalize(spec), job_id, group, label, owner, changes.now)
            jobs.append(job)
        callbacks = self._callbacks_for(specs, jobs, None, errors)
        self._last_job_id = jobs[-1].id
        for job in jobs:
            transitions.submit(changes, job)
        firings = self.triggering.register(changes, callbacks)
        # On failure _commit reloads the state, job id counter included, from the store.
        self._commit(changes, (request_id, digest) if request_id else None, firings)
        return SubmitResult(jobs, group, self.log.head_seq)

    def _replayed(self, request_id: str, digest: str) -> SubmitResult | None:
        """The stored answer to an idempotent Submit already applied, or None."""
        previous = self.store.find_submission(request_id)
        if previous is None:
            return None
        if previous.digest != digest:
            raise RequestConflict(
                f"request_id {request_id!r} was already used for a different submission"
            )
        return SubmitResult([self.jobs[i] for i in previous.job_ids], previous.pgrp, previous.seq)

    def _callbacks_for(
        self,
        specs: Sequence[JobSpec],
        jobs: list[Job],
        desugared: list[Desugared | None] | None,
        errors: list[FieldError],
    ) -> list[Callback]:
        """Compile a submission's callbacks and dependencies; raises with every problem.

        ``desugared``: the dependencies already parsed and their holds put on the jobs (a
        staged Submit); None to do both here.
        """
        submitted = Submitted.of(jobs)
        callbacks: list[Callback] = []
        for index, (spec, job) in enumerate(zip(specs, jobs, strict=True)):
            path = f"jobs[{index}]"
            if desugared is None:
                dependency, problems = read_dependency(spec.dependency, path)
                errors.extend(problems)
                if dependency is not None:
                    hold(job, dependency)
            else:
                dependency = desugared[index]
            compiled, problems = self.triggering.compile(
                job,
                spec.callbacks,
                path,
                dependency=dependency,
                submitted=submitted,
                registered_seq=self.log.head_seq,
            )
            errors.extend(problems)
            callbacks.extend(compiled)
        if errors:
            self.triggering.forget_ids(callbacks)
            raise SubmissionRejected(errors)
        return callbacks

    # --- callbacks -----------------------------------------------------------------------

    async def add_callbacks_async(
        self, job_id: int, specs: Sequence[CallbackSpec]
    ) -> list[Callback]:
        """:meth:`add_callbacks`, with Python code checked off the event loop first (and
        everything checked again, on the loop, when they are added)."""
        self._callbacks_problems(job_id, specs)
        await self._check_code((f"callbacks[{i}]", spec) for i, spec in enumerate(specs))
        return self.add_callbacks(job_id, specs)

    def _callbacks_problems(self, job_id: int, specs: Sequence[CallbackSpec]) -> Job:
        """The job callbacks are added to; raises for everything but the compile problems."""
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        if job.removed:
            raise SubmissionRejected([FieldError("job_id", f"job {job_id} was removed")])
        if not specs:
            raise SubmissionRejected([FieldError("callbacks", "give at least one callback")])
        limit = self.limits.callbacks_per_job
        has = len(self.triggering.callbacks_of(job_id))
        if has + len(specs) > limit:
            raise SubmissionRejected(
                [
                    FieldError(
                        "callbacks",
                        f"job {job_id} has {has} callbacks; with {len(specs)} more it would "
                        f"have over {limit}, the most a job may have",
                    )
                ]
            )
        errors = [
            error
            for index, spec in enumerate(specs)
            for error in check_callback_sizes(spec, f"callbacks[{index}]", self.limits)
        ]
        if errors:
            raise SubmissionRejected(errors)
        return job

    def add_callbacks(self, job_id: int, specs: Sequence[CallbackSpec]) -> list[Callback]:
        job = self._callbacks_problems(job_id, specs)
        callbacks, errors = self.triggering.compile(
            job, specs, "", registered_seq=self.log.head_seq
        )
        if errors:
            raise SubmissionRejected([FieldError(e.path.lstrip("."), e.message) for e in errors])
        changes = Changes(now=self.clock())
        firings = self.triggering.register(changes, callbacks)
        self._commit(changes, firings=firings)
        return callbacks

    def callbacks_of(self, job_id: int) -> list[Callback]:
        return self.triggering.callbacks_of(job_id)

    def get_callback(self, callback_id: int) -> Callback | None:
        return self.triggering.engine.callbacks.get(callback_id)

    def list_runs(
        self, *, job_id: int = 0, callback_id: int = 0, before_id: int = 0, limit: int = 100
    ) -> list[CallbackRun]:
        return self.store.list_runs(
            job_id=job_id, callback_id=callback_id, before_id=before_id, limit=limit
        )

    def resume_pending_runs(self) -> None:
        """Run the firings a previous supervisor recorded but did not finish (the outbox)."""
        self._runs.drain()

    def finish_run(
        self,
        run: CallbackRun,
        actions: Sequence[CallbackAction],
        *,
        error: str = "",
        error_line: int = 0,
        limit: str = "",
        output: str = "",
    ) -> None:
        """Apply a run's actions (all or none) and record how it ended, in one transaction."""
        self._runs.finish(
            run, actions, error=error, error_line=error_line, limit=limit, output=output
        )

    def commit(self, changes: Changes) -> None:
        """The commit path, for :class:`CallbackRuns` (as its ``CommitHost``)."""
        self._commit(changes)

    def reload(self) -> None:
        """Take the model back from the store, for :class:`CallbackRuns`."""
        self._reload()

    def event_at(self, seq: int) -> Event | None:
        return queries.event_at(self.log, seq)

    def pgrp_members(self, pgrp: int) -> list[int]:
        return queries.pgrp_members(self._labels, pgrp)

    def subtree(self, root_id: int) -> list[Job]:
        """The job and everything below it in the job tree, parents first."""
        return queries.subtree(self.jobs, self._children, root_id)

    # --- timers ----------------------------------------------------------------------------

    @property
    def timers_changed(self) -> asyncio.Event:
        """Set when a commit adds callbacks or latches timers (the timer task re-plans)."""
        return self._runs.timers_changed

    def next_timer(self) -> float | None:
        """When the next time or repeat atom is due (Unix seconds), or None."""
        return self._runs.next_timer()

    def fire_due_timers(self) -> int:
        """Latch every time atom whose moment has come; returns how many fired."""
        return self._runs.fire_due_timers()

    async def run_timers(self) -> None:
        """Fire time triggers when they are due, for as long as the supervisor runs."""
        await self._runs.run_timers()

    # --- operator actions ----------------------------------------------------------------

    def control(
        self,
        action: OperatorAction,
        job_ids: Sequence[int],
        work: Sequence[tuple[int, str]],
        reason: str = "",
    ) -> tuple[list[ControlResult], int]:
        errors: list[FieldError] = []
        targets: list[tuple[Job, WorkItem | None]] = []
        if not job_ids and not work:
            errors.append(FieldError("job_ids", "name at least one job or work item"))
        for i, job_id in enumerate(job_ids):
            job = self.jobs.get(job_id)
            if job is None:
                errors.append(FieldError(f"job_ids[{i}]", f"job {job_id} does not exist"))
            elif job.removed and action is not OperatorAction.REMOVE:
                errors.append(FieldError(f"job_ids[{i}]", f"job {job_id} was removed"))
            else:
                targets.append((job, None))
        if work and action not in WORK_ACTIONS:
            errors.append(FieldError("work", f"{action.value} applies to whole jobs only"))
        for i, (job_id, work_name) in enumerate(work):
            job = self.jobs.get(job_id)
            if job is None:
                errors.append(FieldError(f"work[{i}].job_id", f"job {job_id} does not exist"))
                continue
            if job.removed:
                errors.append(FieldError(f"work[{i}].job_id", f"job {job_id} was removed"))
                continue
            item = job.work_named(work_name)
            if item is None:
                errors.append(
                    FieldError(f"work[{i}].work_name", f"job {job_id} has no work {work_name!r}")
                )
            else:
                targets.append((job, item))
        if errors:
            raise SubmissionRejected(errors)
        changes = Changes(now=self.clock())
        results: list[ControlResult] = []
        for job, item in targets:
            if item is None:
                changed = JOB_ACTIONS[action](changes, job, reason)
            else:
                changed = WORK_ACTIONS[action](changes, job, item, reason)
            results.append(ControlResult(job.id, item.name if item else "", changed, job.status))
        self._commit(changes)
        return [
            ControlResult(r.job_id, r.work_name, r.changed, self.jobs[r.job_id].status)
            for r in results
        ], self.log.head_seq

    # --- queries -------------------------------------------------------------------------

    def list_jobs(self, query: JobQuery) -> list[Job]:
        return queries.list_jobs(self.jobs, query)

    def work_of(self, job_id: int, work_name: str) -> tuple[Job, WorkItem]:
        return queries.work_of(self.jobs, job_id, work_name)

    # --- workers -------------------------------------------------------------------------

    def register_worker(self, host: str, sink: LeaseSink) -> str:
        return self._leasing.register_worker(host, sink)

    def worker_leases(self, worker_id: str) -> set[str]:
        return self._leasing.worker_leases(worker_id)

    def knows_worker(self, worker_id: str) -> bool:
        return self._leasing.knows_worker(worker_id)

    def lease(self, worker_id: str, max_leases: int) -> list[LeaseGrant]:
        """Start up to ``max_leases`` work items on the worker, most urgent first."""
        changes = Changes(now=self.clock())
        grants = self._leasing.grant(changes, self.scheduler, worker_id, max_leases)
        if grants:
            self._commit(changes)
        return grants

    def report(
        self, lease_id: str, outcome: WorkOutcome, exit_code: int = 0, message: str = ""
    ) -> bool:
        """Record the end of a leased run. False when the lease was already taken back."""
        accepted, _ = self.report_and_lease(lease_id, outcome, exit_code, message)
        return accepted

    def report_and_lease(
        self,
        lease_id: str,
        outcome: WorkOutcome,
        exit_code: int = 0,
        message: str = "",
        *,
        worker_id: str = "",
        max_leases: int = 0,
    ) -> tuple[bool, list[LeaseGrant]]:
        """Record the end of a run and lease the worker's next work in the same transaction.

        One commit instead of two per frame: the slot a frame frees is refilled at once.
        """
        entry = self._leasing.entry(lease_id)
        changes = Changes(now=self.clock())
        accepted = False
        if entry is not None:
            job, item = entry
            if outcome is WorkOutcome.TIMED_OUT and not message:
                message = f"timed out after {changes.now - item.start_time:.1f} s"
            accepted = transitions.finish_work(
                changes, job, item, lease_id, outcome, exit_code, message
            )
            self._offer(changes)
        grants = (
            self._leasing.grant(changes, self.scheduler, worker_id, max_leases)
            if max_leases > 0
            else []
        )
        if not changes.empty:
            self._commit(changes)
        # Only now: had the commit failed, the lease would still be running in the reloaded
        # model, and the worker's retried report must find it still its own.
        if entry is not None:
            self._leasing.release(lease_id, kill=False)
        return accepted, grants

    def lease_entry(self, lease_id: str) -> tuple[Job, WorkItem] | None:
        return self._leasing.entry(lease_id)

    def drop_worker(self, worker_id: str, reason: str) -> None:
        """Take back every lease of a worker that left or was lost."""
        if not self._leasing.knows_worker(worker_id):
            return
        # Requeued first: should that fail (a full disk), the worker and its leases stay
        # known, so the caller can try again instead of leaving them running for nobody.
        self._requeue(self._leasing.worker_leases(worker_id), reason)
        self._leasing.forget_worker(worker_id)

    def recover(self) -> list[str]:
        """Requeue work left running by a previous supervisor; returns its stale lease ids."""
        stale = list(self._leasing.lease_ids())
        self._requeue(stale, "the supervisor restarted while it ran")
        return stale

    def requeue_all(self, reason: str) -> None:
        self._requeue(list(self._leasing.lease_ids()), reason)

    def _requeue(self, lease_ids: Iterable[str], reason: str) -> None:
        changes = Changes(now=self.clock())
        for lease_id in list(lease_ids):
            entry = self._leasing.entry(lease_id)
            if entry is not None:
                transitions.requeue_work(changes, entry[0], entry[1], reason)
                transitions.refresh_job(changes, entry[0])
        if not changes.empty:
            self._commit(changes)


def _freeze_long_lived() -> None:
    """Exempt every object alive now from Python's cyclic garbage collector (``gc.freeze``).

    After a large Submit most of them are its jobs and work items, which live as long as the
    supervisor. A full collection walks every object it tracks, about 1 ms per 1,000 work
    items held, holding the GIL and so the event loop: with 300,000 work items held it took
    80-140 ms, in whatever request happened to allocate (docs/benchmarks.md, "Health latency
    during the largest legal Submit"). Frozen objects are still freed by reference counting
    when dropped; only cyclic garbage among them would stay, and jobs are never dropped.
    """
    gc.freeze()
