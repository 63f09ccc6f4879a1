"""The state machines of jobs, work items and subjobs: the life of a run.

Each function applies one transition to the in-memory model and records into ``Changes`` the
events it causes and the processes that must be signalled. Whether the transition is allowed
is decided here too, so every adapter (gRPC, local pool, remote workers, callbacks) obeys the
same rules.

This module holds what happens to work by itself (submitted, started, finished, requeued when
its worker is lost) and the steps every transition is made of (``set_work``, ``refresh_job``,
``stop_running``…). What someone *asks* for — an operator over the RPC API or a callback's
verb — is in :mod:`.verb_transitions`, built from these steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .changes import Changes
from .events import Event, EventName, EventType, job_event_name
from .model import Job, Subjob, WorkItem
from .states import JobStatus, WorkStatus


class WorkOutcome(StrEnum):
    """How a process of a work item ended, as a worker reports it."""

    EXITED = "exited"
    TIMED_OUT = "timed_out"
    KILLED = "killed"
    START_FAILED = "start_failed"


class TransitionRefused(Exception):
    """The requested change does not apply to the target in its current state."""


def event_of(job: Job, name: EventName, type_: EventType, **fields: object) -> Event:
    """An event about ``job``: its id, group, label and user filled in (emit it with
    ``changes.emit``)."""
    return Event(
        name=name,
        type=type_,
        job_id=job.id,
        pgrp=job.pgrp,
        label=job.label,
        user=job.user,
        **fields,  # type: ignore[arg-type]
    )


def set_work(
    changes: Changes,
    job: Job,
    work: WorkItem,
    status: WorkStatus,
    name: EventName,
    message: str = "",
) -> None:
    previous = work.status
    job.set_work_status(work, status)
    work.message = message
    changes.touch(job, work)
    changes.emit(
        event_of(
            job,
            name,
            EventType.WORK,
            work_name=work.name,
            subjob_id=work.subjob_id,
            host=work.host,
            status=status.value,
            previous_status=previous.value,
            message=message,
        )
    )
    if status is WorkStatus.PENDING:
        changes.made_pending.append((job, work))


def refresh_job(changes: Changes, job: Job, message: str = "") -> None:
    """Re-derive the job's state and announce it if it changed."""
    current = job.derived_status()
    previous = job.status
    if current is previous:
        return
    job.status = current
    if current is JobStatus.RUNNING and not job.start_time:
        job.start_time = changes.now
    if current.is_final:
        job.end_time = changes.now
        end_idle_subjobs(changes, job)
    else:
        job.end_time = 0.0
    changes.touch(job)
    changes.emit(
        event_of(
            job,
            job_event_name(previous, current),
            EventType.JOB,
            status=current.value,
            previous_status=previous.value,
            message=message,
        )
    )


def submit(changes: Changes, job: Job) -> None:
    """A new job; its pending work is offered as a whole (``Scheduler.offer_new``): not an
    entry per work item, which for 100,000 frames cost ~90 ms on the event loop."""
    changes.new_jobs.append(job)
    changes.emit(event_of(job, EventName.SUBMIT, EventType.JOB, status=job.status.value))


@dataclass(frozen=True, slots=True)
class Assignment:
    """A work item handed to a worker slot."""

    job: Job
    work: WorkItem
    subjob: Subjob
    lease_id: str


def start_work(
    changes: Changes, job: Job, work: WorkItem, subjob: Subjob, lease_id: str, host: str
) -> Assignment:
    if work.status is not WorkStatus.PENDING or not job.dispatchable or subjob.busy:
        raise TransitionRefused(f"work {job.id}:{work.name} cannot start now")
    work.attempts += 1
    work.subjob_id = subjob.id
    work.host = host
    work.lease_id = lease_id
    work.start_time = changes.now
    work.end_time = 0.0
    work.exit_code = 0
    subjob.work_index = work.index
    if subjob.host != host or subjob.status is not WorkStatus.RUNNING:
        # (An instance running already, on this host, has nothing new to store: its
        # ``work_index`` is not stored but found from its running work at load.)
        changes.touch_subjob(job, subjob)
    subjob.host = host
    if subjob.status is not WorkStatus.RUNNING:
        subjob.status = WorkStatus.RUNNING
        subjob.start_time = changes.now
        subjob.ran_failure = False
        changes.emit(
            event_of(
                job,
                EventName.RUNNING,
                EventType.SUBJOB,
                subjob_id=subjob.id,
                host=host,
                status="running",
            )
        )
    set_work(changes, job, work, WorkStatus.RUNNING, EventName.RUNNING, f"attempt {work.attempts}")
    refresh_job(changes, job)
    return Assignment(job, work, subjob, lease_id)


def _release_subjob(changes: Changes, job: Job, work: WorkItem) -> None:
    if 0 <= work.subjob_id < len(job.subjobs):
        subjob = job.subjobs[work.subjob_id]
        if subjob.work_index == work.index:
            subjob.work_index = -1
            if work.status is WorkStatus.FAILED:
                subjob.ran_failure = True
                changes.touch_subjob(job, subjob)
            beyond_cpus = 0 < job.spec.cpus <= subjob.id  # cpus lowered since (core.modify)
            if not job.tally[WorkStatus.PENDING] or not job.dispatchable or beyond_cpus:
                _end_subjob(changes, job, subjob, killed=work.status is WorkStatus.KILLED)
    work.lease_id = ""


def _end_subjob(changes: Changes, job: Job, subjob: Subjob, *, killed: bool = False) -> None:
    """End an idle instance: its job has nothing more for it, or may not run now."""
    if subjob.status is not WorkStatus.RUNNING or subjob.busy:
        return
    if killed or job.status is JobStatus.KILLED or job.removed:
        final = WorkStatus.KILLED
    elif subjob.ran_failure:
        final = WorkStatus.FAILED
    else:
        final = WorkStatus.COMPLETE
    subjob.status = final
    changes.touch_subjob(job, subjob)
    name = {
        WorkStatus.KILLED: EventName.KILLED,
        WorkStatus.FAILED: EventName.FAILED,
        WorkStatus.COMPLETE: EventName.COMPLETE,
    }[final]
    changes.emit(
        event_of(
            job,
            name,
            EventType.SUBJOB,
            subjob_id=subjob.id,
            host=subjob.host,
            status=final.value,
            previous_status="running",
        )
    )
    changes.touch(job)


def end_idle_subjobs(changes: Changes, job: Job) -> None:
    for subjob in job.subjobs:
        _end_subjob(changes, job, subjob)


def finish_work(
    changes: Changes,
    job: Job,
    work: WorkItem,
    lease_id: str,
    outcome: WorkOutcome,
    exit_code: int = 0,
    message: str = "",
) -> bool:
    """Record how a run ended. Returns False for a stale lease (the work was taken back)."""
    if work.status is not WorkStatus.RUNNING or work.lease_id != lease_id:
        return False
    work.end_time = changes.now
    work.exit_code = exit_code
    if outcome is WorkOutcome.EXITED and exit_code == 0:
        set_work(changes, job, work, WorkStatus.COMPLETE, EventName.COMPLETE, "exit code 0")
    elif outcome is WorkOutcome.KILLED:
        set_work(changes, job, work, WorkStatus.KILLED, EventName.KILLED, message or "killed")
    else:
        if outcome is WorkOutcome.TIMED_OUT:
            changes.emit(
                event_of(
                    job,
                    EventName.TIMEOUT,
                    EventType.WORK,
                    work_name=work.name,
                    subjob_id=work.subjob_id,
                    host=work.host,
                    status="running",
                    message=message,
                )
            )
            reason = message or "timed out"
        elif outcome is WorkOutcome.START_FAILED:
            reason = f"could not start: {message}"
        else:
            reason = f"exit code {exit_code}"
        if work.retries < job.spec.retry:
            work.retries += 1
            set_work(
                changes,
                job,
                work,
                WorkStatus.PENDING,
                EventName.RETRIED,
                f"{reason}; retry {work.retries} of {job.spec.retry}",
            )
        else:
            set_work(changes, job, work, WorkStatus.FAILED, EventName.FAILED, reason)
    _release_subjob(changes, job, work)
    refresh_job(changes, job)
    return True


def requeue_work(changes: Changes, job: Job, work: WorkItem, reason: str) -> None:
    """Take running work back to pending through no fault of its own (no retry is counted)."""
    if work.status is not WorkStatus.RUNNING:
        return
    if work.lease_id:
        changes.kill_leases.append(work.lease_id)
    work.end_time = changes.now
    set_work(changes, job, work, WorkStatus.PENDING, EventName.RETRIED, reason)
    _release_subjob(changes, job, work)


def stop_running(
    changes: Changes, job: Job, work: WorkItem, status: WorkStatus, name: EventName, reason: str
) -> None:
    if work.lease_id:
        changes.kill_leases.append(work.lease_id)
    work.end_time = changes.now
    set_work(changes, job, work, status, name, reason)
    _release_subjob(changes, job, work)
