"""Submissions: checking and applying Submits, and callbacks added to jobs later.

A Submit is checked in two halves. What depends on the request alone (sizes, fields, Python
callback code) is checked off the event loop, in a thread and in the code checker's process;
what depends on the stored state (group, parents, labels, a replayed request id) is checked
again on the loop right before the submission is applied in one commit, so it stays atomic
(all jobs or none) whatever changed meanwhile. A large Submit is written staged by the
:class:`~.staging.Stager`, for which this service is the :class:`~.staging.StagingHost`.
Where a commit is a round trip (PostgreSQL), a Submit's commit is sent aside, the loop serving
other requests until it lands, and its request id is looked up from a thread; copies of one
request id take turns (:mod:`.request_turns`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Container, Iterable, Sequence

from .callback_runs import STORAGE_RETRY_SECONDS
from .codecheck import CodeChecker
from .commit_pipeline import CommitPipeline
from .core import transitions
from .core.changes import Changes
from .core.errors import AlreadyExists, NotFound
from .core.limits import Limits
from .core.model import CallbackLanguage, CallbackSpec, Job, JobSpec
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
from .core.triggers.dependency import Desugared, hold, read_dependency
from .core.triggers.engine import Callback, Firing
from .eventlog import EventLog
from .job_index import GrowthFreezer, JobIndex
from .request_turns import RequestTurns
from .staging import Prepared, Stager, SubmitResult, fresh_label
from .store.protocol import Store
from .store.records import StoredSubmission
from .triggering import Submitted, Triggering
from .universal_callbacks import UniversalCallbacks


class RequestConflict(AlreadyExists):
    """A request id reused for a different request."""


class Submissions:
    """Submit (in one piece or staged), replays of a request id, and AddCallbacks."""

    def __init__(
        self,
        store: Store,
        index: JobIndex,
        pipeline: CommitPipeline,
        triggering: Triggering,
        event_log: EventLog,
        code_checker: CodeChecker,
        *,
        limits: Limits,
        clock: Callable[[], float],
        freeze: bool,
        known_globals: Collection[str] = frozenset(),
    ) -> None:
        """``freeze``: after each staged Submit, and once smaller ones added enough, exempt
        what they added from the cyclic garbage collector (:class:`~.job_index.GrowthFreezer`).
        ``known_globals``: the configured global resources reservations may name."""
        self._store = store
        self._index = index
        self._pipeline = pipeline
        self._triggering = triggering
        self._log = event_log
        self._code_checker = code_checker
        self._limits = limits
        self._clock = clock
        self._freezer = GrowthFreezer(freeze)
        self._known_globals = frozenset(known_globals)
        self._stager = Stager(self, store, triggering, clock, retry_seconds=STORAGE_RETRY_SECONDS)
        self._turns = RequestTurns()
        # The admin's callbacks, attached to every job submitted (none until app.py loads a
        # directory); not counted against the user's callback limits.
        self.universal = UniversalCallbacks(triggering.policy, limits)

    # --- what the checks and the stager see (JobLookup, StagingHost) --------------------

    def get_job(self, job_id: int) -> Job | None:
        return self._index.get_job(job_id)

    def labels_in_pgrp(self, pgrp: int) -> set[str]:
        """The labels used in ``pgrp``, those held by a Submit being staged included."""
        return set(self._index.stored_labels(pgrp)) | self._stager.reserved_labels(pgrp)

    def stored_labels(self, pgrp: int) -> Container[str]:
        """The labels of the jobs in ``pgrp``, those held by a Submit being staged left out."""
        return self._index.stored_labels(pgrp)

    def take_job_ids(self, count: int) -> int:
        """Advance the job id counter by ``count`` (a Submit being staged); the first id."""
        return self._index.take_job_ids(count)

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
        a thread while other RPCs are served; then the checks that depend on the stored state
        (group, parents, labels) run again, on the loop, right before the submission is
        applied in one piece, so it stays atomic (all jobs or none) whatever changed
        meanwhile, other Submits included. Submits do not wait for each other: a one-job
        Submit is not held up by another user's code being checked. Copies of one request id
        take turns (:mod:`.request_turns`): a retry answers as the first copy did.

        A large Submit (over ``staging.STAGE_ABOVE_ROWS`` work items and instances or
        ``STAGE_ABOVE_JOBS`` jobs) is written staged, so that no single step holds the loop for
        long: see :meth:`Stager.submit`. Where a commit is a round trip (PostgreSQL) the others
        are committed aside (:meth:`_apply`), the loop serving other requests meanwhile.
        """
        async with self._turns.turn(request_id):
            previous = await self._lookup(request_id)
            if previous is not None:
                return self._replay(previous, request_id, digest)
            errors = await asyncio.to_thread(
                intrinsic_problems,
                specs,
                self._limits,
                request_bytes=request_bytes,
                known_globals=self._known_globals,
            )
            if errors:  # every problem at once, those against the stored state too
                raise SubmissionRejected(errors + context_problems(specs, pgrp, self))
            await self._check_code(
                (f"jobs[{i}].callbacks[{j}]", c)
                for i, spec in enumerate(specs)
                for j, c in enumerate(spec.callbacks)
            )
            prepared = await asyncio.to_thread(self._prepare, specs)
            submission = (request_id, digest) if request_id else None
            rows = sum(len(job.work) + len(job.subjobs) for job in prepared.jobs)
            if self._stager.should_stage(rows, len(specs), apart=self._store.side_connection):
                staged = await self._stager.submit(specs, pgrp, user, submission, prepared)
                await asyncio.sleep(0)
                return staged
            return await self._apply(specs, pgrp, user, submission, prepared)

    async def _lookup(self, request_id: str) -> StoredSubmission | None:
        """The stored Submit of ``request_id``: read from a thread where the store reads it
        on a connection of its own (PostgreSQL: neither waiting for the writes in flight nor
        holding the loop for a round trip), on the loop elsewhere."""
        if not request_id:
            return None
        if self._store.side_connection:
            return await asyncio.to_thread(self._store.find_submission, request_id)
        return self._store.find_submission(request_id)

    async def _apply(
        self,
        specs: Sequence[JobSpec],
        pgrp: int,
        user: str,
        submission: tuple[str, str] | None,
        prepared: Prepared,
    ) -> SubmitResult:
        """Apply a submission whose own checks passed off the loop, its work items built: the
        checks against the stored state (group, parents, labels) run here, and nothing awaits
        from them to the commit, so what they saw is what is applied. Where a commit is a
        round trip (PostgreSQL) it is sent aside (``CommitPipeline.commit_soon``), the loop
        serving other requests until it lands and the Submit answers; elsewhere it is made at
        once. The result's seq is the last of the Submit's own events."""
        if self._pipeline.round_trips:
            await self._pipeline.room()
        errors = context_problems(specs, pgrp, self)
        if errors:
            raise SubmissionRejected(errors)
        changes = Changes(now=self._clock())
        jobs, group, firings = self.place(changes, specs, pgrp=pgrp, user=user, prepared=prepared)
        # On failure the pipeline reloads the state, job id counter included, from the store.
        landing = self._pipeline.commit_soon(changes, firings=firings, submission=submission)
        if landing is not None:
            await landing
        else:  # let other requests in before the caller builds its (large) response
            await asyncio.sleep(0)
        return SubmitResult(jobs, group, changes.events[-1].seq)

    async def commit_staged(
        self,
        specs: Sequence[JobSpec],
        jobs: list[Job],
        desugared: list[Desugared | None],
        submission: tuple[str, str] | None,
        now: float,
    ) -> int:
        """The last step of a staged Submit (:meth:`Stager.submit`), its checks passed: make
        its jobs visible in one commit (sent aside where a commit is a round trip); the seq
        of its last event. Nothing awaits before the commit is made."""
        changes = Changes(now=now, staged=True)
        callbacks = self._callbacks_for(specs, jobs, desugared, [])
        for job in jobs:
            transitions.submit(changes, job)
        firings = self._triggering.register(changes, callbacks)
        landing = self._pipeline.commit_soon(changes, firings=firings, submission=submission)
        if landing is not None:
            await landing
        self._freezer.freeze_now()
        return changes.events[-1].seq

    def _prepare(self, specs: Sequence[JobSpec]) -> Prepared:
        return Prepared([unplaced_job(normalize(spec), self._limits) for spec in specs])

    async def _check_code(self, callbacks: Iterable[tuple[str, CallbackSpec]]) -> None:
        """Check Python callback code in the checker process (its verdicts are then cached)."""
        if CallbackLanguage.PYTHON not in self._triggering.policy.enabled:
            return
        python = [
            (path, spec) for path, spec in callbacks if spec.language == CallbackLanguage.PYTHON
        ]
        failed = set(await self._code_checker.check(spec.code for _, spec in python))
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
    ) -> SubmitResult:
        """Check and apply a submission in one piece, on the loop (a caller in the process;
        the API's Submits go through :meth:`submit_async`, and copies of one request id are
        not to be sent through both at once)."""
        if request_id and (previous := self._store.find_submission(request_id)) is not None:
            return self._replay(previous, request_id, digest)
        errors = validate_submission(
            specs,
            pgrp,
            self,
            self._limits,
            request_bytes=request_bytes,
            known_globals=self._known_globals,
        )
        if errors:
            raise SubmissionRejected(errors)
        changes = Changes(now=self._clock())
        jobs, group, firings = self.place(changes, specs, pgrp=pgrp, user=user)
        # On failure the pipeline reloads the state, job id counter included, from the store.
        self._pipeline.commit(changes, (request_id, digest) if request_id else None, firings)
        return SubmitResult(jobs, group, changes.events[-1].seq)

    def place(
        self,
        changes: Changes,
        specs: Sequence[JobSpec],
        *,
        pgrp: int = 0,
        user: str = "",
        prepared: Prepared | None = None,
        check_python_code: bool = True,
    ) -> tuple[list[Job], int, list[Firing]]:
        """Make the jobs of a checked submission and their callbacks, into ``changes``, which
        the caller commits (with the firings returned): a Submit alone, or a callback's
        ``qb.submit`` with the run's other actions (``callback_submit``). Returns the jobs
        and their process group. On a failure the caller reloads the model from the store.
        ``check_python_code=False``: the caller checked the Python code (in the checker process)."""
        jobs: list[Job] = []
        group = pgrp
        taken = self.labels_in_pgrp(pgrp) if pgrp else set()
        taken.update(spec.label for spec in specs if spec.label)
        first_id = self._index.next_job_id()
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
        callbacks = self._callbacks_for(specs, jobs, None, [], check_python_code=check_python_code)
        self._index.advance_job_ids(jobs[-1].id)
        for job in jobs:
            transitions.submit(changes, job)
        self._freezer.added(jobs)
        return jobs, group, self._triggering.register(changes, callbacks)

    def _replay(self, previous: StoredSubmission, request_id: str, digest: str) -> SubmitResult:
        """The answer to a Submit whose request id was applied before (``previous``)."""
        if previous.digest != digest:
            raise RequestConflict(
                f"request_id {request_id!r} was already used for a different submission"
            )
        jobs = [job for i in previous.job_ids if (job := self._index.get_job(i)) is not None]
        return SubmitResult(jobs, previous.pgrp, previous.seq)

    def _callbacks_for(
        self,
        specs: Sequence[JobSpec],
        jobs: list[Job],
        desugared: list[Desugared | None] | None,
        errors: list[FieldError],
        *,
        check_python_code: bool = True,
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
            compiled, problems = self._triggering.compile(
                job,
                spec.callbacks,
                path,
                dependency=dependency,
                submitted=submitted,
                registered_seq=self._log.head_seq,
                check_python_code=check_python_code,
            )
            errors.extend(problems)
            callbacks.extend(compiled)
            if not errors:
                callbacks.extend(
                    self.universal.attach(
                        self._triggering, job, path, registered_seq=self._log.head_seq
                    )
                )
        if errors:
            self._triggering.forget_ids(callbacks)
            raise SubmissionRejected(errors)
        return callbacks

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
        job = self._index.get_job(job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        if job.removed:
            raise SubmissionRejected([FieldError("job_id", f"job {job_id} was removed")])
        if not specs:
            raise SubmissionRejected([FieldError("callbacks", "give at least one callback")])
        limit = self._limits.callbacks_per_job
        # Universal callbacks are the admin's: they take nothing from the user's allowance.
        has = sum(not c.universal for c in self._triggering.callbacks_of(job_id))
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
            for error in check_callback_sizes(spec, f"callbacks[{index}]", self._limits)
        ]
        if errors:
            raise SubmissionRejected(errors)
        return job

    def add_callbacks(self, job_id: int, specs: Sequence[CallbackSpec]) -> list[Callback]:
        job = self._callbacks_problems(job_id, specs)
        callbacks, errors = self._triggering.compile(
            job, specs, "", registered_seq=self._log.head_seq
        )
        if errors:
            raise SubmissionRejected([FieldError(e.path.lstrip("."), e.message) for e in errors])
        changes = Changes(now=self._clock())
        firings = self._triggering.register(changes, callbacks)
        self._pipeline.commit(changes, firings=firings)
        return callbacks
