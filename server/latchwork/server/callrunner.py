"""Running the callbacks that wait on something: Python in the sandbox, and mail.

Qube callbacks are data and run inline, right after the commit that fired them. Python and mail
callbacks wait on a sandbox process or an SMTP server, so they run here, off the commit path,
a few at a time; their actions come back through the same checks as a qube callback's and are
applied in one transaction, or not at all.

Owners are served fairly (:class:`OwnerQueue`): one user's burst of slow callbacks does not
make another user's callback wait for the whole burst. Every run ends with a record, whatever
goes wrong on its way (a run left unfinished would run again at every start).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from latchwork.sandbox.actions import CallbackAction, Verb
from latchwork.sandbox.python.pool import PythonCall, PythonResult
from latchwork.sandbox.python.references import reads_job_snapshots, reads_tree

from .callbacks import ActionRefused, check_actions, qube_run_actions
from .core.events import Event
from .core.model import CallbackLanguage, Job
from .core.runs import CallbackRun, failure_message
from .core.triggers.engine import Callback
from .core.visibility import ReadPolicy
from .log_format import run_ids
from .mail_variables import STATUS_TEMPLATE, mail_variables
from .mailer import Mailer, MailError, recipients, render
from .store.errors import StorageError

log = logging.getLogger(__name__)


class PythonSandbox(Protocol):
    async def run(self, call: PythonCall) -> PythonResult: ...


class RunHost(Protocol):
    """What the runner needs from the supervisor, and no more: it reads jobs, callbacks and
    events, and hands each run back finished.

    Narrow on purpose, as ``LeaseSink`` is for workers: this module does not import the
    supervisor (no import cycle), and what a run may see of the model is listed here.
    """

    @property
    def clock(self) -> Callable[[], float]: ...

    def get_job(self, job_id: int) -> Job | None: ...

    def get_callback(self, callback_id: int) -> Callback | None: ...

    def event_at(self, seq: int) -> Event | None: ...

    def pgrp_members(self, pgrp: int) -> list[int]: ...

    def subtree(self, root_id: int) -> list[Job]: ...

    async def check_submits(self, actions: Sequence[CallbackAction], owner: Job) -> None:
        """Raise :class:`ActionRefused` if a ``qb.submit`` of the run may not be applied."""

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
        """Apply the run's actions (all or none) and record how it ended; raises
        :class:`StorageError` when the store refuses, with nothing applied."""


FINISH_RETRY_FIRST_SECONDS = 0.1
FINISH_RETRY_MAX_SECONDS = 5.0
"""Back-off while a run's end cannot be stored."""

SNAPSHOT_GROUP_LIMIT = 50
SNAPSHOT_WORK_LIMIT = 200


def job_snapshot(job: Job, include_data: bool = True, with_work: bool = True) -> dict[str, object]:
    return {
        "id": job.id,
        "pgrp": job.pgrp,
        "pid": job.pid,
        "label": job.label,
        "name": job.spec.name,
        "user": job.user,
        "status": job.status.value,
        "priority": job.priority,
        "cpus": job.spec.cpus,
        "data": dict(job.spec.data) if include_data else {},
        "env": dict(job.spec.env),
        "mailaddress": job.spec.mailaddress,
        "work": [
            {"name": w.name, "status": w.status.value, "retries": w.retries, "host": w.host}
            for w in job.work
        ]
        if with_work
        else [],
    }


def event_snapshot(event: Event | None, binding: str) -> dict[str, object]:
    if event is None:
        return {"binding": binding}
    return {
        "seq": event.seq,
        "time": event.time,
        "name": event.name.value,
        "type": event.type.value,
        "job_id": event.job_id,
        "pgrp": event.pgrp,
        "label": event.label,
        "user": event.user,
        "subjob_id": event.subjob_id,
        "work_name": event.work_name,
        "host": event.host,
        "status": event.status,
        "message": event.message,
        "binding": binding,
    }


@dataclass(slots=True)
class _Ended:
    """How a run ended, before its actions are applied."""

    actions: list[CallbackAction] = field(default_factory=list)
    error: str = ""
    line: int = 0
    limit: str = ""
    output: str = ""


class OwnerQueue:
    """Runs waiting for the runner, served round robin by owner (the owner job's user).

    Work-conserving: while a single owner has runs waiting, any free slot takes the next of
    them. While several owners wait, a free slot goes to an owner below ``cap`` runs going
    (when all are at the cap, to one with the fewest), the fewest going first, then the one
    served longest ago: one user's ten slow callbacks keep another user's callback waiting for
    one slot to free up, not for the ten. Each owner's runs keep their order. The runs are
    durable before they get here (the outbox); this order is memory only, rebuilt from the
    store's pending runs at start.
    """

    def __init__(self, cap: int) -> None:
        self.cap = max(cap, 1)
        self._waiting: dict[str, deque[CallbackRun]] = {}
        self._going: dict[str, int] = {}
        self._served: dict[str, int] = {}  # owner -> when last served (a counter)
        self._turns = 0
        self._owners: dict[int, str] = {}
        self._count = asyncio.Semaphore(0)

    @classmethod
    def for_slots(cls, slots: int, owner_cap: int = 0) -> OwnerQueue:
        """The queue for a runner of ``slots`` concurrent runs. ``owner_cap``: runs one owner
        may have going while others wait; 0 means ``max(1, slots - 1)``: while others wait, no
        owner takes a freed slot while at the cap."""
        return cls(owner_cap or max(1, max(slots, 1) - 1))

    def put_nowait(self, run: CallbackRun, owner: str) -> None:
        """Queue ``run`` behind ``owner``'s other runs (the owner job's user, named by the
        supervisor, which holds the jobs)."""
        self._owners[run.id] = owner
        self._waiting.setdefault(owner, deque()).append(run)
        self._count.release()

    async def get(self) -> CallbackRun:
        """The next run to start (counted as going until :meth:`done`)."""
        await self._count.acquire()
        return self.take()

    def take(self) -> CallbackRun:
        """The next run to start, now; there must be one waiting."""
        owner = min(self._waiting, key=self._priority)
        waiting = self._waiting[owner]
        run = waiting.popleft()
        if not waiting:
            del self._waiting[owner]
        self._going[owner] = self._going.get(owner, 0) + 1
        self._turns += 1
        self._served[owner] = self._turns
        if len(self._served) > 4 * len(self._waiting) + 64:  # forget owners long gone
            self._served = {o: t for o, t in self._served.items() if o in self._waiting}
        return run

    def _priority(self, owner: str) -> tuple[bool, int, int]:
        going = self._going.get(owner, 0)
        return going >= self.cap, going, self._served.get(owner, 0)

    def done(self, run: CallbackRun) -> None:
        owner = self._owners.pop(run.id, "")
        going = self._going.get(owner, 0) - 1
        if going > 0:
            self._going[owner] = going
        else:
            self._going.pop(owner, None)

    def waiting(self, owner: str | None = None) -> int:
        if owner is None:
            return sum(len(q) for q in self._waiting.values())
        return len(self._waiting.get(owner, ()))

    def going(self, owner: str) -> int:
        return self._going.get(owner, 0)


class CallbackRunner:
    def __init__(
        self,
        host: RunHost,
        sandbox: PythonSandbox | None,
        mailer: Mailer,
        queue: OwnerQueue,
        concurrency: int = 2,
        read_policy: ReadPolicy | None = None,
    ) -> None:
        """``queue``: where the supervisor puts the runs for this runner; both are given it
        when the process is wired (:meth:`OwnerQueue.for_slots` sizes it for ``concurrency``).
        ``read_policy``: what a callback may read of other jobs (``visibility``): what its
        owner could."""
        self.host = host
        self.sandbox = sandbox
        self.mailer = mailer
        self.concurrency = max(concurrency, 1)
        self.queue = queue
        self.read_policy = read_policy or ReadPolicy()

    async def serve(self) -> None:
        """Run queued callbacks, ``concurrency`` at a time, until cancelled."""
        workers = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()

    async def _worker(self) -> None:
        while True:
            run = await self.queue.get()
            try:
                await self.run(run)
            except Exception:
                # Only recording the run's end can fail here (run() ends every other failure
                # as an error run): the record stays pending and runs again at the next start.
                log.exception(
                    "callback run %d could not be recorded as finished", run.id, extra=run_ids(run)
                )
            finally:
                self.queue.done(run)

    async def run(self, run: CallbackRun) -> None:
        """Run one callback and record how it ended; any failure on the way ends it as an
        error with the message, never leaves it unfinished."""
        host = self.host
        started = time.perf_counter()
        run.start_time = host.clock()
        try:
            ended = await self._execute(run)
        except Exception as unexpected:
            log.exception("callback run %d failed", run.id, extra=run_ids(run))
            ended = _Ended(error=failure_message("the run failed", unexpected))
        run.duration_ms = (time.perf_counter() - started) * 1000
        failed = bool(ended.error or ended.limit)
        delay = FINISH_RETRY_FIRST_SECONDS
        while True:
            try:
                host.finish_run(
                    run,
                    [] if failed else ended.actions,
                    error=ended.error,
                    error_line=ended.line,
                    limit=ended.limit,
                    output=ended.output,
                )
                return
            except StorageError:
                # The store refused (a full disk) and nothing of the run was applied: what
                # the code decided is kept, and its end is stored once space returns.
                await asyncio.sleep(delay)
                delay = min(delay * 2, FINISH_RETRY_MAX_SECONDS)

    async def _execute(self, run: CallbackRun) -> _Ended:
        host = self.host
        callback = host.get_callback(run.callback_id)
        owner = host.get_job(run.job_id)
        if callback is None or owner is None:
            return _Ended(error="the callback or its job no longer exists")
        event = host.event_at(run.event_seq)
        ended = _Ended()
        mails: list[tuple[list[str], str, str]] = []
        if callback.spec.language == CallbackLanguage.PYTHON:
            if self.sandbox is None:
                return _Ended(error="python callbacks are not enabled")
            result = await self.sandbox.run(self._call(callback, owner, event, run))
            ended = _Ended(
                list(result.actions), result.error, result.error_line, result.limit, result.output
            )
            if ended.error or ended.limit:
                return ended
        elif callback.spec.language == CallbackLanguage.MAIL:
            variables = mail_variables(owner, event, run, host.clock())
            subject, body = render(callback.spec.code, variables)
            mails.append((recipients(owner.spec.mailaddress), subject, body))
        else:
            ended.actions = qube_run_actions(callback, run.binding)
        try:
            # Check first, then mail, then apply: a refused action sends nothing.
            check_actions(ended.actions, owner, host.get_job)
            await host.check_submits(ended.actions, owner)  # qb.submit: checked again at finish
            variables = mail_variables(owner, event, run, host.clock())
            for action in ended.actions:
                if action.verb is Verb.MAIL:
                    text = getattr(action, "text", "") or STATUS_TEMPLATE
                    subject, body = render(text, variables)
                    mails.append((recipients(owner.spec.mailaddress), subject, body))
            for to, subject, body in mails:
                await self.mailer.send(to, subject, body)
                ended.output += ("\n" if ended.output else "") + f"mail sent to {', '.join(to)}"
        except (ActionRefused, MailError) as refused:
            return _Ended(error=str(refused), output=ended.output)
        return ended

    def _call(
        self, callback: Callback, owner: Job, event: Event | None, run: CallbackRun
    ) -> PythonCall:
        host = self.host
        # A callback reads what its owner could read (visibility = "own": their jobs only).
        scope = self.read_policy.scope(owner.user)
        # Code that never names job, jobinfo or getattr cannot see job snapshots: for it, skip
        # the owner's work list and the other jobs (a per-frame callback of a 4,000-frame job
        # would otherwise copy and encode 4,000 work items per firing).
        reads_jobs = reads_job_snapshots(callback.spec.code)
        jobs: dict[str, dict[str, object]] = {}
        if reads_jobs:
            # What qb.jobinfo can see: the watched jobs, the parent, and the process group
            # while it is small. Kept bounded: the snapshots travel to the worker on every run.
            wanted = {w.job_id for w in callback.watches if w.job_id} | {owner.pid}
            members = host.pgrp_members(owner.pgrp)
            if len(members) <= SNAPSHOT_GROUP_LIMIT:
                wanted.update(members)
            for job_id in sorted(wanted - {owner.id, 0}):
                if (job := host.get_job(job_id)) is not None and scope.sees(job):
                    jobs[str(job_id)] = job_snapshot(
                        job, with_work=len(job.work) <= SNAPSHOT_WORK_LIMIT
                    )
        tree = None
        tree_roots = [w.job_id for w in callback.watches if w.type.value == "tree"]
        if tree_roots and reads_tree(callback.spec.code):
            keys = set(callback.spec.include_data)
            tree = [
                {**job_snapshot(job, include_data=False), "data": _pick(job.spec.data, keys)}
                for job in host.subtree(tree_roots[0])
                if scope.sees(job)
            ]
        return PythonCall(
            code=callback.spec.code,
            owner_id=owner.id,
            binding=run.binding,
            event=event_snapshot(
                event if event is None or scope.sees_event(event) else None, run.binding
            ),
            job=job_snapshot(owner, with_work=reads_jobs),
            jobs=jobs,
            tree=tree,
        )


def _pick(data: Mapping[str, str], keys: set[str]) -> dict[str, str]:
    return {k: v for k, v in data.items() if k in keys}
