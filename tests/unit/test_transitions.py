"""The state machines of jobs, work items and subjobs, and the events they emit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from latchwork.server.core import transitions as t
from latchwork.server.core import verb_transitions as verbs
from latchwork.server.core.changes import Changes
from latchwork.server.core.events import EventName, EventType
from latchwork.server.core.scheduler import Scheduler
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.transitions import TransitionRefused, WorkOutcome

from .factories import (
    frames_spec,
    is_dispatchable,
    is_empty,
    job_events,
    new_job,
    start,
    status_of,
    summary,
    work_status_of,
)

EXITED = WorkOutcome.EXITED


def test_submit_emits_a_job_event_and_offers_pending_work() -> None:
    job = new_job(frames_spec("1-3"))
    job.set_work_status(job.work[1], WorkStatus.BLOCKED)  # not offered
    changes = Changes(now=1.0)
    t.submit(changes, job)
    assert summary(changes.events) == [("job", "submit", "", "pending", "")]
    assert changes.events[0].time == 1.0
    assert (changes.events[0].job_id, changes.events[0].label) == (1, "render")
    assert changes.new_jobs == [job]
    # A new job's pending work is offered as a whole, from new_jobs, not item by item.
    assert changes.made_pending == []
    scheduler = Scheduler()
    scheduler.offer_new(job)
    handed = []
    while (picked := scheduler.next()) is not None:
        handed.append(picked[1].name)
    assert handed == ["1", "3"]


def test_two_frames_in_one_instance_emit_events_in_order() -> None:
    job = new_job(frames_spec("1-2"))
    c1 = Changes(now=10.0)
    work = start(c1, job, "1", "L1")
    assert summary(c1.events) == [
        ("subjob", "running", "", "running", ""),
        ("work", "running", "1", "running", "pending"),
        ("job", "running", "", "running", "pending"),
    ]
    assert c1.events[0].subjob_id == 0 and c1.events[0].host == "node1"
    assert c1.events[1].message == "attempt 1"
    assert (work.attempts, work.lease_id, work.host, work.start_time) == (1, "L1", "node1", 10.0)
    assert job.start_time == 10.0
    assert job.subjobs[0].busy

    c2 = Changes(now=11.0)
    assert t.finish_work(c2, job, work, "L1", EXITED, 0)
    assert summary(c2.events) == [("work", "complete", "1", "complete", "running")]
    assert job.status is JobStatus.RUNNING
    assert work.lease_id == "" and work.end_time == 11.0

    c3 = Changes(now=12.0)
    second = start(c3, job, "2", "L2")
    # the instance is still running: no second subjob event, no job event
    assert summary(c3.events) == [("work", "running", "2", "running", "pending")]

    c4 = Changes(now=13.0)
    assert t.finish_work(c4, job, second, "L2", EXITED, 0)
    assert summary(c4.events) == [
        ("work", "complete", "2", "complete", "running"),
        ("subjob", "complete", "", "complete", "running"),
        ("job", "complete", "", "complete", "running"),
    ]
    assert status_of(job) is JobStatus.COMPLETE
    assert job.end_time == 13.0
    assert job.subjobs[0].status is WorkStatus.COMPLETE
    assert set(c4.dirty_jobs) == {1}
    assert set(c4.dirty_work) == {(1, 1)}


def test_an_instance_running_on_for_the_next_frame_is_stored_again_only_if_it_moved() -> None:
    """Its stored fields (status, host, start time) are what they were: nothing to write.
    On another host, its row changes. (The frame it runs is not stored: it is found from its
    running work at load.)"""
    job = new_job(frames_spec("1-3"))
    c1 = Changes(now=10.0)
    first = start(c1, job, "1", "L1")
    assert set(c1.dirty_subjobs) == {(1, 0)}
    assert t.finish_work(Changes(now=11.0), job, first, "L1", EXITED, 0)
    c2 = Changes(now=12.0)
    second = start(c2, job, "2", "L2")
    assert job.subjobs[0].busy and not c2.dirty_subjobs
    assert t.finish_work(Changes(now=13.0), job, second, "L2", EXITED, 0)
    c3 = Changes(now=14.0)
    start(c3, job, "3", "L3", host="node2")
    assert set(c3.dirty_subjobs) == {(1, 0)} and job.subjobs[0].host == "node2"


def test_job_events_never_flicker_back_to_pending_between_frames() -> None:
    job = new_job(frames_spec("1-5", cpus=2, retry=1))
    changes = Changes(now=0.0)
    t.submit(changes, job)
    lease = 0
    failed_once = False
    while not job.status.is_final:
        running = []
        while (work := next((w for w in job.work if w.status is WorkStatus.PENDING), None)) and (
            job.free_subjob() is not None
        ):
            lease += 1
            running.append(start(changes, job, work.name, f"L{lease}"))
        for work in running:
            code = 1 if work.name == "3" and not failed_once else 0
            failed_once = failed_once or code == 1
            assert t.finish_work(changes, job, work, work.lease_id, EXITED, code)
    assert job_events(changes.events) == [
        ("submit", "pending", ""),
        ("running", "running", "pending"),
        ("complete", "complete", "running"),
    ]
    assert failed_once
    subjob_events = [(e.name, e.subjob_id) for e in changes.events if e.type == "subjob"]
    assert sorted(subjob_events) == [
        ("complete", 0),
        ("complete", 1),
        ("running", 0),
        ("running", 1),
    ]


def test_retries_then_failure() -> None:
    job = new_job(frames_spec("7", retry=2))
    changes = Changes(now=0.0)
    for attempt in (1, 2, 3):
        work = start(changes, job, "7", f"L{attempt}")
        assert work.attempts == attempt
        assert t.finish_work(changes, job, work, f"L{attempt}", EXITED, 3)
    work_events = [(e.name, e.status, e.message) for e in changes.events if e.type == "work"]
    assert work_events == [
        ("running", "running", "attempt 1"),
        ("retried", "pending", "exit code 3; retry 1 of 2"),
        ("running", "running", "attempt 2"),
        ("retried", "pending", "exit code 3; retry 2 of 2"),
        ("running", "running", "attempt 3"),
        ("failed", "failed", "exit code 3"),
    ]
    assert job.status is JobStatus.FAILED
    assert (work.retries, work.exit_code) == (2, 3)
    assert job_events(changes.events) == [
        ("running", "running", "pending"),
        ("failed", "failed", "running"),
    ]
    assert [(e.name, e.status) for e in changes.events if e.type == "subjob"] == [
        ("running", "running"),
        ("failed", "failed"),
    ]
    # retried work is offered to the scheduler again
    assert [w.name for _, w in changes.made_pending] == ["7", "7"]


def test_timeout_is_announced_before_the_failure() -> None:
    job = new_job(frames_spec("1"))
    changes = Changes(now=0.0)
    work = start(changes, job, "1", "L1")
    del changes.events[:]
    assert t.finish_work(changes, job, work, "L1", WorkOutcome.TIMED_OUT, -15, "over 5 s")
    assert summary(changes.events)[:2] == [
        ("work", "timeout", "1", "running", ""),
        ("work", "failed", "1", "failed", "running"),
    ]
    assert changes.events[1].message == "over 5 s"
    assert job.status is JobStatus.FAILED


def test_timeout_with_retry_left_is_retried() -> None:
    job = new_job(frames_spec("1", retry=1))
    changes = Changes(now=0.0)
    work = start(changes, job, "1", "L1")
    del changes.events[:]
    assert t.finish_work(changes, job, work, "L1", WorkOutcome.TIMED_OUT)
    assert [(e.name, e.message) for e in changes.events] == [
        ("timeout", ""),
        ("retried", "timed out; retry 1 of 1"),
    ]


def test_start_failure_and_kill_outcomes() -> None:
    job = new_job(frames_spec("1-2", cpus=2))
    changes = Changes(now=0.0)
    first = start(changes, job, "1", "L1")
    second = start(changes, job, "2", "L2")
    del changes.events[:]
    assert t.finish_work(changes, job, first, "L1", WorkOutcome.START_FAILED, message="no sh")
    assert t.finish_work(changes, job, second, "L2", WorkOutcome.KILLED, -9)
    assert [(e.name, e.work_name, e.message) for e in changes.events if e.type == "work"] == [
        ("failed", "1", "could not start: no sh"),
        ("killed", "2", "killed"),
    ]
    assert job.status is JobStatus.FAILED


def test_stale_lease_reports_are_ignored() -> None:
    job = new_job(frames_spec("1", retry=1))
    changes = Changes(now=0.0)
    work = start(changes, job, "1", "L1")
    before = len(changes.events)
    assert not t.finish_work(changes, job, work, "WRONG", EXITED, 0)
    assert work.status is WorkStatus.RUNNING
    assert len(changes.events) == before
    verbs.retry_work(changes, job, work, "")  # requeued: L1 is taken back
    restarted = start(changes, job, "1", "L2")
    assert not t.finish_work(changes, job, restarted, "L1", EXITED, 0)
    assert t.finish_work(changes, job, restarted, "L2", EXITED, 0)
    assert not t.finish_work(changes, job, restarted, "L2", EXITED, 0)  # already done
    assert job.status is JobStatus.COMPLETE


def test_start_work_refuses() -> None:
    job = new_job(frames_spec("1-2"))
    changes = Changes(now=0.0)
    work = start(changes, job, "1", "L1")
    with pytest.raises(TransitionRefused):  # already running
        t.start_work(changes, job, work, job.subjobs[0], "L9", "h")
    with pytest.raises(TransitionRefused):  # the only instance is busy
        t.start_work(changes, job, job.work[1], job.subjobs[0], "L9", "h")
    held = new_job(frames_spec("1"), job_id=2)
    held.blocked = True
    with pytest.raises(TransitionRefused):
        t.start_work(changes, held, held.work[0], held.subjobs[0], "L9", "h")


def test_block_requeues_running_work_and_records_kill_effects() -> None:
    job = new_job(frames_spec("1-3", cpus=2))
    changes = Changes(now=0.0)
    start(changes, job, "1", "L1")
    start(changes, job, "2", "L2")
    changes = Changes(now=5.0)
    assert verbs.block_job(changes, job, "artist asked")
    assert changes.kill_leases == ["L1", "L2"]
    assert [x for x in summary(changes.events) if x[0] != "subjob"] == [
        ("work", "retried", "1", "pending", "running"),
        ("work", "retried", "2", "pending", "running"),
        ("job", "blocked", "", "blocked", "running"),
    ]
    assert changes.events[0].message == "artist asked"
    assert all(w.status is WorkStatus.PENDING and w.retries == 0 for w in job.work)
    assert all(not s.busy for s in job.subjobs)
    assert not verbs.block_job(Changes(now=6.0), job, "")  # already blocked

    changes = Changes(now=7.0)
    assert verbs.unblock_job(changes, job, "")
    assert job_events(changes.events) == [("unblocked", "pending", "blocked")]
    assert job.dispatchable


def test_block_between_frames_shows_the_job_blocked() -> None:
    job = new_job(frames_spec("1-2"))
    changes = Changes(now=0.0)
    work = start(changes, job, "1", "L1")
    t.finish_work(changes, job, work, "L1", EXITED, 0)
    assert job.status is JobStatus.RUNNING  # its instance waits for frame 2
    changes = Changes(now=1.0)
    assert verbs.block_job(changes, job, "")
    assert not job.dispatchable
    assert job_events(changes.events) == [("blocked", "blocked", "running")]
    assert status_of(job) is JobStatus.BLOCKED


def test_block_of_a_finished_job_is_a_no_op() -> None:
    job = new_job(frames_spec("1"))
    changes = Changes(now=0.0)
    work = start(changes, job, "1", "L1")
    t.finish_work(changes, job, work, "L1", EXITED, 0)
    changes = Changes(now=1.0)
    assert not verbs.block_job(changes, job, "")
    assert not verbs.suspend_job(changes, job, "")
    assert not verbs.kill_job(changes, job, "")
    assert not verbs.retry_job(changes, job, "")
    assert changes.events == []


def test_unblock_releases_work_holds_too() -> None:
    job = new_job(frames_spec("1-2"))
    changes = Changes(now=0.0)
    for work in job.work:
        assert verbs.block_work(changes, job, work, "")
    assert job.status is JobStatus.BLOCKED
    assert not job.blocked
    changes = Changes(now=1.0)
    assert verbs.unblock_job(changes, job, "go")
    assert summary(changes.events) == [
        ("work", "unblocked", "1", "pending", "blocked"),
        ("work", "unblocked", "2", "pending", "blocked"),
        ("job", "unblocked", "", "pending", "blocked"),
    ]
    assert len(changes.made_pending) == 2


def test_kill_marks_everything_killed_and_kills_leases() -> None:
    job = new_job(frames_spec("1-4", cpus=2))
    changes = Changes(now=0.0)
    done = start(changes, job, "1", "L1")
    t.finish_work(changes, job, done, "L1", EXITED, 0)
    start(changes, job, "2", "L2")
    start(changes, job, "3", "L3")
    changes = Changes(now=1.0)
    assert verbs.kill_job(changes, job, "")
    assert changes.kill_leases == ["L2", "L3"]
    assert [w.status for w in job.work] == [
        WorkStatus.COMPLETE,
        WorkStatus.KILLED,
        WorkStatus.KILLED,
        WorkStatus.KILLED,
    ]
    assert [(e.name, e.work_name) for e in changes.events if e.type == "work"] == [
        ("killed", "2"),
        ("killed", "3"),
        ("killed", "4"),
    ]
    assert job_events(changes.events) == [("killed", "killed", "running")]
    assert job.status is JobStatus.KILLED
    assert [s.status for s in job.subjobs] == [WorkStatus.KILLED, WorkStatus.KILLED]
    assert not verbs.kill_job(Changes(now=2.0), job, "")


def test_killing_the_last_running_frame_ends_its_instance_killed() -> None:
    job = new_job(frames_spec("1"))
    changes = Changes(now=0.0)
    start(changes, job, "1", "L1")
    changes = Changes(now=1.0)
    verbs.kill_job(changes, job, "")
    assert [(e.name, e.status) for e in changes.events if e.type == "subjob"] == [
        ("killed", "killed")
    ]


def test_removing_a_job_with_its_last_frame_running_ends_its_instance_killed() -> None:
    job = new_job(frames_spec("1"))
    changes = Changes(now=0.0)
    start(changes, job, "1", "L1")
    changes = Changes(now=1.0)
    verbs.remove_job(changes, job, "")
    assert job.subjobs[0].status is WorkStatus.KILLED


def test_kill_of_a_suspended_job_clears_the_hold() -> None:
    job = new_job(frames_spec("1-2"))
    changes = Changes(now=0.0)
    start(changes, job, "1", "L1")
    verbs.suspend_job(changes, job, "")
    changes = Changes(now=1.0)
    verbs.kill_job(changes, job, "stop")
    assert not job.suspended
    assert job_events(changes.events) == [("killed", "killed", "suspended")]
    assert changes.kill_leases == ["L1"]


def test_retry_job_reruns_failed_and_killed_work_with_fresh_retries() -> None:
    job = new_job(frames_spec("1-3", retry=1, cpus=3))
    changes = Changes(now=0.0)
    works = [start(changes, job, str(i), f"L{i}") for i in (1, 2, 3)]
    t.finish_work(changes, job, works[0], "L1", EXITED, 0)
    t.finish_work(changes, job, works[1], "L2", EXITED, 1)  # retried
    assert works[1].retries == 1
    verbs.kill_work(changes, job, works[2], "")
    start(changes, job, "2", "L4")
    changes.now = 5.0
    t.finish_work(changes, job, works[1], "L4", EXITED, 1)
    assert job.status is JobStatus.FAILED
    assert job.end_time == 5.0

    changes = Changes(now=9.0)
    assert verbs.retry_job(changes, job, "")
    assert [(w.name, w.status, w.retries) for w in job.work] == [
        ("1", WorkStatus.COMPLETE, 0),
        ("2", WorkStatus.PENDING, 0),
        ("3", WorkStatus.PENDING, 0),
    ]
    assert [(e.name, e.work_name, e.message) for e in changes.events] == [
        ("retried", "2", "retried by request"),
        ("retried", "3", "retried by request"),
        ("retried", "", ""),
    ]
    assert status_of(job) is JobStatus.PENDING
    assert job.end_time == 0.0
    assert [w.name for _, w in changes.made_pending] == ["2", "3"]


def test_retry_work() -> None:
    job = new_job(frames_spec("1-2"))
    changes = Changes(now=0.0)
    first = start(changes, job, "1", "L1")
    t.finish_work(changes, job, first, "L1", EXITED, 0)
    assert not verbs.retry_work(changes, job, job.work[1], "")  # pending: nothing to retry

    changes = Changes(now=1.0)
    assert verbs.retry_work(changes, job, first, "again")
    assert first.status is WorkStatus.PENDING
    assert summary(changes.events) == [("work", "retried", "1", "pending", "complete")]

    running = start(changes, job, "1", "L2")
    changes = Changes(now=2.0)
    assert verbs.retry_work(changes, job, running, "")
    assert changes.kill_leases == ["L2"]
    assert running.status is WorkStatus.PENDING
    assert running.message == "restarted by request"
    assert running.retries == 0


def test_kill_and_block_single_work_items() -> None:
    job = new_job(frames_spec("1-3"))
    changes = Changes(now=0.0)
    running = start(changes, job, "1", "L1")
    changes = Changes(now=1.0)
    assert verbs.block_work(changes, job, running, "")
    assert changes.kill_leases == ["L1"]
    assert running.status is WorkStatus.BLOCKED
    assert verbs.kill_work(changes, job, job.work[1], "")
    assert not verbs.kill_work(changes, job, job.work[1], "")
    assert not verbs.block_work(changes, job, job.work[1], "")
    assert not verbs.unblock_work(changes, job, job.work[2], "")
    assert verbs.unblock_work(changes, job, running, "")
    assert work_status_of(running) is WorkStatus.PENDING


def test_suspend_and_resume_effects() -> None:
    job = new_job(frames_spec("1-3", cpus=2))
    changes = Changes(now=0.0)
    start(changes, job, "1", "L1")
    start(changes, job, "2", "L2")

    changes = Changes(now=1.0)
    assert verbs.suspend_job(changes, job, "lunch")
    assert changes.suspend_leases == ["L1", "L2"]
    assert changes.kill_leases == []
    assert job_events(changes.events) == [("suspended", "suspended", "running")]
    assert changes.events[-1].message == "lunch"
    assert not job.dispatchable
    assert not verbs.suspend_job(Changes(now=1.5), job, "")

    changes = Changes(now=2.0)
    assert verbs.resume_job(changes, job, "")
    assert changes.resume_leases == ["L1", "L2"]
    assert [w.name for _, w in changes.made_pending] == ["3"]
    assert job_events(changes.events) == [("resumed", "running", "suspended")]
    assert is_dispatchable(job)
    assert not verbs.resume_job(Changes(now=3.0), job, "")


def test_remove() -> None:
    job = new_job(frames_spec("1-3"))
    changes = Changes(now=0.0)
    start(changes, job, "1", "L1")
    changes = Changes(now=1.0)
    assert verbs.remove_job(changes, job, "")
    assert changes.kill_leases == ["L1"]
    assert job.work[0].status is WorkStatus.KILLED
    assert job_events(changes.events) == [("removed", "removed", "running")]
    assert job.status is JobStatus.REMOVED
    assert job.end_time == 1.0
    assert not job.dispatchable
    assert not verbs.remove_job(Changes(now=2.0), job, "")


@pytest.mark.parametrize(
    "action",
    [
        verbs.block_job,
        verbs.unblock_job,
        verbs.kill_job,
        verbs.retry_job,
        verbs.suspend_job,
        verbs.resume_job,
    ],
)
def test_job_actions_refuse_removed_jobs(action: Callable[..., bool]) -> None:
    job = new_job(frames_spec("1"))
    verbs.remove_job(Changes(now=0.0), job, "")
    with pytest.raises(TransitionRefused):
        action(Changes(now=1.0), job, "")


@pytest.mark.parametrize(
    "action", [verbs.block_work, verbs.unblock_work, verbs.kill_work, verbs.retry_work]
)
def test_work_actions_refuse_removed_jobs(action: Callable[..., bool]) -> None:
    job = new_job(frames_spec("1"))
    verbs.remove_job(Changes(now=0.0), job, "")
    with pytest.raises(TransitionRefused):
        action(Changes(now=1.0), job, job.work[0], "")


def test_requeue_counts_no_retry() -> None:
    job = new_job(frames_spec("1", retry=0))
    changes = Changes(now=0.0)
    work = start(changes, job, "1", "L1")
    changes = Changes(now=3.0)
    t.requeue_work(changes, job, work, "worker lost")
    assert summary(changes.events) == [("work", "retried", "1", "pending", "running")]
    assert changes.events[0].message == "worker lost"
    assert (work.retries, work.attempts, work.lease_id) == (0, 1, "")
    assert changes.kill_leases == ["L1"]
    t.requeue_work(changes, job, work, "again")  # not running any more: nothing happens
    assert len(changes.events) == 1


def test_changes_touch_and_empty() -> None:
    changes = Changes(now=0.0)
    assert changes.empty
    job = new_job()
    changes.touch(job, job.work[2])
    assert not is_empty(changes)
    assert changes.dirty_jobs == {1: job}
    assert changes.dirty_work == {(1, 2): job.work[2]}


def test_event_fields_carry_job_identity() -> None:
    job = new_job(frames_spec("1"), job_id=7, label="comp", pgrp=3)
    changes = Changes(now=4.0)
    start(changes, job, "1", "L1", host="farm12")
    work_event = next(e for e in changes.events if e.type is EventType.WORK)
    assert (work_event.job_id, work_event.pgrp, work_event.label, work_event.user) == (
        7,
        3,
        "comp",
        "alice",
    )
    assert (work_event.host, work_event.subjob_id, work_event.time) == ("farm12", 0, 4.0)
    assert work_event.name is EventName.RUNNING
