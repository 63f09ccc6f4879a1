"""A qube callback fired by a worker's report sent aside is committed aside too, where a
commit waits for a round trip (PostgreSQL; ``CommitPipeline.commit_soon``), and at once on
SQLite, or when what fired it was committed at once (an operator's action answers only once
its callbacks are stored).

Against the real stores: the dependent is released, its events published only once stored
and gapless, the run recorded once; a run whose end PostgreSQL refuses is pending again, the
model is the store's, and it runs again once the store takes it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psycopg
import pytest

from latchwork.server import callback_runs
from latchwork.server.core.model import Job
from latchwork.server.core.runs import CallbackRunOutcome
from latchwork.server.core.states import JobStatus
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.supervisor import Supervisor
from latchwork.server.work_leasing import EndedRun

from .factories import Farm, Sink, frames_spec, gapless_seqs


def _follower(sup: Supervisor) -> Job:
    """A job released when the job "lead" (one frame, submitted first) completes."""
    lead = sup.submit([frames_spec("1", label="lead")], user="alice").jobs[0]
    follow = sup.submit(
        [frames_spec("1", label="follow", dependency="link-complete-job-lead")],
        pgrp=lead.pgrp,
        user="alice",
    ).jobs[0]
    return follow


def _unblocked(sup: Supervisor, job: Job) -> list[int]:
    """The seqs of ``job``'s ``unblocked`` events published so far."""
    return [
        e.seq for e in sup.event_log.read(0, 10_000) if e.job_id == job.id and e.name == "unblocked"
    ]


async def _until(condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def test_a_callback_fired_by_a_report_sent_aside_follows_it(farm: Farm) -> None:
    sup = farm.open()
    follow = _follower(sup)
    worker = sup.register_worker("node1", Sink())
    [grant] = sup.lease(worker, 1)
    sizes = farm.count_sends()
    reports = [EndedRun(grant.lease_id, WorkOutcome.EXITED)]
    await sup.report_many_and_lease_aside(reports, worker_id=worker, max_leases=0)
    aside = not sup.store.aside_writes().gathers  # type: ignore[union-attr]
    if aside:
        # PostgreSQL: the report landed and ran the callback, whose end was sent aside in
        # turn: released in memory at once, its events published once stored.
        assert sizes == [1, 1]
    else:
        # SQLite: the callback's end committed at once, within the report's landing.
        assert sizes == [1] and _unblocked(sup, follow)
    await _until(lambda: _unblocked(sup, follow))
    assert sup.get_job(follow.id).status is JobStatus.PENDING  # type: ignore[union-attr]
    seqs = gapless_seqs(sup)
    restarted = farm.restart()
    assert [e.seq for e in restarted.event_log.read(0, 10_000)] == seqs
    assert restarted.get_job(follow.id).status is JobStatus.PENDING  # type: ignore[union-attr]
    [run] = restarted.list_runs(job_id=follow.id)
    assert run.done and run.outcome == CallbackRunOutcome.OK


async def test_a_release_goes_in_the_group_right_after_the_report_that_fired_it(
    farm: Farm,
) -> None:
    """Another worker's report waits behind the one in flight that fires a callback: the
    next group holds it and the callback's end together (``CommitQueue.put(fires=...)``),
    so the release is stored one round trip after the report, not two."""
    sup = farm.open()
    follow = _follower(sup)
    other = sup.submit([frames_spec("1", label="other")], user="bob").jobs[0]
    first, second = (sup.register_worker(f"node{n}", Sink()) for n in (1, 2))
    [lead_grant] = sup.lease(first, 1)
    [other_grant] = sup.lease(second, 1)
    assert other_grant.job_id == other.id
    sizes = farm.count_sends()
    reports = [
        sup.report_many_and_lease_aside(
            [EndedRun(grant.lease_id, WorkOutcome.EXITED)], worker_id=worker, max_leases=0
        )
        for grant, worker in ((lead_grant, first), (other_grant, second))
    ]
    await asyncio.gather(*reports)
    await _until(lambda: _unblocked(sup, follow))
    aside = not sup.store.aside_writes().gathers  # type: ignore[union-attr]
    # PostgreSQL: the lead's report, then the other report with the release. SQLite: both
    # reports of the turn in one group, the release committed at once in its landing.
    assert sizes == ([1, 2] if aside else [2])
    gapless_seqs(sup)


async def test_a_callback_fired_by_a_commit_made_at_once_is_stored_before_it_returns(
    farm: Farm,
) -> None:
    """A report made at once (``Supervisor.report``, as the CLI's and the tests' own) runs its
    callbacks' commits at once too: when it returns, the follower's release is stored."""
    sup = farm.open()
    follow = _follower(sup)
    worker = sup.register_worker("node1", Sink())
    [grant] = sup.lease(worker, 1)
    sizes = farm.count_sends()
    assert sup.report(grant.lease_id, WorkOutcome.EXITED)
    assert sizes == [] and len(_unblocked(sup, follow)) == 1  # committed at once, published
    gapless_seqs(sup)


async def test_a_callback_end_postgresql_refuses_runs_again_once_it_can(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's only (SQLite commits a callback's end at once, as before). The store
    refuses the run's end (a trigger of the test's, a real error of PostgreSQL's)."""
    monkeypatch.setattr(callback_runs, "STORAGE_RETRY_SECONDS", 0.05)
    farm = Farm(tmp_path, location=postgres_url)
    try:
        sup = farm.open()
        follow = _follower(sup)
        worker = sup.register_worker("node1", Sink())
        [grant] = sup.lease(worker, 1)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
            )
            admin.execute(
                "CREATE TRIGGER refuse BEFORE UPDATE ON callback_runs "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
            reports = [EndedRun(grant.lease_id, WorkOutcome.EXITED)]
            await sup.report_many_and_lease_aside(reports, worker_id=worker, max_leases=0)
            # The run's end, sent aside, fails: the model is the store's again (the follower
            # still blocked), nothing of it published, and the run is pending again.
            await _until(lambda: sup.get_job(follow.id).status is JobStatus.BLOCKED)  # type: ignore[union-attr]
            await asyncio.sleep(0.2)  # (it is tried again meanwhile, and refused again)
            assert _unblocked(sup, follow) == []
            assert not sup.list_runs(job_id=follow.id)[0].done
            admin.execute("DROP TRIGGER refuse ON callback_runs")
        await _until(lambda: _unblocked(sup, follow))
        assert len(_unblocked(sup, follow)) == 1
        seqs = gapless_seqs(sup)
        restarted = farm.restart()
        assert [e.seq for e in restarted.event_log.read(0, 10_000)] == seqs
        [run] = restarted.list_runs(job_id=follow.id)
        assert run.done and run.outcome == CallbackRunOutcome.OK
        assert restarted.get_job(follow.id).status is JobStatus.PENDING  # type: ignore[union-attr]
    finally:
        farm.close()
