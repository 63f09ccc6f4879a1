"""The transitions that carry out verbs: block, unblock, kill, retry, suspend, resume, remove…

An operator asks for them over the RPC API (``OperatorAction``) and callbacks by verb
(``CallbackAction``); ``core/actions.TRANSITIONS`` says which function carries out which verb.
They are built from the steps in :mod:`.transitions`, so a verb obeys the same state machines
as work that ends by itself. Each returns whether anything changed; a removed job refuses them
all (``TransitionRefused``).
"""

from __future__ import annotations

from .changes import Changes
from .events import EventName
from .model import Job, WorkItem
from .states import WorkStatus
from .transitions import (
    TransitionRefused,
    end_idle_subjobs,
    refresh_job,
    requeue_work,
    set_work,
    stop_running,
)

# --- operator actions on whole jobs -------------------------------------------------------


def _refuse_removed(job: Job) -> None:
    if job.removed:
        raise TransitionRefused(f"job {job.id} was removed")


def block_job(changes: Changes, job: Job, reason: str) -> bool:
    _refuse_removed(job)
    if job.blocked or job.status.is_final:
        return False
    job.blocked = True
    changes.touch(job)
    for work in job.work:
        if work.status is WorkStatus.RUNNING:
            requeue_work(changes, job, work, reason or "job blocked")
    end_idle_subjobs(changes, job)
    refresh_job(changes, job, reason)
    return True


def unblock_job(changes: Changes, job: Job, reason: str) -> bool:
    """Lift the job's hold and every work item's hold: "unblock" means "let it all run"."""
    _refuse_removed(job)
    changed = job.blocked
    job.blocked = False
    changes.touch(job)
    for work in job.work:
        if work.status is WorkStatus.BLOCKED:
            set_work(changes, job, work, WorkStatus.PENDING, EventName.UNBLOCKED, reason)
            changed = True
    refresh_job(changes, job, reason)
    return changed


def kill_job(changes: Changes, job: Job, reason: str) -> bool:
    _refuse_removed(job)
    changed = _end_unfinished(changes, job, WorkStatus.KILLED, EventName.KILLED, reason or "killed")
    job.suspended = False
    refresh_job(changes, job, reason)
    return changed


def _end_unfinished(
    changes: Changes, job: Job, status: WorkStatus, name: EventName, reason: str
) -> bool:
    """Give every unfinished item ``status``; running ones are stopped first."""
    changed = False
    for work in job.work:
        if work.status is WorkStatus.RUNNING:
            stop_running(changes, job, work, status, name, reason)
            changed = True
        elif not work.status.is_done:
            set_work(changes, job, work, status, name, reason)
            changed = True
    return changed


def retry_job(changes: Changes, job: Job, reason: str) -> bool:
    """Run failed and killed work again, with a fresh allowance of automatic retries."""
    _refuse_removed(job)
    changed = False
    for work in job.work:
        if work.status in (WorkStatus.FAILED, WorkStatus.KILLED):
            work.retries = 0
            set_work(
                changes,
                job,
                work,
                WorkStatus.PENDING,
                EventName.RETRIED,
                reason or "retried by request",
            )
            changed = True
    refresh_job(changes, job, reason)
    return changed


def suspend_job(changes: Changes, job: Job, reason: str) -> bool:
    _refuse_removed(job)
    if job.suspended or job.status.is_final:
        return False
    job.suspended = True
    changes.touch(job)
    changes.suspend_leases.extend(w.lease_id for w in job.work if w.status is WorkStatus.RUNNING)
    refresh_job(changes, job, reason)
    return True


def resume_job(changes: Changes, job: Job, reason: str) -> bool:
    _refuse_removed(job)
    if not job.suspended:
        return False
    job.suspended = False
    changes.touch(job)
    changes.resume_leases.extend(w.lease_id for w in job.work if w.status is WorkStatus.RUNNING)
    for work in job.work:
        if work.status is WorkStatus.PENDING:
            changes.made_pending.append((job, work))
    refresh_job(changes, job, reason)
    return True


def remove_job(changes: Changes, job: Job, reason: str) -> bool:
    if job.removed:
        return False
    job.removed = True
    job.suspended = False
    for work in job.work:
        if work.status is WorkStatus.RUNNING:
            stop_running(
                changes, job, work, WorkStatus.KILLED, EventName.KILLED, reason or "job removed"
            )
    changes.touch(job)
    refresh_job(changes, job, reason)
    return True


# --- operator actions on single work items --------------------------------------------------


def block_work(changes: Changes, job: Job, work: WorkItem, reason: str) -> bool:
    _refuse_removed(job)
    if work.status is WorkStatus.RUNNING:
        stop_running(changes, job, work, WorkStatus.BLOCKED, EventName.BLOCKED, reason or "blocked")
    elif work.status is WorkStatus.PENDING:
        set_work(changes, job, work, WorkStatus.BLOCKED, EventName.BLOCKED, reason)
    else:
        return False
    refresh_job(changes, job, reason)
    return True


def unblock_work(changes: Changes, job: Job, work: WorkItem, reason: str) -> bool:
    _refuse_removed(job)
    if work.status is not WorkStatus.BLOCKED:
        return False
    set_work(changes, job, work, WorkStatus.PENDING, EventName.UNBLOCKED, reason)
    refresh_job(changes, job, reason)
    return True


def kill_work(changes: Changes, job: Job, work: WorkItem, reason: str) -> bool:
    _refuse_removed(job)
    if work.status is WorkStatus.RUNNING:
        stop_running(changes, job, work, WorkStatus.KILLED, EventName.KILLED, reason or "killed")
    elif not work.status.is_done:
        set_work(changes, job, work, WorkStatus.KILLED, EventName.KILLED, reason or "killed")
    else:
        return False
    refresh_job(changes, job, reason)
    return True


def retry_work(changes: Changes, job: Job, work: WorkItem, reason: str) -> bool:
    """Run a work item again: done work is requeued, running work restarts."""
    _refuse_removed(job)
    if work.status is WorkStatus.RUNNING:
        requeue_work(changes, job, work, reason or "restarted by request")
    elif work.status.is_done:
        work.retries = 0
        set_work(
            changes,
            job,
            work,
            WorkStatus.PENDING,
            EventName.RETRIED,
            reason or "retried by request",
        )
    else:
        return False
    refresh_job(changes, job, reason)
    return True


# --- actions only callbacks take -------------------------------------------------------------


def requeue_job(changes: Changes, job: Job, reason: str) -> bool:
    """Take every running item off its host and back to the queue (Qube's interrupt)."""
    _refuse_removed(job)
    running = [w for w in job.work if w.status is WorkStatus.RUNNING]
    for work in running:
        requeue_work(changes, job, work, reason or "requeued")
    refresh_job(changes, job, reason)
    return bool(running)


def fail_job(changes: Changes, job: Job, reason: str) -> bool:
    """Mark every unfinished item failed (running ones are killed first)."""
    _refuse_removed(job)
    changed = _end_unfinished(changes, job, WorkStatus.FAILED, EventName.FAILED, reason or "failed")
    refresh_job(changes, job, reason)
    return changed


def complete_work(changes: Changes, job: Job, work: WorkItem, reason: str) -> bool:
    """Mark an item complete without running it (or stop it and call it complete)."""
    return _force_work(changes, job, work, WorkStatus.COMPLETE, EventName.COMPLETE, reason)


def _force_work(
    changes: Changes,
    job: Job,
    work: WorkItem,
    status: WorkStatus,
    name: EventName,
    reason: str,
) -> bool:
    _refuse_removed(job)
    if work.status is status:
        return False
    if work.status is WorkStatus.RUNNING:
        stop_running(changes, job, work, status, name, reason or status.value)
    else:
        set_work(changes, job, work, status, name, reason or status.value)
    refresh_job(changes, job, reason)
    return True


def fail_work(changes: Changes, job: Job, work: WorkItem, reason: str) -> bool:
    return _force_work(changes, job, work, WorkStatus.FAILED, EventName.FAILED, reason)


def requeue_work_action(changes: Changes, job: Job, work: WorkItem, reason: str) -> bool:
    """Requeue a running item; anything else is left as it is."""
    _refuse_removed(job)
    if work.status is not WorkStatus.RUNNING:
        return False
    requeue_work(changes, job, work, reason or "requeued")
    refresh_job(changes, job, reason)
    return True
