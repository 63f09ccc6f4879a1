"""The callbacks of retired jobs sleep in the store (server/dormant_callbacks.py): a job's
callbacks are compiled while the job is in memory, neither the running supervisor nor a
restart holds a retired job's, until an event they could latch on comes or someone asks for
them; then they fire as if they had never left. On SQLite and PostgreSQL (the ``farm``
fixture)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.model import CallbackSpec, Job
from latchwork.server.core.states import JobStatus
from latchwork.server.dormant_callbacks import DormantCallbacks
from latchwork.server.store.migrations import MIGRATIONS
from latchwork.server.supervisor import Supervisor

from .factories import Farm, Sink, TickingClock, frames_spec
from .test_retired_jobs import run_all


@pytest.fixture
def farm(tmp_path: Path, store_location: str | Path) -> Iterator[Farm]:
    farm = Farm(tmp_path, TickingClock(), location=store_location, keep_finished_seconds=0.0)
    yield farm
    farm.close()


def held(sup: Supervisor, job_id: int) -> list[int]:
    """The ids of ``job_id``'s callbacks the trigger engine holds (never waking them)."""
    return [callback.id for callback in sup.triggering.engine.of_job(job_id)]


def watcher_and_two_blocked(sup: Supervisor) -> tuple[Job, Job, Job]:
    """Job ``a`` (failed) whose callback retries it once ``c`` and ``e`` (both blocked) have
    completed; ``c`` completed already, so half of the trigger is latched."""
    c, e, a = sup.submit(
        [
            frames_spec("1", label="c", status=JobStatus.BLOCKED),
            frames_spec("1", label="e", status=JobStatus.BLOCKED),
            frames_spec(
                "1-2",
                label="a",
                callbacks=[
                    CallbackSpec("complete-job-c && complete-job-e", "qube", "retry-self", max=1)
                ],
            ),
        ]
    ).jobs
    worker = sup.register_worker("node1", Sink())
    run_all(sup, worker, exit_code=1)
    sup.control(OperatorAction.UNBLOCK, [c.id], [])
    run_all(sup, worker)
    return a, c, e


@pytest.mark.parametrize("restart", [False, True], ids=["running", "after-restart"])
async def test_a_retired_jobs_callback_sleeps_until_an_event_it_watches(
    farm: Farm, restart: bool
) -> None:
    sup = farm.open()
    a, c, e = watcher_and_two_blocked(sup)
    (callback_id,) = held(sup, a.id)
    latched = sup.triggering.engine.callbacks[callback_id].state()
    assert latched["shared"] == [0]
    assert sup.triggering.engine.callbacks[callback_id].watched_jobs == [c.id, e.id]

    assert sup.retire_finished_jobs() == 2  # a and c; e is still blocked
    assert held(sup, a.id) == [] and len(sup.triggering.dormant) == 1
    if restart:
        sup = farm.restart()
        # the restart compiled nothing and read no retired job back
        assert sorted(sup.index.jobs) == [e.id]
        assert sup.triggering.engine.callbacks == {}
        assert len(sup.triggering.dormant) == 1

    # unrelated events leave it asleep
    sup.submit([frames_spec("1", label="other", status=JobStatus.BLOCKED)])
    assert len(sup.triggering.dormant) == 1 and a.id not in sup.index.jobs

    # e's events wake it; its latch on c, kept in the store, still counts
    sup.control(OperatorAction.UNBLOCK, [e.id], [])
    assert held(sup, a.id) == [callback_id] and not sup.triggering.dormant
    assert a.id in sup.index.jobs  # compiling it read its owner back
    run_all(sup, sup.register_worker("node2", Sink()))
    again = sup.get_job(a.id)
    assert again is not None and again.status is JobStatus.COMPLETE
    assert [w.attempts for w in again.work] == [2, 2]  # retried by the callback, ran again
    callback = sup.get_callback(callback_id)
    assert callback is not None and callback.fired == 1 and callback.exhausted


@pytest.mark.parametrize("restart", [False, True], ids=["running", "after-restart"])
async def test_asking_for_a_sleeping_callback_wakes_it_as_it_was(farm: Farm, restart: bool) -> None:
    sup = farm.open()
    a, _, _ = watcher_and_two_blocked(sup)
    (callback_id,) = held(sup, a.id)
    before = sup.triggering.engine.callbacks[callback_id].state()
    sup.retire_finished_jobs()
    if restart:
        sup = farm.restart()

    woken = sup.get_callback(callback_id)  # by id: as a run about to start asks
    assert woken is not None and woken.state() == before and woken.job_id == a.id
    assert a.id in sup.index.jobs  # its job came back with it

    sup.retire_finished_jobs()
    assert held(sup, a.id) == [] and a.id not in sup.index.jobs
    # by job: as GetJob and the latch inspector ask
    assert [cb.state() for cb in sup.callbacks_of(a.id)] == [before]
    assert held(sup, a.id) == [callback_id]
    assert sup.get_callback(callback_id + 100) is None


async def test_a_dependency_sleeps_with_its_job_and_still_releases_it(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node1", Sink())
    lead = sup.submit([frames_spec("1", label="lead", status=JobStatus.BLOCKED)]).jobs[0]
    follow = sup.submit(
        [frames_spec("1-2", label="follow", dependency="link-complete-job-lead")],
        pgrp=lead.pgrp,
    ).jobs[0]
    sup.control(OperatorAction.KILL, [follow.id], [])
    assert sup.retire_finished_jobs() == 1
    sup = farm.restart()
    assert sorted(sup.index.jobs) == [lead.id] and len(sup.triggering.dormant) == 1

    # the follower, retried (read back, its dependency compiled again), waits for its lead
    # again; the lead's completion releases it
    sup.control(OperatorAction.RETRY, [follow.id], [])
    assert len(held(sup, follow.id)) == 1
    sup.control(OperatorAction.UNBLOCK, [lead.id], [])
    run_all(sup, worker := sup.register_worker("node2", Sink()))
    done = sup.get_job(follow.id)
    assert done is not None
    assert done.status is JobStatus.COMPLETE, done.status
    assert not sup.triggering.dormant
    del worker


async def test_a_callback_on_a_clock_never_sleeps(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit(
        [
            frames_spec(
                "1", callbacks=[CallbackSpec("dummy-time-self-4102444800", "qube", "retry-self")]
            )
        ]
    ).jobs[0]
    run_all(sup, sup.register_worker("node1", Sink()))
    (callback_id,) = held(sup, job.id)
    assert sup.retire_finished_jobs() == 1
    assert held(sup, job.id) == [callback_id] and not sup.triggering.dormant
    sup = farm.restart()
    # its timer must be kept: it is compiled, and its owner read back, at the restart
    assert held(sup, job.id) == [callback_id] and not sup.triggering.dormant
    assert job.id in sup.index.jobs


async def test_removing_a_retired_job_drops_its_sleeping_callbacks(farm: Farm) -> None:
    sup = farm.open()
    a, _, e = watcher_and_two_blocked(sup)
    sup.retire_finished_jobs()
    sup.control(OperatorAction.REMOVE, [a.id], [])
    assert held(sup, a.id) == []
    sup = farm.restart()
    assert held(sup, a.id) == []
    # e's completion reads a back, and finds no callback left to fire
    sup.control(OperatorAction.UNBLOCK, [e.id], [])
    run_all(sup, sup.register_worker("node2", Sink()))
    assert held(sup, a.id) == [] and not sup.triggering.dormant
    assert [run.callback_id for run in sup.store.list_runs(job_id=a.id)] == []


async def test_a_callback_stored_before_its_watched_jobs_were_kept_is_compiled_at_load(
    tmp_path: Path,
) -> None:
    farm = Farm(tmp_path, TickingClock(), keep_finished_seconds=0.0)
    sup = farm.open()
    a, c, e = watcher_and_two_blocked(sup)
    (callback_id,) = held(sup, a.id)
    sup.retire_finished_jobs()
    farm.close()
    # the store as schema 6 had it: nothing says which jobs a callback watches
    with contextlib.closing(sqlite3.connect(farm.location)) as raw:
        raw.execute("DROP TABLE callback_watches")
        raw.execute("DROP INDEX jobs_user")  # and schema 8's index and column
        raw.execute("ALTER TABLE jobs DROP COLUMN name")
        raw.execute("PRAGMA user_version = 6")
        raw.commit()
    sup = farm.open()  # migration 7 and those after it
    assert sup.store.schema_version == len(MIGRATIONS)
    assert held(sup, a.id) == [callback_id] and not sup.triggering.dormant
    assert a.id in sup.index.jobs  # read back to compile it
    assert c.id not in sup.index.jobs  # what its trigger names is only looked at
    sup.control(OperatorAction.UNBLOCK, [e.id], [])
    run_all(sup, sup.register_worker("node2", Sink()))
    callback = sup.get_callback(callback_id)
    assert callback is not None and callback.fired == 1
    farm.close()


def test_the_jobs_in_memory_and_the_retired_jobs_watching_them() -> None:
    dormant = DormantCallbacks()
    dormant.watch(7, 10)  # retired job 10 has a callback watching job 7
    dormant.watch(7, 11)
    dormant.watch(7, 11)  # noted again (it retired again): no duplicate
    dormant.watch(8, 12)
    assert len(dormant) == 2
    assert dormant.owners_watching(7) == [10, 11]
    assert dormant.owners_watching(7) == []  # the entry went: both are being read back
    dormant.forget(8)  # job 8 retired: nothing can happen to it until it is read back
    assert dormant.owners_watching(8) == [] and not dormant


@pytest.mark.parametrize("restart", [False, True], ids=["running", "after-restart"])
async def test_a_watched_job_read_back_from_the_store_still_wakes_its_watchers(
    farm: Farm, restart: bool
) -> None:
    sup = farm.open()
    a, _, e = watcher_and_two_blocked(sup)
    (callback_id,) = held(sup, a.id)
    sup.control(OperatorAction.KILL, [e.id], [])
    assert sup.retire_finished_jobs() == 3  # a, c and e: nothing is in memory
    assert not sup.index.jobs and not sup.triggering.dormant
    if restart:
        sup = farm.restart()
        assert not sup.index.jobs and not sup.triggering.engine.callbacks
    # the retry reads e back, and with it who watches it: a, read back by e's first event
    sup.control(OperatorAction.RETRY, [e.id], [])
    assert e.id in sup.index.jobs and held(sup, a.id) == [callback_id]
    sup.control(OperatorAction.UNBLOCK, [e.id], [])  # submitted blocked, it is again
    run_all(sup, sup.register_worker("node2", Sink()))
    callback = sup.get_callback(callback_id)
    assert callback is not None and callback.fired == 1
    again = sup.get_job(a.id)
    assert again is not None and [w.attempts for w in again.work] == [2, 2]


async def test_nothing_is_held_for_a_retired_job_watching_a_retired_job(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node1", Sink())
    lead = sup.submit([frames_spec("1", label="lead")]).jobs[0]
    run_all(sup, worker)
    assert sup.retire_finished_jobs() == 1
    follow = sup.submit(
        [
            frames_spec(
                "1", label="follow", status=JobStatus.BLOCKED, dependency="link-complete-job-lead"
            )
        ],
        pgrp=lead.pgrp,
    ).jobs[0]
    assert sup.retire_finished_jobs() == 1  # the lead again, read back to resolve the trigger
    sup.control(OperatorAction.KILL, [follow.id], [])
    assert sup.retire_finished_jobs() == 1
    # the lead is not in memory: when it is read back it asks the store who watches it
    assert not sup.index.jobs and not sup.triggering.dormant
    assert held(sup, follow.id) == []
