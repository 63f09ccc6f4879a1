"""A worker's reports committed aside (CommitPipeline.commit_aside): on PostgreSQL the round
trip leaves the event loop (server/commit_queue.py), on SQLite the reports of one turn of the
loop are gathered into one transaction.

Either way, against the real store (SQLite, then PostgreSQL): the answer waits for the
commit; events are published in seq order, gapless, only once stored; a synchronous commit
comes after those in flight; a failed send fails every report queued with it and the model is
taken back from the store, the leases still the workers' own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.leases import LeaseGrant
from latchwork.server.store.errors import StorageError, StorageUnavailable
from latchwork.server.supervisor import Supervisor
from latchwork.server.work_leasing import EndedRun

from ..pg_server import cut_sessions
from .factories import Farm, Sink, frames_spec


def _published(sup: Supervisor) -> list[int]:
    return [event.seq for event in sup.event_log.read(0, 100_000)]


def _workers(sup: Supervisor, count: int, slots: int) -> list[tuple[str, list[LeaseGrant]]]:
    workers = []
    for number in range(count):
        worker = sup.register_worker(f"node{number}", Sink())
        workers.append((worker, sup.lease(worker, slots)))
    return workers


async def _report(
    sup: Supervisor, worker: str, grants: list[LeaseGrant], max_leases: int = 0
) -> tuple[list[bool], list[LeaseGrant]]:
    reports = [EndedRun(g.lease_id, WorkOutcome.EXITED) for g in grants]
    return await sup.report_many_and_lease_aside(reports, worker_id=worker, max_leases=max_leases)


async def test_reports_of_many_workers_land_in_order_and_gapless(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1-40", cpus=8)], user="alice").jobs[0]
    workers = _workers(sup, 4, 2)
    sizes = farm.count_sends()
    answers = await asyncio.gather(
        *(_report(sup, worker, grants, max_leases=2) for worker, grants in workers)
    )
    assert all(accepted == [True, True] and len(new) == 2 for accepted, new in answers)
    # PostgreSQL: the first went alone, the three behind it as one transaction; SQLite: the
    # four of one turn of the loop gathered into one.
    assert sizes == ([4] if sup.store.aside_writes().gathers else [1, 3])  # type: ignore[union-attr]
    # Each answered only once stored: its leases ended, its next leases held.
    for (worker, _), (_, new) in zip(workers, answers, strict=True):
        assert sup.worker_leases(worker) == {g.lease_id for g in new}
    seqs = _published(sup)
    assert seqs == list(range(1, len(seqs) + 1)) and sup.store.head_seq == seqs[-1]
    restarted = farm.restart()
    assert _published(restarted) == seqs  # what was published is what was stored
    stored = restarted.get_job(job.id)
    assert stored is not None
    assert [w.status for w in stored.work].count(WorkStatus.COMPLETE) == 8


async def test_a_synchronous_commit_comes_after_those_in_flight(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1-4", cpus=2)], user="alice").jobs[0]
    other = sup.submit([frames_spec("1-2")], user="alice").jobs[0]
    [(worker, grants)] = _workers(sup, 1, 2)
    reported = asyncio.ensure_future(_report(sup, worker, grants))
    await asyncio.sleep(0)  # the report's transitions made, its write (maybe) in flight
    sup.control(OperatorAction.BLOCK, [other.id], [])  # lands the report first, then its own
    assert sup.worker_leases(worker) == set()  # the report landed (its leases released)
    assert (await reported)[0] == [True, True]
    seqs = _published(sup)
    assert seqs == list(range(1, len(seqs) + 1))
    blocked = [e.seq for e in sup.event_log.read(0, 1000) if e.job_id == other.id]
    done = [e.seq for e in sup.event_log.read(0, 1000) if e.job_id == job.id]
    assert max(done) < max(blocked)


async def test_a_failed_send_fails_its_reports_and_takes_the_model_back(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL's only: SQLite's commits are not sent aside."""
    farm = Farm(tmp_path, location=postgres_url)
    try:
        sup = farm.open()
        job = sup.submit([frames_spec("1-4", cpus=4)], user="alice").jobs[0]
        workers = _workers(sup, 2, 2)
        head = sup.store.head_seq
        cut_sessions(postgres_url)  # the connection is lost: the next send fails
        results = await asyncio.gather(
            *(_report(sup, worker, grants) for worker, grants in workers),
            return_exceptions=True,
        )
        assert all(isinstance(result, StorageUnavailable) for result in results)
        assert sup.store.head_seq == head and _published(sup)[-1] == head
        # The model is the store's again: every frame still running, each lease its worker's.
        reloaded = sup.get_job(job.id)
        assert reloaded is not None and reloaded.status is JobStatus.RUNNING
        assert all(w.status is WorkStatus.RUNNING for w in reloaded.work)
        for worker, grants in workers:
            assert sup.worker_leases(worker) == {g.lease_id for g in grants}
        # The workers report again: accepted, stored, and the sequence goes on without a gap.
        for worker, grants in workers:
            assert (await _report(sup, worker, grants))[0] == [True, True]
        seqs = _published(sup)
        assert seqs == list(range(1, len(seqs) + 1))
        assert sup.get_job(job.id).status is JobStatus.COMPLETE  # type: ignore[union-attr]
    finally:
        farm.close()


async def test_a_failed_group_on_sqlite_fails_its_reports_and_takes_the_model_back(
    tmp_path: Path,
) -> None:
    """SQLite's group of a turn's reports fails as one transaction (here refused by a
    trigger of the test's, a real error of SQLite's): every report of it fails, nothing of it
    is stored or published, the model is the store's again, and the reports go through once
    the store takes writes again."""
    farm = Farm(tmp_path)
    try:
        sup = farm.open()
        job = sup.submit([frames_spec("1-4", cpus=4)], user="alice").jobs[0]
        workers = _workers(sup, 2, 2)
        head = sup.store.head_seq
        sizes = farm.count_sends()
        sqlite: Any = farm.stores[-1]
        sqlite._sqlite.execute(  # noqa: SLF001
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
        results = await asyncio.gather(
            *(_report(sup, worker, grants) for worker, grants in workers),
            return_exceptions=True,
        )
        assert sizes == [2]
        assert all(isinstance(result, StorageError) for result in results), results
        assert "refused by the test" in str(results[0])
        assert sup.store.head_seq == head and _published(sup)[-1] == head
        reloaded = sup.get_job(job.id)
        assert reloaded is not None and all(w.status is WorkStatus.RUNNING for w in reloaded.work)
        for worker, grants in workers:
            assert sup.worker_leases(worker) == {g.lease_id for g in grants}
        sqlite._sqlite.execute("DROP TRIGGER refuse")  # noqa: SLF001
        for worker, grants in workers:
            assert (await _report(sup, worker, grants))[0] == [True, True]
        seqs = _published(sup)
        assert seqs == list(range(1, len(seqs) + 1))
        assert sup.get_job(job.id).status is JobStatus.COMPLETE  # type: ignore[union-attr]
        assert _published(farm.restart()) == seqs
    finally:
        farm.close()


async def test_a_read_of_the_store_waits_for_the_write_in_flight(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL's only: the connection answers one thing at a time, so a read made while a
    report's write travels first takes that write's answer; the queue hears of it and lands
    the report."""
    farm = Farm(tmp_path, location=postgres_url)
    try:
        sup = farm.open()
        job = sup.submit([frames_spec("1-2", cpus=2)], user="alice").jobs[0]
        [(worker, grants)] = _workers(sup, 1, 2)
        head = sup.event_log.head_seq
        reported = asyncio.ensure_future(_report(sup, worker, grants))
        await asyncio.sleep(0)  # its write sent, the answer not read yet
        assert sup.event_log.head_seq == head  # (so nothing of it is published)
        stored = sup.store.read_events(head, 100)
        assert {e.name for e in stored if e.job_id == job.id} >= {"complete"}
        assert (await reported)[0] == [True, True]
        assert sup.event_log.head_seq == stored[-1].seq
    finally:
        farm.close()


async def test_a_lease_waits_for_room_aside_and_is_answered_once_stored(farm: Farm) -> None:
    """LeaseWork's leases go through the queue as a report's do (``lease_aside``); a worker
    dropped while its request waited for room gets none (and no error)."""
    sup = farm.open()
    job = sup.submit([frames_spec("1-4", cpus=2)], user="alice").jobs[0]
    first = sup.register_worker("node1", Sink())
    second = sup.register_worker("node2", Sink())
    sizes = farm.count_sends()
    grants = await sup.lease_aside(first, 2)
    assert len(grants) == 2 and sup.worker_leases(first) == {g.lease_id for g in grants}
    assert sizes == [1]  # sent aside (gathered on SQLite), not committed at once
    leasing: Any = sup.lease_aside.__self__  # type: ignore[attr-defined]
    room = asyncio.Event()
    leasing._pipeline.room = room.wait  # noqa: SLF001  (a full queue: it waits for room)
    waiting = asyncio.ensure_future(sup.lease_aside(second, 2))
    await asyncio.sleep(0.01)
    sup.drop_worker(second, "lost")
    room.set()
    assert await waiting == []
    stored = farm.restart().get_job(job.id)
    assert stored is not None and [w.status for w in stored.work].count(WorkStatus.RUNNING) == 2
