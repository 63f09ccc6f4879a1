"""Running the callbacks that wait on something: Python in the sandbox, and mail.

Qube callbacks are data and run inline, right after the commit that fired them. Python and mail
callbacks wait on a sandbox process or an SMTP server, so they run here, off the commit path,
a few at a time; their actions come back through the same checks as a qube callback's and are
applied in one transaction, or not at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from latchwork.sandbox.actions import Action, Verb
from latchwork.sandbox.python.pool import PythonCall, PythonResult
from latchwork.sandbox.python.references import reads_job_snapshots, reads_tree

from .callbacks import ActionRefused, check_actions, qube_run_actions
from .core.events import Event
from .core.model import Job
from .core.runs import CallbackRun
from .core.triggers.engine import Callback
from .mailer import Mailer, MailError, recipients, render

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger(__name__)


class PythonSandbox(Protocol):
    async def run(self, call: PythonCall) -> PythonResult: ...


STATUS_TEMPLATE = """Subject: [latchwork] job $JOB_ID ($JOB_NAME) is $JOB_STATUS

Job $JOB_ID "$JOB_NAME" (label $JOB_LABEL, process group $PGRP, user $JOB_USER) is $JOB_STATUS.
Work: $WORK_COUNTS.
Event: $EVENT_NAME-$EVENT_TYPE $WORK_NAME $EVENT_MESSAGE
"""


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


def mail_variables(job: Job, event: Event | None, run: CallbackRun) -> dict[str, str]:
    counts = ", ".join(f"{n} {s.value}" for s, n in job.tally.items() if n)
    return {
        "JOB_ID": str(job.id),
        "JOB_NAME": job.spec.name,
        "JOB_LABEL": job.label,
        "JOB_STATUS": job.status.value,
        "JOB_USER": job.user,
        "PGRP": str(job.pgrp),
        "WORK_NAME": run.binding or (event.work_name if event else ""),
        "SUBJOB_ID": str(event.subjob_id) if event and event.subjob_id >= 0 else "",
        "EVENT_NAME": event.name.value if event else "",
        "EVENT_TYPE": event.type.value if event else "",
        "EVENT_MESSAGE": event.message if event else "",
        "HOST": event.host if event else "",
        "TRIGGER": run.triggers,
        "WORK_COUNTS": counts,
    }


class CallbackRunner:
    def __init__(
        self,
        supervisor: Supervisor,
        sandbox: PythonSandbox | None,
        mailer: Mailer,
        concurrency: int = 2,
    ) -> None:
        self.supervisor = supervisor
        self.sandbox = sandbox
        self.mailer = mailer
        self.concurrency = max(concurrency, 1)
        self.queue: asyncio.Queue[CallbackRun] = asyncio.Queue()

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
                log.exception("callback run %d failed unexpectedly", run.id)
            finally:
                self.queue.task_done()

    async def run(self, run: CallbackRun) -> None:
        sup = self.supervisor
        callback = sup.triggering.engine.callbacks.get(run.callback_id)
        owner = sup.jobs.get(run.job_id)
        started = time.perf_counter()
        run.start_time = sup.clock()
        if callback is None or owner is None:
            sup.finish_run(run, [], error="the callback or its job no longer exists")
            return
        event = sup.event_at(run.event_seq)
        actions: list[Action] = []
        mails: list[tuple[list[str], str, str]] = []
        error, line, limit, output = "", 0, "", ""
        if callback.spec.language == "python":
            if self.sandbox is None:
                error = "python callbacks are not enabled"
            else:
                result = await self.sandbox.run(self._call(callback, owner, event, run))
                actions, output = list(result.actions), result.output
                error, line, limit = result.error, result.error_line, result.limit
        elif callback.spec.language == "mail":
            subject, body = render(callback.spec.code, mail_variables(owner, event, run))
            mails.append((recipients(owner.spec.mailaddress), subject, body))
        else:
            actions = qube_run_actions(callback, run.binding)
        if not error and not limit:
            try:
                # Check first, then mail, then apply: a refused action sends nothing.
                check_actions(actions, owner, sup.jobs.get)
                variables = mail_variables(owner, event, run)
                for action in actions:
                    if action.verb is Verb.MAIL:
                        text = getattr(action, "text", "") or STATUS_TEMPLATE
                        subject, body = render(text, variables)
                        mails.append((recipients(owner.spec.mailaddress), subject, body))
                for to, subject, body in mails:
                    await self.mailer.send(to, subject, body)
                    output += ("\n" if output else "") + f"mail sent to {', '.join(to)}"
            except (ActionRefused, MailError) as refused:
                error, actions = str(refused), []
        run.duration_ms = (time.perf_counter() - started) * 1000
        sup.finish_run(
            run,
            actions if not (error or limit) else [],
            error=error,
            error_line=line,
            limit=limit,
            output=output,
        )

    def _call(
        self, callback: Callback, owner: Job, event: Event | None, run: CallbackRun
    ) -> PythonCall:
        sup = self.supervisor
        # Code that never names job, jobinfo or getattr cannot see job snapshots: for it, skip
        # the owner's work list and the other jobs (a per-frame callback of a 4,000-frame job
        # would otherwise copy and encode 4,000 work items per firing).
        reads_jobs = reads_job_snapshots(callback.spec.code)
        jobs: dict[str, dict[str, object]] = {}
        if reads_jobs:
            # What qb.jobinfo can see: the watched jobs, the parent, and the process group
            # while it is small. Kept bounded: the snapshots travel to the worker on every run.
            wanted = {w.job_id for w in callback.watches if w.job_id} | {owner.pid}
            members = sup.pgrp_members(owner.pgrp)
            if len(members) <= SNAPSHOT_GROUP_LIMIT:
                wanted.update(members)
            for job_id in sorted(wanted - {owner.id, 0}):
                if (job := sup.jobs.get(job_id)) is not None:
                    jobs[str(job_id)] = job_snapshot(
                        job, with_work=len(job.work) <= SNAPSHOT_WORK_LIMIT
                    )
        tree = None
        tree_roots = [w.job_id for w in callback.watches if w.type.value == "tree"]
        if tree_roots and reads_tree(callback.spec.code):
            keys = set(callback.spec.include_data)
            tree = [
                {**job_snapshot(job, include_data=False), "data": _pick(job.spec.data, keys)}
                for job in sup.subtree(tree_roots[0])
            ]
        return PythonCall(
            code=callback.spec.code,
            owner_id=owner.id,
            binding=run.binding,
            event=event_snapshot(event, run.binding),
            job=job_snapshot(owner, with_work=reads_jobs),
            jobs=jobs,
            tree=tree,
        )


def _pick(data: Mapping[str, str], keys: set[str]) -> dict[str, str]:
    return {k: v for k, v in data.items() if k in keys}
