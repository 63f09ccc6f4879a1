"""The supervisor service over a real SQLite store, without gRPC."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.changes import Changes
from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.model import JobSpec
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.submission import SubmissionRejected
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.eventlog import EventLog
from latchwork.server.store import SqliteStore
from latchwork.server.store.opening import open_store
from latchwork.server.store.protocol import Store
from latchwork.server.supervisor import RequestConflict, Supervisor

from .factories import Farm, Sink, frames_spec


def all_events(sup: Supervisor) -> list[Event]:
    return sup.event_log.read(0, 10_000)


async def test_submit_lease_report_runs_a_job_to_completion(farm: Farm) -> None:
    sup = farm.open()
    result = sup.submit([frames_spec("1-3", label="comp", cpus=2)], user="alice")
    job = result.jobs[0]
    assert (job.id, result.pgrp, job.label, job.user) == (1, 1, "comp", "alice")
    assert result.seq == sup.event_log.head_seq == 1
    assert sup.get_job(1) is job

    sink = Sink()
    worker = sup.register_worker("node1", sink)
    signal = sup.work_signal()
    grants = sup.lease(worker, 5)
    # two instances: two frames at once
    assert [(g.work_name, g.subjob_id, g.attempt) for g in grants] == [("1", 0, 1), ("2", 1, 1)]
    assert grants[0].process.cmdline == "render 1"
    assert grants[0].process.env["LATCHWORK_LEASE_ID"] == grants[0].lease_id
    assert sup.worker_leases(worker) == {g.lease_id for g in grants}
    assert sup.lease(worker, 5) == []

    assert sup.report(grants[0].lease_id, WorkOutcome.EXITED, 0)
    assert signal.is_set()  # the released instance may take frame 3
    assert not sup.report(grants[0].lease_id, WorkOutcome.EXITED, 0)  # reported twice
    [third] = sup.lease(worker, 5)
    assert (third.work_name, third.subjob_id) == ("3", 0)
    assert sup.report(grants[1].lease_id, WorkOutcome.EXITED, 0)
    assert sup.report(third.lease_id, WorkOutcome.EXITED, 0)

    assert job.status is JobStatus.COMPLETE
    assert sup.worker_leases(worker) == set()
    assert sink.calls == []
    events = all_events(sup)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [(e.name, e.status) for e in events if e.type is EventType.JOB] == [
        (EventName.SUBMIT, "pending"),
        (EventName.RUNNING, "running"),
        (EventName.COMPLETE, "complete"),
    ]


async def test_jobs_of_one_submission_share_a_process_group(farm: Farm) -> None:
    sup = farm.open()
    first = sup.submit([frames_spec(label="a"), frames_spec(), frames_spec(label="job2")])
    assert [j.id for j in first.jobs] == [1, 2, 3]
    assert {j.pgrp for j in first.jobs} == {1}
    # a job without a label gets a fresh one that does not clash with given labels
    assert [j.label for j in first.jobs] == ["a", "job2_2", "job2"]

    more = sup.submit([frames_spec(label="b")], pgrp=1)
    assert more.pgrp == 1 and more.jobs[0].pgrp == 1
    assert sup.job_by_label(1, "b") is more.jobs[0]
    with pytest.raises(SubmissionRejected) as caught:
        sup.submit([frames_spec(label="c"), frames_spec(label="a")], pgrp=1)
    assert [e.path for e in caught.value.errors] == ["jobs[1].label"]
    assert sorted(sup.index.jobs) == [1, 2, 3, 4]  # nothing of the rejected submission exists


async def test_parent_and_children(farm: Farm) -> None:
    sup = farm.open()
    parent = sup.submit([frames_spec()]).jobs[0]
    child = sup.submit([frames_spec(pid=parent.id)]).jobs[0]
    assert child.pid == parent.id
    assert child.pgrp == child.id  # a new submission starts a new group
    assert sup.children_of(parent.id) == [child.id]


async def test_block_and_kill_signal_the_worker(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1-2", cpus=2)]).jobs[0]
    sink = Sink()
    worker = sup.register_worker("node1", sink)
    leases = [g.lease_id for g in sup.lease(worker, 2)]

    results, seq = sup.control(OperatorAction.BLOCK, [job.id], [])
    assert [(r.job_id, r.changed, r.job_status) for r in results] == [
        (job.id, True, JobStatus.BLOCKED)
    ]
    assert seq == sup.event_log.head_seq
    assert sink.calls == [("kill", leases[0]), ("kill", leases[1])]
    assert sup.worker_leases(worker) == set()
    # the killed processes report back: their leases are gone, nothing changes
    assert not sup.report(leases[0], WorkOutcome.KILLED, -15)
    assert sup.lease(worker, 2) == []  # blocked

    sup.control(OperatorAction.UNBLOCK, [job.id], [])
    again = sup.lease(worker, 2)
    assert [g.attempt for g in again] == [2, 2]
    sink.calls.clear()
    results, _ = sup.control(OperatorAction.KILL, [], [(job.id, "2")])
    assert [(r.work_name, r.changed) for r in results] == [("2", True)]
    assert sink.calls == [("kill", again[1].lease_id)]
    assert job.work_named("2").status is WorkStatus.KILLED  # type: ignore[union-attr]


async def test_suspend_and_resume_signal_the_worker(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1-3")]).jobs[0]
    sink = Sink()
    worker = sup.register_worker("node1", sink)
    [grant] = sup.lease(worker, 3)
    sup.control(OperatorAction.SUSPEND, [job.id], [])
    assert job.status is JobStatus.SUSPENDED
    assert sink.calls == [("suspend", grant.lease_id)]
    assert sup.report(grant.lease_id, WorkOutcome.EXITED, 0)
    assert sup.lease(worker, 3) == []  # nothing new starts while suspended
    sup.control(OperatorAction.RESUME, [job.id], [])
    assert sink.calls == [("suspend", grant.lease_id)]  # nothing left running to resume
    assert [g.work_name for g in sup.lease(worker, 3)] == ["2"]


async def test_resume_continues_running_processes(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1")]).jobs[0]
    sink = Sink()
    [grant] = sup.lease(sup.register_worker("node1", sink), 1)
    sup.control(OperatorAction.SUSPEND, [job.id], [])
    sup.control(OperatorAction.RESUME, [job.id], [])
    assert sink.calls == [("suspend", grant.lease_id), ("resume", grant.lease_id)]
    assert job.status is JobStatus.RUNNING


async def test_control_reports_every_bad_target(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1")]).jobs[0]
    sup.control(OperatorAction.REMOVE, [job.id], [])
    with pytest.raises(SubmissionRejected) as caught:
        sup.control(OperatorAction.SUSPEND, [job.id, 99], [(job.id, "1"), (99, "1")])
    assert [e.path for e in caught.value.errors] == [
        "job_ids[0]",
        "job_ids[1]",
        "work",
        "work[0].job_id",
        "work[1].job_id",
    ]
    other = sup.submit([frames_spec("1")]).jobs[0]
    with pytest.raises(SubmissionRejected) as caught:
        sup.control(OperatorAction.KILL, [], [(other.id, "nope")])
    assert [e.path for e in caught.value.errors] == ["work[0].work_name"]
    with pytest.raises(SubmissionRejected):
        sup.control(OperatorAction.KILL, [], [])


async def test_failure_with_retries_through_the_supervisor(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1", retry=1)]).jobs[0]
    worker = sup.register_worker("node1", Sink())
    [first] = sup.lease(worker, 1)
    assert sup.report(first.lease_id, WorkOutcome.TIMED_OUT)
    [second] = sup.lease(worker, 1)
    assert second.attempt == 2
    assert sup.report(second.lease_id, WorkOutcome.EXITED, 2)
    assert job.status is JobStatus.FAILED
    work_events = [(e.name, e.message) for e in all_events(sup) if e.type is EventType.WORK]
    assert [name for name, _ in work_events] == [
        "running",
        "timeout",
        "retried",
        "running",
        "failed",
    ]
    assert work_events[1][1].startswith("timed out after ")


async def test_recover_requeues_running_work_without_counting_a_retry(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1-2", cpus=2, retry=0)]).jobs[0]
    worker = sup.register_worker("node1", Sink())
    grants = sup.lease(worker, 2)
    assert sup.report(grants[0].lease_id, WorkOutcome.EXITED, 0)
    head = sup.event_log.head_seq
    farm.close()  # the supervisor dies with frame 2 running

    restarted = farm.open()
    assert restarted.event_log.head_seq == head
    stale = restarted.recover()
    assert stale == [grants[1].lease_id]
    events = restarted.event_log.read(head, 100)
    assert [(e.name, e.type, e.work_name, e.status, e.previous_status) for e in events] == [
        (EventName.RETRIED, EventType.WORK, "2", "pending", "running")
    ]
    assert events[0].seq == head + 1
    assert "restarted" in events[0].message
    job = restarted.index.jobs[job.id]
    item = job.work_named("2")
    assert item is not None
    assert (item.status, item.retries, item.attempts, item.lease_id) == (
        WorkStatus.PENDING,
        0,
        1,
        "",
    )
    assert restarted.recover() == []  # nothing left to recover

    # the requeued frame runs again and a late report of the old run is ignored
    worker = restarted.register_worker("node2", Sink())
    [again] = restarted.lease(worker, 2)
    assert (again.work_name, again.attempt) == ("2", 2)
    assert not restarted.report(grants[1].lease_id, WorkOutcome.EXITED, 0)
    assert restarted.report(again.lease_id, WorkOutcome.EXITED, 0)
    assert job.status is JobStatus.COMPLETE


async def test_state_survives_a_restart(farm: Farm) -> None:
    sup = farm.open()
    sup.submit([frames_spec("1-2", label="a"), JobSpec(cmdline="true", label="b")])
    sup.control(OperatorAction.BLOCK, [2], [])
    farm.close()
    restarted = farm.open()
    assert sorted(restarted.index.jobs) == [1, 2]
    assert restarted.index.jobs[2].status is JobStatus.BLOCKED
    assert restarted.labels_in_pgrp(1) == {"a", "b"}
    assert restarted.submit([frames_spec()]).jobs[0].id == 3
    # pending work of the stored jobs is offered to workers again
    grants = restarted.lease(restarted.register_worker("n", Sink()), 10)
    assert [(g.job_id, g.work_name) for g in grants] == [(1, "1"), (3, "1")]


async def test_drop_worker_requeues_its_leases(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1")]).jobs[0]
    worker = sup.register_worker("node1", Sink())
    [grant] = sup.lease(worker, 1)
    sup.drop_worker(worker, "worker lost")
    assert not sup.knows_worker(worker)
    assert job.work[0].status is WorkStatus.PENDING
    assert job.work[0].retries == 0
    assert sup.lease_entry(grant.lease_id) is None


async def test_submit_is_idempotent_by_request_id(farm: Farm) -> None:
    sup = farm.open()
    first = sup.submit([frames_spec(label="a")], request_id="req-1", digest="d1")
    head = sup.event_log.head_seq
    again = sup.submit([frames_spec(label="a")], request_id="req-1", digest="d1")
    assert [j.id for j in again.jobs] == [j.id for j in first.jobs]
    assert (again.pgrp, again.seq) == (first.pgrp, first.seq)
    assert sup.event_log.head_seq == head
    assert sorted(sup.index.jobs) == [1]
    farm.close()

    restarted = farm.open()
    after_restart = restarted.submit([frames_spec(label="a")], request_id="req-1", digest="d1")
    assert [j.id for j in after_restart.jobs] == [1]
    with pytest.raises(RequestConflict):
        restarted.submit([frames_spec(label="x")], request_id="req-1", digest="d2")
    assert sorted(restarted.index.jobs) == [1]


async def test_a_rejected_submission_does_not_use_up_its_request_id(farm: Farm) -> None:
    sup = farm.open()
    with pytest.raises(SubmissionRejected):
        sup.submit([JobSpec()], request_id="r", digest="d")
    assert sup.submit([frames_spec()], request_id="r", digest="d2").jobs[0].id == 1


async def test_failed_store_write_changes_nothing(
    farm: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    sup = farm.open()
    sup.submit([frames_spec(label="a")])
    real_write = sup.store.write

    def broken(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sup.store, "write", broken)
    with pytest.raises(sqlite3.OperationalError):
        sup.submit([frames_spec(label="b")])
    assert sorted(sup.index.jobs) == [1]
    assert sup.labels_in_pgrp(1) == {"a"}
    monkeypatch.setattr(sup.store, "write", real_write)
    assert sup.event_log.head_seq == 1


async def test_submit_after_a_failed_store_write_gets_fresh_job_ids(
    farm: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    sup = farm.open()
    sup.submit([frames_spec(label="a"), frames_spec(label="b")])
    real_write = sup.store.write

    def broken(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sup.store, "write", broken)
    with pytest.raises(sqlite3.OperationalError):
        sup.submit([frames_spec(label="c"), frames_spec(label="d")])
    monkeypatch.setattr(sup.store, "write", real_write)
    assert sup.submit([frames_spec(label="e")]).jobs[0].id == 3


# --- the event log -----------------------------------------------------------------------


def publish(store: Store, log: EventLog, count: int) -> list[Event]:
    changes = Changes(now=1.0)
    for i in range(count):
        changes.emit(Event(EventName.DUMMY, EventType.JOB, job_id=i))
    store.write(changes)
    log.publish(changes.events)
    return changes.events


async def test_event_log_reads_recent_events_from_memory(
    store_location: str | Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(store_location)
    log = EventLog(store, window=4)
    events = publish(store, log, 6)
    monkeypatch.setattr(store, "read_events", pytest.fail)
    assert log.head_seq == 6
    recent = log.read(2, 100)
    assert [e.seq for e in recent] == [3, 4, 5, 6]
    assert all(a is b for a, b in zip(recent, events[2:], strict=True))
    assert [e.seq for e in log.read(3, 2)] == [4, 5]
    assert log.read(6, 100) == []
    assert log.read(99, 100) == []
    store.close()


async def test_event_log_reads_older_events_from_the_store(store_location: str | Path) -> None:
    store = open_store(store_location)
    log = EventLog(store, window=4)
    events = publish(store, log, 6)
    old = log.read(0, 100)
    assert [e.seq for e in old] == [1, 2, 3, 4, 5, 6]
    assert old == events
    assert old[0] is not events[0]  # read back from the store
    assert [e.seq for e in log.read(1, 2)] == [2, 3]
    assert log.oldest_seq() == 1
    store.close()


async def test_event_log_after_restart_reads_from_the_store(store_location: str | Path) -> None:
    store = open_store(store_location)
    publish(store, EventLog(store), 3)
    store.close()
    store = open_store(store_location)
    log = EventLog(store)
    assert log.head_seq == 3
    assert [e.seq for e in log.read(1, 10)] == [2, 3]
    store.close()


async def test_waiting_for_the_log_to_advance(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db")
    log = EventLog(store)
    assert not await log.wait_beyond(0, 0.01)
    waiter = asyncio.create_task(log.wait_beyond(0, 5))
    await asyncio.sleep(0)
    publish(store, log, 1)
    assert await asyncio.wait_for(waiter, 1)
    assert await log.wait_beyond(0, 0)  # already beyond: no wait
    store.close()
