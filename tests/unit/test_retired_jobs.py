"""Finished jobs leave memory and are read back from the store (issue 16, item 1): every read
answers as it did while they were held, totals stay true, a retired job can be acted on again,
and a restart loads only what is live. On SQLite and PostgreSQL (the ``farm`` fixture)."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from latchwork.server.api import convert
from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.errors import InvalidRequest
from latchwork.server.core.farm_summary import count_jobs
from latchwork.server.core.model import Job, JobSpec
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.submission import SubmissionRejected
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.core.visibility import ReadScope
from latchwork.server.queries import JobQuery
from latchwork.server.queries import list_jobs as queries_list_jobs
from latchwork.server.supervisor import Supervisor

from .factories import Farm, Sink, TickingClock, frames_spec


@pytest.fixture
def farm(tmp_path: Path, store_location: str | Path) -> Iterator[Farm]:
    """Supervisors that retire a finished job at the first chance (``keep_finished_seconds``
    0), on SQLite and on PostgreSQL; one clock for all, so a restart's is later."""
    farm = Farm(tmp_path, TickingClock(), location=store_location, keep_finished_seconds=0.0)
    yield farm
    farm.close()


def run_all(sup: Supervisor, worker: str, exit_code: int = 0) -> None:
    """Lease and finish every pending frame (each with ``exit_code``)."""
    while grants := sup.lease(worker, 50):
        for grant in grants:
            sup.report(grant.lease_id, WorkOutcome.EXITED, exit_code)


def pb(job: Job | None) -> bytes:
    assert job is not None
    return convert.job_to_pb(job).SerializeToString(deterministic=True)


def every_count(
    sup: Supervisor, user: str | None = None
) -> tuple[dict[JobStatus, int], dict[WorkStatus, int]]:
    """A fresh count over every job (``user``'s only, if given), retired ones read from the
    store."""
    jobs: Counter[JobStatus] = Counter()
    frames: Counter[WorkStatus] = Counter()
    count_jobs(sup.index.all_jobs(), ReadScope(user), jobs, frames)
    return {s: jobs[s] for s in JobStatus}, {s: frames[s] for s in WorkStatus}


def users_count(sup: Supervisor, user: str) -> tuple[dict[JobStatus, int], dict[WorkStatus, int]]:
    """A user's totals as the overview makes them: the retired ones kept, and a count of
    the user's jobs in memory."""
    jobs, frames = sup.retired_totals(ReadScope(user))
    count_jobs(sup.resident_jobs(), ReadScope(user), jobs, frames)
    return {s: jobs[s] for s in JobStatus}, {s: frames[s] for s in WorkStatus}


def kept(sup: Supervisor) -> tuple[dict[JobStatus, int], dict[WorkStatus, int]]:
    return dict(sup.farm_counts.jobs), dict(sup.farm_counts.frames)


def a_tree(sup: Supervisor, worker: str) -> list[Job]:
    """A process group of three (a parent and two children, labelled), all complete, and a
    blocked job of its own."""
    parent = sup.submit([frames_spec("1-2", label="comp", name="shot010 comp")]).jobs[0]
    children = sup.submit(
        [
            frames_spec("1-3", label="left", pid=parent.id, name="shot010 left"),
            frames_spec("1", label="right", pid=parent.id, name="shot010 right"),
        ],
        pgrp=parent.pgrp,
    ).jobs
    run_all(sup, worker)
    blocked = sup.submit([frames_spec("1-2", status=JobStatus.BLOCKED, name="later")]).jobs[0]
    return [parent, *children, blocked]


async def test_every_read_answers_the_same_once_jobs_retired(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node1", Sink())
    parent, left, right, blocked = a_tree(sup, worker)
    ids = [parent.id, left.id, right.id, blocked.id]
    before = {i: pb(sup.get_job(i)) for i in ids}
    listed = [job.id for job in sup.list_jobs(JobQuery(limit=10))]
    named = [job.id for job in sup.list_jobs(JobQuery(name_glob="shot010 *", limit=10))]
    counts = kept(sup)

    assert sup.retire_finished_jobs() == 3
    assert sorted(sup.index.jobs) == [blocked.id]  # only the live one is held
    assert kept(sup) == counts == every_count(sup)
    assert [job.id for job in sup.list_jobs(JobQuery(limit=10))] == listed
    assert [job.id for job in sup.list_jobs(JobQuery(name_glob="shot010 *", limit=10))] == named
    assert [pb(job) for job in sup.list_jobs(JobQuery(limit=10))] == [before[i] for i in listed]
    assert [job.id for job in sup.index.all_jobs()] == ids
    assert sup.labels_in_pgrp(parent.pgrp) == {"comp", "left", "right"}
    assert sup.pgrp_members(parent.pgrp) == [parent.id, left.id, right.id]
    assert sup.children_of(parent.id) == [left.id, right.id]
    assert sorted(sup.index.jobs) == [blocked.id]  # listings read, they do not revive

    found = sup.job_by_label(parent.pgrp, "left")  # a lookup revives the job
    assert found is not None and pb(found) == before[left.id]
    assert sorted(sup.index.jobs) == [left.id, blocked.id]
    assert [job.id for job in sup.subtree(parent.id)] == [parent.id, left.id, right.id]
    assert {i: pb(sup.get_job(i)) for i in ids} == before
    assert sup.get_job(blocked.id + 100) is None
    assert kept(sup) == counts == every_count(sup)
    # revived jobs retire again, and once more nothing moved
    assert sup.retire_finished_jobs() == 3
    assert kept(sup) == counts == every_count(sup)


async def test_list_pages_run_through_memory_and_store_alike(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node1", Sink())
    rng = random.Random(7)
    for n in range(40):
        status = JobStatus.BLOCKED if rng.random() < 0.4 else JobStatus.PENDING
        user = rng.choice(["alice", "bob"])
        sup.submit([frames_spec("1", name=f"job{n}", status=status)], user=user)
        if rng.random() < 0.5:
            run_all(sup, worker, exit_code=rng.choice([0, 1]))
            if rng.random() < 0.5:
                sup.retire_finished_jobs()
    queries = [
        JobQuery(limit=7),
        JobQuery(statuses=frozenset({JobStatus.COMPLETE}), limit=5),
        JobQuery(users=frozenset({"bob"}), name_glob="job[12]*", limit=3),
        JobQuery(name_glob="job?", limit=4),  # filtered in SQL first (schema 8's column)
        JobQuery(name_glob="*3", limit=2),
        JobQuery(statuses=frozenset({JobStatus.BLOCKED, JobStatus.FAILED}), limit=4),
    ]
    assert sup.index.retired.count > 0 and len(sup.index.jobs) < 40

    # What a supervisor holding every job would answer: the in-memory query over all of them.
    every = {job.id: job for job in sup.index.all_jobs()}

    def pages(list_jobs: Callable[[JobQuery], list[Job]], query: JobQuery) -> list[int]:
        ids: list[int] = []
        while True:
            found = list_jobs(query)
            ids += [job.id for job in found[: query.limit]]
            if len(found) <= query.limit:
                return ids
            query = replace(query, before_id=found[query.limit - 1].id)

    for query in queries:
        expected = pages(partial(queries_list_jobs, every), query)
        assert pages(sup.list_jobs, query) == expected, query
        assert expected  # each query selects something


async def test_a_retired_job_can_be_retried_and_runs_again(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node1", Sink())
    job = sup.submit([frames_spec("1-2", label="a")]).jobs[0]
    run_all(sup, worker, exit_code=1)
    assert sup.retire_finished_jobs() == 1
    results, _ = sup.control(OperatorAction.RETRY, [job.id], [])
    assert results[0].changed and results[0].job_status is JobStatus.PENDING
    run_all(sup, worker)
    again = sup.get_job(job.id)
    assert again is not None and again.status is JobStatus.COMPLETE
    assert [w.attempts for w in again.work] == [2, 2]
    assert kept(sup) == every_count(sup)


async def test_submitting_into_a_retired_group_sees_its_labels_and_parents(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node1", Sink())
    lead = sup.submit([frames_spec("1", label="lead")]).jobs[0]
    run_all(sup, worker)
    assert sup.retire_finished_jobs() == 1
    with pytest.raises(SubmissionRejected, match="lead"):
        sup.submit([frames_spec("1", label="lead")], pgrp=lead.pgrp)
    child = sup.submit(
        [frames_spec("1", label="next", pid=lead.id, dependency="link-complete-job-lead")],
        pgrp=lead.pgrp,
    ).jobs[0]
    # its dependency names a retired job that completed: caught up from the store at once
    assert child.status is JobStatus.PENDING
    assert sup.children_of(lead.id) == [child.id]


async def test_a_restart_loads_only_the_live_jobs(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node1", Sink())
    jobs = a_tree(sup, worker)
    running = sup.submit([frames_spec("1-2")]).jobs[0]
    sup.lease(worker, 1)  # one frame of it runs through the restart
    counts = kept(sup)
    listed = [pb(job) for job in sup.list_jobs(JobQuery(limit=10))]
    farm.close()

    again = farm.open()
    assert sorted(again.index.jobs) == [jobs[3].id, running.id]
    assert again.index.retired.count == 3
    assert kept(again) == counts == every_count(again)
    assert [pb(job) for job in again.list_jobs(JobQuery(limit=10))] == listed
    assert again.labels_in_pgrp(jobs[0].pgrp) == {"comp", "left", "right"}


async def test_totals_by_user_count_retired_jobs(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node1", Sink())
    sup.submit([frames_spec("1-3")], user="alice")
    sup.submit([frames_spec("1-2")], user="bob")
    run_all(sup, worker)
    sup.submit([JobSpec(cmdline="true", status=JobStatus.BLOCKED)], user="bob")
    sup.retire_finished_jobs()
    jobs, frames = sup.retired_totals(ReadScope("bob"))
    assert (jobs[JobStatus.COMPLETE], frames[WorkStatus.COMPLETE]) == (1, 2)
    jobs, frames = sup.retired_totals(None)
    assert (jobs[JobStatus.COMPLETE], frames[WorkStatus.COMPLETE]) == (2, 5)


async def test_totals_equal_a_fresh_count_as_jobs_retire_at_random(farm: Farm) -> None:
    sup = farm.open()
    rng = random.Random(16)
    worker = sup.register_worker("node1", Sink())
    leases: list[str] = []
    actions = list(OperatorAction)
    for step in range(300):
        roll = rng.random()
        job_ids = [job.id for job in sup.index.all_jobs() if not job.removed]
        if roll < 0.2 or not job_ids:
            spec = frames_spec(f"1-{rng.randint(1, 4)}", cpus=2, retry=rng.randint(0, 1))
            sup.submit([spec], user=rng.choice(["alice", "bob"]))
        elif roll < 0.4:
            leases += [grant.lease_id for grant in sup.lease(worker, rng.randint(1, 4))]
        elif roll < 0.6 and leases:
            sup.report(
                leases.pop(rng.randrange(len(leases))), WorkOutcome.EXITED, rng.choice([0, 1])
            )
        elif roll < 0.8:
            sup.retire_finished_jobs()
        else:
            with contextlib.suppress(InvalidRequest):  # an action that does not apply to it
                sup.control(rng.choice(actions), [rng.choice(job_ids)], [])
        assert kept(sup) == every_count(sup), f"step {step}"
        if step % 10 == 0:
            assert users_count(sup, "alice") == every_count(sup, "alice"), f"step {step}"
    totals = kept(sup)
    farm.close()
    again = farm.open()
    assert kept(again) == totals == every_count(again)


async def test_jobs_retire_oldest_finished_first_a_slice_at_a_time(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node1", Sink())
    jobs = [sup.submit([frames_spec("1", status=JobStatus.BLOCKED)]).jobs[0] for _ in range(5)]
    for job in reversed(jobs):  # finished last to first
        sup.control(OperatorAction.UNBLOCK, [job.id], [])
        run_all(sup, worker)
    # a job of one frame is 3 rows (the job, its work item, its instance): 2 jobs in 6 rows
    assert sup.retire_finished_jobs(6) == 2
    assert sorted(sup.index.jobs) == [jobs[0].id, jobs[1].id, jobs[2].id]
    sup.get_job(jobs[4].id)  # read again: its countdown starts over, last in line
    assert sup.retire_finished_jobs(1) == 1  # at least one job, whatever its size
    assert sup.retire_finished_jobs(6) == 2
    assert sorted(sup.index.jobs) == [jobs[4].id]
    assert sup.retire_finished_jobs() == 1 and not sup.index.jobs
