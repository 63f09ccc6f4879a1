"""Changing a job after submit (core.modify): the checks, the event, the instances."""

from __future__ import annotations

from latchwork.server.core import transitions as t
from latchwork.server.core.changes import Changes
from latchwork.server.core.events import EventName, EventType
from latchwork.server.core.limits import DEFAULT_LIMITS
from latchwork.server.core.modify import JobChanges, change_problems, modify_job
from latchwork.server.core.scheduler import Scheduler
from latchwork.server.core.states import JobStatus, WorkStatus

from .factories import frames_spec, new_job, start

EXITED = t.WorkOutcome.EXITED


def problems(asked: JobChanges, **spec: object) -> list[str]:
    job = new_job(frames_spec("1-4", **spec))
    return [str(e) for e in change_problems([job], asked, DEFAULT_LIMITS)]


def test_a_priority_change_is_one_modified_event_saying_what_changed() -> None:
    job = new_job(frames_spec("1-2"))
    changes = Changes(now=5.0)
    assert modify_job(changes, job, JobChanges(priority=10), "rush")
    assert job.spec.priority == 10 and job.priority == 10
    [event] = changes.events
    assert (event.name, event.type, event.job_id) == (EventName.MODIFIED, EventType.JOB, 1)
    assert event.message == "priority 9999 -> 10 (rush)"
    assert (event.status, event.previous_status, event.time) == ("pending", "pending", 5.0)
    assert changes.respecified == {1: job} and 1 in changes.dirty_jobs


def test_values_already_as_asked_make_no_event() -> None:
    job = new_job(frames_spec("1-2", priority=50, data={"shot": "a"}))
    changes = Changes(now=1.0)
    asked = JobChanges(priority=50, data={"shot": "a"}, remove_data=["absent"])
    assert not modify_job(changes, job, asked)
    assert changes.empty and not changes.respecified


def test_data_keys_are_set_and_removed_others_kept() -> None:
    job = new_job(frames_spec("1", data={"keep": "1", "old": "2", "shot": "a"}))
    changes = Changes(now=1.0)
    assert modify_job(changes, job, JobChanges(data={"shot": "b"}, remove_data=["old"]))
    assert job.spec.data == {"keep": "1", "shot": "b"}
    assert changes.events[0].message == "data 'shot' set; data 'old' removed"


def test_routing_strings_are_replaced_and_an_empty_one_clears() -> None:
    job = new_job(frames_spec("1", hosts="a,b"))
    changes = Changes(now=1.0)
    assert modify_job(changes, job, JobChanges(hosts="", groups="gpu", retry=3))
    assert (job.spec.hosts, job.spec.groups, job.spec.retry) == ("", "gpu", 3)
    assert changes.events[0].message == "retry 0 -> 3; hosts 'a,b' -> ''; groups '' -> 'gpu'"


def test_bad_values_are_named_by_field_path_as_at_submit() -> None:
    asked = JobChanges(priority=-1, cpus=0, retry=-2, requirements="host.memory >=", data={"": "x"})
    *found, routing = problems(asked)
    assert found == [
        "changes.priority: must be 1 or more (0 stands for the default)",
        "changes.cpus: must be between 1 and 10000",
        "changes.retry: must not be negative",
        "changes.data: keys must not be empty",
    ]
    # The routing parser's own words (core.routing), with the offset in the text.
    assert routing.startswith("changes.requirements: ") and "offset 14" in routing


def test_nothing_asked_and_keys_both_set_and_removed_are_refused() -> None:
    assert problems(JobChanges()) == ["changes: nothing to change: give at least one value"]
    assert problems(JobChanges(data={"k": "v"}, remove_data=["k"])) == [
        "changes.remove_data[0]: 'k' is also set in changes.data"
    ]


def test_data_over_the_limit_counts_what_the_job_has_already() -> None:
    limit = DEFAULT_LIMITS.data_entries
    have = {f"k{i}": "v" for i in range(limit)}
    found = problems(JobChanges(data={"one_more": "v"}), data=have)
    assert found == [f"changes.data: {limit + 1} entries; at most {limit}"]
    assert problems(JobChanges(data={"k0": "new"}), data=have) == []


def test_unchanged_fields_are_not_checked_again() -> None:
    # A job stored before routing was checked keeps its (bad) string; a priority change on
    # it is not refused for that.
    assert problems(JobChanges(priority=5), requirements="(((") == []


def test_cpus_up_adds_idle_instances_the_scheduler_uses() -> None:
    job = new_job(frames_spec("1-4"))
    busy = Changes(now=1.0)
    start(busy, job, "1", "L1")
    changes = Changes(now=2.0)
    assert modify_job(changes, job, JobChanges(cpus=3))
    assert [s.id for s in job.subjobs] == [0, 1, 2]
    assert {(0, 1), (0, 2)} <= {(k[0] - 1, k[1]) for k in changes.dirty_subjobs}
    scheduler = Scheduler()
    scheduler.offer_new(job)
    picked = scheduler.next()
    assert picked is not None and picked[2].id == 1


def test_cpus_down_takes_unstarted_instances_off_and_ends_idle_ones() -> None:
    job = new_job(frames_spec("1-6", cpus=4))
    c1 = Changes(now=1.0)
    first = start(c1, job, "1", "L1")  # instance 0
    start(c1, job, "2", "L2")  # instance 1
    t.finish_work(c1, job, first, "L1", EXITED)  # instance 0 idle, still running
    changes = Changes(now=2.0)
    assert modify_job(changes, job, JobChanges(cpus=1))
    # 2 and 3 never started: gone. 1 is busy: it stays and runs its frame to the end.
    assert [(s.id, s.status, s.busy) for s in job.subjobs] == [
        (0, WorkStatus.RUNNING, False),
        (1, WorkStatus.RUNNING, True),
    ]
    assert job.free_subjob() is job.subjobs[0]
    # When its frame ends, the instance beyond cpus ends instead of taking another.
    c3 = Changes(now=3.0)
    t.finish_work(c3, job, job.work_named("2"), "L2", EXITED)  # type: ignore[arg-type]
    assert job.subjobs[1].status is WorkStatus.COMPLETE
    assert job.status is JobStatus.RUNNING and job.tally[WorkStatus.PENDING] == 4


def test_cpus_down_ends_an_idle_instance_beyond_the_count() -> None:
    job = new_job(frames_spec("1-4", cpus=2))
    c1 = Changes(now=1.0)
    a = start(c1, job, "1", "L1")
    b = start(c1, job, "2", "L2")
    t.finish_work(c1, job, b, "L2", EXITED)  # instance 1 idle, running
    assert a.subjob_id == 0 and job.subjobs[1].status is WorkStatus.RUNNING
    changes = Changes(now=2.0)
    assert modify_job(changes, job, JobChanges(cpus=1))
    names = [(e.type, e.name, e.subjob_id) for e in changes.events]
    assert names == [("job", "modified", -1), ("subjob", "complete", 1)]
    assert changes.events[1].message == "cpus 2 -> 1"
    assert len(job.subjobs) == 2  # ended instances stay listed, as every ended one does


def test_a_finished_job_may_be_given_data() -> None:
    job = new_job(frames_spec("1"))
    c1 = Changes(now=1.0)
    work = start(c1, job, "1", "L1")
    t.finish_work(c1, job, work, "L1", EXITED)
    assert job.status is JobStatus.COMPLETE
    changes = Changes(now=2.0)
    assert modify_job(changes, job, JobChanges(data={"published": "yes"}, priority=1))
    assert job.status is JobStatus.COMPLETE
    assert changes.events[0].status == "complete"


def test_a_priority_change_reorders_the_scheduler_queue() -> None:
    jobs = [new_job(frames_spec("1"), job_id=i) for i in (1, 2, 3)]
    scheduler = Scheduler()
    for job in jobs:
        scheduler.offer_new(job)
    modify_job(Changes(now=1.0), jobs[2], JobChanges(priority=5))
    scheduler.requeue(jobs[2])
    order = []
    while (picked := scheduler.next()) is not None:
        order.append(picked[0].id)
        t.start_work(Changes(now=2.0), picked[0], picked[1], picked[2], "L", "h")
    assert order == [3, 1, 2]


def test_a_global_resource_must_be_configured_as_at_submit() -> None:
    job = new_job(frames_spec("1"))
    asked = JobChanges(reservations="global.nuke=1")
    assert change_problems([job], asked, DEFAULT_LIMITS, frozenset({"nuke"})) == []
    [error] = change_problems([job], asked, DEFAULT_LIMITS, frozenset({"maya"}))
    assert error.path == "changes.reservations" and "nuke" in error.message
