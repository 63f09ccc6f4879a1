"""Which work runs next."""

from __future__ import annotations

from latchwork.server.core import transitions as t
from latchwork.server.core import verb_transitions as verbs
from latchwork.server.core.changes import Changes
from latchwork.server.core.model import Job
from latchwork.server.core.scheduler import Scheduler

from .factories import frames_spec, new_job


def offer_all(scheduler: Scheduler, job: Job) -> None:
    for work in job.work:
        scheduler.offer(job, work)


def drain(scheduler: Scheduler, limit: int = 100) -> list[tuple[int, str]]:
    """Start whatever the scheduler hands out, as the supervisor's lease loop does."""
    started: list[tuple[int, str]] = []
    changes = Changes(now=0.0)
    while len(started) < limit and (picked := scheduler.next()) is not None:
        job, work, subjob = picked
        t.start_work(changes, job, work, subjob, f"L{len(started)}", "h")
        started.append((job.id, work.name))
    return started


def test_empty_scheduler_has_nothing() -> None:
    assert Scheduler().next() is None


def test_lower_priority_number_runs_first() -> None:
    scheduler = Scheduler()
    urgent = new_job(frames_spec("1", priority=10), job_id=3)
    normal = new_job(frames_spec("1", priority=500), job_id=1)
    default = new_job(frames_spec("1"), job_id=2)  # 9999
    for job in (normal, default, urgent):
        offer_all(scheduler, job)
    assert drain(scheduler) == [(3, "1"), (1, "1"), (2, "1")]


def test_fifo_by_job_id_within_a_priority() -> None:
    scheduler = Scheduler()
    jobs = [new_job(frames_spec("1-2", cpus=2), job_id=i) for i in (5, 2, 9)]
    for job in jobs:
        offer_all(scheduler, job)
    assert drain(scheduler) == [(2, "1"), (2, "2"), (5, "1"), (5, "2"), (9, "1"), (9, "2")]


def test_work_runs_in_agenda_order() -> None:
    scheduler = Scheduler()
    job = new_job(frames_spec("10-1x3", cpus=4))
    for work in reversed(job.work):
        scheduler.offer(job, work)
    assert drain(scheduler) == [(1, "10"), (1, "7"), (1, "4"), (1, "1")]


def test_cpus_limit_how_many_items_of_a_job_run_at_once() -> None:
    scheduler = Scheduler()
    wide = new_job(frames_spec("1-5", cpus=2, priority=1), job_id=1)
    other = new_job(frames_spec("1-2", priority=2), job_id=2)
    offer_all(scheduler, wide)
    offer_all(scheduler, other)
    # the urgent job is capped at two instances, then the next job gets its turn
    assert drain(scheduler) == [(1, "1"), (1, "2"), (2, "1")]
    assert drain(scheduler) == []

    # an instance is released: the job is offered again and runs its next frame
    changes = Changes(now=1.0)
    assert t.finish_work(changes, wide, wide.work[0], "L0", t.WorkOutcome.EXITED, 0)
    scheduler.offer(wide)
    assert drain(scheduler) == [(1, "3")]


def test_held_jobs_are_skipped_and_come_back_when_offered_again() -> None:
    scheduler = Scheduler()
    blocked = new_job(frames_spec("1-2", cpus=2), job_id=1)
    suspended = new_job(frames_spec("1", priority=1), job_id=2)
    free = new_job(frames_spec("1"), job_id=3)
    for job in (blocked, suspended, free):
        offer_all(scheduler, job)
    verbs.block_job(Changes(now=0.0), blocked, "")
    verbs.suspend_job(Changes(now=0.0), suspended, "")
    assert drain(scheduler) == [(3, "1")]
    assert drain(scheduler) == []

    verbs.unblock_job(Changes(now=1.0), blocked, "")
    verbs.resume_job(Changes(now=1.0), suspended, "")
    # without a new offer they stay out of the queue
    assert scheduler.next() is None
    scheduler.offer(blocked)
    scheduler.offer(suspended)
    assert drain(scheduler) == [(2, "1"), (1, "1"), (1, "2")]


def test_removed_and_finished_jobs_are_dropped() -> None:
    scheduler = Scheduler()
    removed = new_job(frames_spec("1"), job_id=1)
    offer_all(scheduler, removed)
    verbs.remove_job(Changes(now=0.0), removed, "")
    assert scheduler.next() is None
    killed = new_job(frames_spec("1"), job_id=2)
    offer_all(scheduler, killed)
    verbs.kill_job(Changes(now=0.0), killed, "")
    assert scheduler.next() is None


def test_lazy_heaps_tolerate_duplicates() -> None:
    scheduler = Scheduler()
    job = new_job(frames_spec("1-3", cpus=3))
    for _ in range(3):
        offer_all(scheduler, job)
        scheduler.offer(job)
    assert drain(scheduler) == [(1, "1"), (1, "2"), (1, "3")]
    assert scheduler.next() is None


def test_work_that_stopped_being_pending_is_not_handed_out() -> None:
    scheduler = Scheduler()
    job = new_job(frames_spec("1-3", cpus=3))
    offer_all(scheduler, job)
    verbs.block_work(Changes(now=0.0), job, job.work[0], "")
    verbs.kill_work(Changes(now=0.0), job, job.work[2], "")
    assert drain(scheduler) == [(1, "2")]


def test_retried_work_is_handed_out_again_once_offered() -> None:
    scheduler = Scheduler()
    job = new_job(frames_spec("1", retry=1))
    offer_all(scheduler, job)
    assert drain(scheduler) == [(1, "1")]
    changes = Changes(now=1.0)
    t.finish_work(changes, job, job.work[0], "L0", t.WorkOutcome.EXITED, 1)
    for retried_job, work in changes.made_pending:
        scheduler.offer(retried_job, work)
    assert drain(scheduler) == [(1, "1")]
    assert job.work[0].attempts == 2


def test_a_forgotten_job_can_be_offered_again() -> None:
    scheduler = Scheduler()
    job = new_job(frames_spec("1-2", cpus=2))
    offer_all(scheduler, job)
    scheduler.forget(job.id)
    assert scheduler.next() is None
    offer_all(scheduler, job)
    assert drain(scheduler) == [(1, "1"), (1, "2")]


def test_dropped_jobs_leave_no_entries_behind_and_the_rest_still_runs() -> None:
    """Jobs that retire while queued (killed before any worker drained them) are dropped:
    their queue is rebuilt once their entries outnumber the live ones, and the jobs left
    run in order as before."""
    scheduler = Scheduler()
    jobs = [new_job(frames_spec("1"), job_id=i) for i in range(1, 301)]
    for job in jobs:
        offer_all(scheduler, job)
    changes = Changes(now=0.0)
    for job in jobs[:-3]:
        verbs.kill_job(changes, job, "")
        scheduler.drop(job)
    entries, queued = scheduler.entries()
    assert queued == 3 and entries <= 2 * queued + 64
    assert drain(scheduler) == [(298, "1"), (299, "1"), (300, "1")]
    for job in jobs[-3:]:
        scheduler.drop(job)
    assert scheduler.next() is None
