"""A Submit on PostgreSQL is committed aside (``Submissions._apply``): stored before it
answers, as on SQLite, but the loop serves other requests during its round trip. Copies of
one request id take turns (``request_turns``), and the request id is looked up off the loop,
on a connection of the store's own (``PostgresStore.find_submission``).

Against the real stores; what differs between them is said where it does."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import psycopg
import pytest

from latchwork.server.core.model import Job
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.queries import JobQuery
from latchwork.server.staging import SubmitResult
from latchwork.server.store.errors import StorageError
from latchwork.server.submissions import RequestConflict
from latchwork.server.supervisor import Supervisor
from latchwork.server.work_leasing import EndedRun

from .factories import Farm, Sink, frames_spec, gapless_seqs


def _aside(sup: Supervisor) -> bool:
    """Whether this supervisor's commits wait for round trips (PostgreSQL)."""
    return not sup.store.aside_writes().gathers  # type: ignore[union-attr]


def _jobs(sup: Supervisor) -> list[Job]:
    return sorted(sup.list_jobs(JobQuery()), key=lambda job: job.id)


async def test_a_submit_is_stored_when_it_answers_and_its_seq_is_its_own(farm: Farm) -> None:
    sup = farm.open()
    sizes = farm.count_sends()
    result = await sup.submit_async(
        [frames_spec(label="a"), frames_spec(label="b")],
        user="alice",
        request_id="r1",
        digest="d1",
    )
    # PostgreSQL: one write sent aside; SQLite: committed at once, as before.
    assert sizes == ([1] if _aside(sup) else [])
    events = sup.event_log.read(0, 10_000)
    own = [e for e in events if e.job_id in {job.id for job in result.jobs}]
    assert own and result.seq == own[-1].seq
    seqs = gapless_seqs(sup)
    restarted = farm.restart()
    assert [e.seq for e in restarted.event_log.read(0, 10_000)] == seqs
    again = await restarted.submit_async(
        [frames_spec(label="a"), frames_spec(label="b")],
        user="alice",
        request_id="r1",
        digest="d1",
    )
    assert [j.id for j in again.jobs] == [j.id for j in result.jobs]
    assert again.seq == result.seq


async def test_copies_of_one_request_sent_at_once_apply_it_once(farm: Farm) -> None:
    """A client's retries, arriving while the first copy is still being checked or on its
    way to the store: each answers with the first copy's jobs; one with another digest is
    refused."""
    sup = farm.open()

    copies = [
        sup.submit_async([frames_spec(label="shot")], user="alice", request_id="r", digest=d)
        for d in ("d", "d", "other", "d")
    ]
    first, second, conflict, fourth = await asyncio.gather(*copies, return_exceptions=True)
    assert isinstance(conflict, RequestConflict)
    answers = [a for a in (first, second, fourth) if isinstance(a, SubmitResult)]
    assert len(answers) == 3
    ids = {tuple(j.id for j in answer.jobs) for answer in answers}
    assert len(ids) == 1
    assert len(_jobs(sup)) == 1
    restarted = farm.restart()
    assert len(_jobs(restarted)) == 1


async def test_a_submit_sent_while_reports_are_in_flight_lands_after_them(farm: Farm) -> None:
    """The Submit does not first land the writes in flight (it queues behind them): the
    events stay one gapless sequence, in the order the writes were made."""
    sup = farm.open()
    running = sup.submit([frames_spec("1", label=f"r{n}") for n in range(4)], user="alice").jobs
    worker = sup.register_worker("node1", Sink())
    grants = sup.lease(worker, 4)
    assert len(grants) == 4
    reports = [
        sup.report_many_and_lease_aside(
            [EndedRun(grant.lease_id, WorkOutcome.EXITED)], worker_id=worker, max_leases=0
        )
        for grant in grants
    ]
    submitted = asyncio.ensure_future(sup.submit_async([frames_spec(label="next")], user="alice"))
    await asyncio.gather(*reports)
    result = await submitted
    assert {sup.get_job(job.id).status.name for job in running} == {"COMPLETE"}  # type: ignore[union-attr]
    seqs = gapless_seqs(sup)
    assert result.seq <= seqs[-1]
    restarted = farm.restart()
    assert [e.seq for e in restarted.event_log.read(0, 10_000)] == seqs
    assert [j.label for j in _jobs(restarted)] == ["r0", "r1", "r2", "r3", "next"]


async def test_a_submit_postgresql_refuses_is_not_applied_and_can_be_sent_again(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL's only (SQLite commits a Submit at once, as before). The store refuses the
    write sent aside (a trigger of the test's, a real error of PostgreSQL's): the Submit
    fails, nothing of it is left in memory nor published, its request id is not used up."""
    farm = Farm(tmp_path, location=postgres_url)
    try:
        sup = farm.open()
        before = gapless_seqs(sup)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
            )
            admin.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON submissions "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
            with pytest.raises(StorageError, match="refused by the test"):
                await sup.submit_async([frames_spec(label="a")], request_id="r", digest="d")
            assert _jobs(sup) == [] and gapless_seqs(sup) == before
            admin.execute("DROP TRIGGER refuse ON submissions")
        result = await sup.submit_async([frames_spec(label="a")], request_id="r", digest="d")
        assert [j.label for j in _jobs(sup)] == ["a"]
        restarted = farm.restart()
        assert [j.id for j in _jobs(restarted)] == [j.id for j in result.jobs]
    finally:
        farm.close()


async def test_postgresql_looks_a_request_id_up_without_waiting_for_the_write_in_flight(
    postgres_url: str, tmp_path: Path
) -> None:
    """``find_submission`` reads on a connection of its own, from a thread: the write in
    flight on the loop's connection is not waited for (its answer is not even read)."""
    farm = Farm(tmp_path, location=postgres_url)
    try:
        sup = farm.open()
        stored = await sup.submit_async([frames_spec("1", label="a")], request_id="r", digest="d")
        worker = sup.register_worker("node1", Sink())
        [grant] = sup.lease(worker, 1)
        pg = sup.store._pg  # type: ignore[attr-defined]  # noqa: SLF001
        with psycopg.connect(postgres_url) as admin:
            # The report's write waits for this lock: it stays in flight until it is let go.
            admin.execute("LOCK TABLE work IN EXCLUSIVE MODE")
            in_flight = asyncio.ensure_future(
                sup.report_many_and_lease_aside(
                    [EndedRun(grant.lease_id, WorkOutcome.EXITED)], worker_id=worker, max_leases=0
                )
            )
            while pg.in_flight is None:
                await asyncio.sleep(0.001)
            found: list[object] = []
            # A thread joined on the loop: the loop cannot read the answer meanwhile.
            reader = threading.Thread(target=lambda: found.append(sup.store.find_submission("r")))
            reader.start()
            reader.join(10)
            assert pg.in_flight is not None  # not waited for by the read
            [submission] = found
            assert submission.job_ids == [j.id for j in stored.jobs]  # type: ignore[attr-defined]
        await in_flight
        assert sup.get_job(stored.jobs[0].id).status.name == "COMPLETE"  # type: ignore[union-attr]
    finally:
        farm.close()
