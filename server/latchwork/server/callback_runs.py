"""Callback runs and time triggers: the outbox of firings, handed out or run inline, and the
timer task that latches time atoms when they are due.

Kept apart from the commit path (:mod:`.commit_pipeline`, which owns this outbox): a run's end
and a timer's latch are ``Changes`` committed through the :class:`CommitHost`; the commit hands
the new runs back (:meth:`CallbackRuns.committed`) and asks for them to be run
(:meth:`CallbackRuns.drain`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from latchwork.sandbox.actions import CallbackAction, Verb

from .callback_submit import CallbackSubmitter, CheckedSubmit
from .callbacks import ActionRefused, apply_actions, check_actions, needs_async, qube_run_actions
from .core.changes import Changes
from .core.events import Event, EventName, EventType
from .core.model import Job
from .core.runs import CallbackRun, CallbackRunOutcome, failure_message
from .core.triggers.engine import Firing
from .log_format import run_ids
from .store.errors import StorageError
from .triggering import Triggering

log = logging.getLogger(__name__)

RUN_BUDGET_SECONDS = 0.005
STORAGE_RETRY_SECONDS = 1.0
"""How long a callback run whose end could not be stored waits before it is tried again."""


class RunQueue(Protocol):
    """Where Python and mail callback runs go to wait for the callback runner (which waits on
    a sandbox or an SMTP server, off the commit path). The run is durable before it is put
    here (the outbox); ``owner`` is the owner job's user, by which the runner serves fairly."""

    def put_nowait(self, run: CallbackRun, owner: str) -> None: ...


class CommitHost(Protocol):
    """What callback runs need from the commit pipeline: the jobs, and the one commit path."""

    def get_job(self, job_id: int) -> Job | None: ...

    def commit(self, changes: Changes, *, firings: list[Firing] | None = None) -> None:
        """Store and act on ``changes`` (which ends with :meth:`CallbackRuns.drain`);
        ``firings``: those already found (catch-up of the callbacks of jobs a run submitted)."""
        ...

    def commit_soon(
        self, changes: Changes, *, firings: list[Firing] | None = None
    ) -> Awaitable[None] | None:
        """:meth:`commit`, or its write sent aside where a commit waits for a round trip:
        then the returned awaitable is done once it landed (raising what the write raised)."""
        ...

    def reload(self) -> None:
        """Take the model back from the store; the runs still to hand out are kept."""
        ...


class CallbackRuns:
    """The runs still to be handed out (in memory; the store holds them durably) and the timers.

    A reload of the model keeps :attr:`pending` as it is: the store's list of unfinished runs
    also holds those already handed to the callback runner and the one being finished.
    """

    def __init__(
        self,
        host: CommitHost,
        triggering: Triggering,
        clock: Callable[[], float],
        run_queue: RunQueue | None,
    ) -> None:
        self._host = host
        self._triggering = triggering
        self._clock = clock
        self._run_queue = run_queue
        self.pending: deque[CallbackRun] = deque()
        # Jobs a run submits (qb.submit): set by the supervisor once the Submit service exists;
        # without it a run that submits ends as an error.
        self.submitter: CallbackSubmitter | None = None
        self._draining = False
        self.timers_changed = asyncio.Event()

    def reset(self, runs: Iterable[CallbackRun]) -> None:
        """Start over from the unfinished runs the store holds (at load)."""
        self.pending = deque(runs)

    def committed(self, changes: Changes) -> None:
        """Take note of what a commit added: new callbacks or latches, new runs."""
        if changes.new_callbacks or changes.timer_latches:
            self.timers_changed.set()
        self.pending.extend(changes.new_runs)

    def drain(self, aside: bool = False) -> None:
        """Run pending callbacks (and those their actions fire) until none is left.

        ``aside``: drained once a write sent aside landed (a worker's reports,
        :meth:`.commit_pipeline.CommitPipeline.commit_aside`), whose caller does not wait for
        what its callbacks do: their ends may be sent aside too (:meth:`finish`). Drained
        after a commit made at once (an operator's action, a Submit), they are committed at
        once, before that call answers.

        Re-entrant calls return at once: the outermost call keeps draining. A time budget per
        call (5 ms) keeps a large fan-out or a cascade (bounded by the firing budget) from
        starving the event loop; what is left is picked up on the next turn of the loop, so
        health checks and other requests are answered in between (bench/runaway_callbacks.py:
        health p50 22 ms with 20 ms slices, 13 ms with 5 ms, during back-to-back runaways).
        """
        if self._draining:
            return
        self._draining = True
        deadline = time.perf_counter() + RUN_BUDGET_SECONDS
        try:
            while self.pending and time.perf_counter() < deadline:
                run = self.pending.popleft()
                try:
                    self._run_callback(run, aside)
                except StorageError:
                    # Only storing the run's end can fail here (every other failure ends the
                    # run as an error), and nothing of it was applied: run it again once the
                    # store may take it (a full disk), not in a tight loop meanwhile.
                    self.pending.appendleft(run)
                    asyncio.get_running_loop().call_later(STORAGE_RETRY_SECONDS, self.drain)
                    return
                except Exception:
                    log.exception(
                        "callback run %d could not be recorded as finished",
                        run.id,
                        extra=run_ids(run),
                    )
        finally:
            self._draining = False
        if self.pending:
            asyncio.get_running_loop().call_soon(self.drain, aside)

    def _run_callback(self, run: CallbackRun, aside: bool) -> None:
        """Run a qube callback inline, or hand a Python or mail one to the callback runner.

        Whatever goes wrong ends the run as an error: a run left unfinished would be run again
        at every start.
        """
        started = time.perf_counter()
        actions: list[CallbackAction] = []
        error = ""
        try:
            callback = self._triggering.callback(run.callback_id)
            if callback is not None and needs_async(callback):
                if self._run_queue is not None:
                    owner = self._host.get_job(run.job_id)
                    self._run_queue.put_nowait(run, owner.user if owner is not None else "")
                    return
                error = "no runner for this language is configured"
            elif callback is None:
                error = f"callback {run.callback_id} no longer exists"
            else:
                run.start_time = self._clock()
                actions = qube_run_actions(callback, run.binding)
        except Exception as unexpected:
            log.exception("callback run %d failed", run.id, extra=run_ids(run))
            error = failure_message("the callback could not run", unexpected)
        run.start_time = run.start_time or self._clock()
        run.duration_ms = (time.perf_counter() - started) * 1000
        self.finish(run, [] if error else actions, error=error, aside=aside)

    def finish(
        self,
        run: CallbackRun,
        actions: Sequence[CallbackAction],
        *,
        error: str = "",
        error_line: int = 0,
        limit: str = "",
        output: str = "",
        aside: bool = False,
    ) -> None:
        """Apply a run's actions (all or none) and record how it ended, in one transaction.

        ``aside`` (a run finished inline by :meth:`drain` after a write sent aside): the
        transaction may be sent aside too (:meth:`CommitHost.commit_soon`); should it fail
        there, the run is pending again and tried once more later, as when a commit made at
        once fails."""
        started = time.perf_counter()
        changes = Changes(now=self._clock())
        get_job = self._host.get_job
        owner = get_job(run.job_id)
        lines: list[str] = [output] if output else []
        firings: list[Firing] = []
        if not error and not limit:
            try:
                if owner is None:
                    raise ActionRefused(f"job {run.job_id} no longer exists")
                check_actions(actions, owner, get_job)
                submits = self.check_submits(actions, owner)
                lines.extend(
                    apply_actions(
                        changes,
                        actions,
                        get_job,
                        f"callback {run.callback_id} ({run.triggers})",
                    )
                )
                if submits and self.submitter is not None:
                    submitted, firings = self.submitter.apply(changes, submits, owner, run.depth)
                    lines.extend(submitted)
            except ActionRefused as refused:
                changes = Changes(now=changes.now)
                error = str(refused)
                firings = []
            except Exception as unexpected:
                log.exception(
                    "callback run %d: applying its actions failed", run.id, extra=run_ids(run)
                )
                # The actions may have changed the model halfway: take it back from the store.
                self._host.reload()
                owner = get_job(run.job_id)
                changes = Changes(now=changes.now)
                firings = []
                error = failure_message("its actions could not be applied", unexpected)
        if limit:
            run.outcome = CallbackRunOutcome.LIMIT
            run.error = error or f"stopped: the {limit} limit was reached"
        elif error:
            run.outcome, run.error = CallbackRunOutcome.ERROR, error
        else:
            run.outcome = CallbackRunOutcome.OK
        run.error_line = error_line
        run.output = "\n".join(lines)
        run.duration_ms += (time.perf_counter() - started) * 1000
        run.done = True
        changes.finished_runs.append(run)
        _announce_run(changes, run, owner)
        # What this run's actions cause fires callbacks one level deeper in the cascade.
        self._triggering.cascade_depth = run.depth + 1
        try:
            if not aside:
                self._host.commit(changes, firings=firings)
            elif (landing := self._host.commit_soon(changes, firings=firings)) is not None:
                asyncio.ensure_future(landing).add_done_callback(
                    lambda landed: self._landed_aside(run, landed)
                )
        finally:
            self._triggering.cascade_depth = 0

    def _landed_aside(self, run: CallbackRun, landed: asyncio.Future[None]) -> None:
        """The end of ``run``, sent aside, landed: if it could not be stored, the run is
        pending again (the model was taken back from the store) and runs again later."""
        if landed.cancelled() or (error := landed.exception()) is None:
            return
        if isinstance(error, StorageError):
            self.pending.appendleft(run)
            asyncio.get_running_loop().call_later(STORAGE_RETRY_SECONDS, self.drain)
        else:
            log.error(
                "callback run %d could not be recorded as finished",
                run.id,
                exc_info=error,
                extra=run_ids(run),
            )

    def check_submits(self, actions: Sequence[CallbackAction], owner: Job) -> list[CheckedSubmit]:
        """The run's ``qb.submit`` calls, checked before anything of the run is applied (and by
        the callback runner before it sends a run's mail); ActionRefused if one may not be."""
        if not any(action.verb is Verb.SUBMIT for action in actions):
            return []
        if self.submitter is None:
            raise ActionRefused("qb.submit: this supervisor does not take jobs from callbacks")
        return self.submitter.check(actions, owner)

    # --- timers ----------------------------------------------------------------------------

    def next_timer(self) -> float | None:
        """When the next time or repeat atom is due (Unix seconds), or None."""
        due = [d for d, *_ in self._triggering.due_timers()]
        return min(due) if due else None

    def fire_due_timers(self) -> int:
        """Latch every time atom whose moment has come; returns how many fired."""
        now = self._clock()
        changes = Changes(now=now)
        count = 0
        for due, callback, position, watch, mark in self._triggering.due_timers():
            if due > now:
                continue
            owner = self._host.get_job(watch.job_id) if watch.job_id else None
            event = Event(
                name=EventName.DUMMY,
                type=watch.type,
                job_id=watch.job_id,
                pgrp=owner.pgrp if owner else 0,
                label=owner.label if owner else "",
                user=owner.user if owner else "",
                message=f"{watch.atom.format()} due at {due:.0f}",
            )
            changes.emit(event)
            changes.timer_latches.append((callback, position, mark(now), due, event))
            count += 1
        if count:
            self._host.commit(changes)
        return count

    async def run_timers(self) -> None:
        """Fire time triggers when they are due, for as long as the supervisor runs."""
        while True:
            self.fire_due_timers()
            self.timers_changed.clear()
            due = self.next_timer()
            wait = 3600.0 if due is None else max(due - self._clock(), 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.timers_changed.wait(), min(wait, 3600.0))


def _announce_run(changes: Changes, run: CallbackRun, owner: Job | None) -> None:
    ok = run.outcome == CallbackRunOutcome.OK
    binding = f" [{run.binding}]" if run.binding else ""
    summary = run.output.replace("\n", "; ") if ok else run.error
    changes.emit(
        Event(
            name=EventName.COMPLETE if ok else EventName.FAILED,
            type=EventType.CALLBACK,
            job_id=run.job_id,
            pgrp=owner.pgrp if owner else 0,
            label=owner.label if owner else "",
            user=owner.user if owner else "",
            status=run.outcome,
            message=f"callback {run.callback_id}{binding}: {summary}",
            callback_run_id=run.id,
        )
    )
