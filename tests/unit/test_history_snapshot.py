"""A Subscribe's snapshot and a listing read the retired jobs in a thread, on the store's
reader connection, while the event loop goes on (api/snapshot_jobs.py, retired_jobs.py).

A snapshot must still be every job as it was at its seq, whatever the loop does meanwhile: a
retired job read back and changed, a new job, a large Submit whose ids were taken before
the snapshot and whose jobs become visible after it. The store's read is held in its thread
(a gate) while the test changes things on the loop, which also shows the loop was free. On
SQLite and PostgreSQL (the ``farm`` fixture).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from latchwork.server import queries
from latchwork.server import staging as staging_module
from latchwork.server.api import convert
from latchwork.server.api.snapshot_jobs import snapshot_jobs
from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.model import Job
from latchwork.server.core.states import JobStatus
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.queries import JobQuery
from latchwork.server.retired_jobs import Narrowing
from latchwork.server.store.errors import StorageUnavailable
from latchwork.server.store.history import JobsWhere
from latchwork.server.supervisor import Supervisor
from latchwork.v1 import job_pb2

from .factories import Farm, Sink, TickingClock, frames_spec


@pytest.fixture
def farm(tmp_path: Path, store_location: str | Path) -> Iterator[Farm]:
    """Supervisors that retire a finished job at the first chance."""
    farm = Farm(tmp_path, TickingClock(), location=store_location, keep_finished_seconds=0.0)
    yield farm
    farm.close()


class Gate:
    """Holds the store's reads of the history (in their thread) until opened."""

    def __init__(self, sup: Supervisor, method: str) -> None:
        self.entered = threading.Event()
        self._open = threading.Event()
        self.calls = 0
        read = getattr(sup.store, method)

        def gated(*args: Any) -> Any:
            self.calls += 1
            self.entered.set()
            assert self._open.wait(30), "the gate was never opened"
            return read(*args)

        setattr(sup.store, method, gated)

    async def reached(self) -> None:
        """Wait, on the loop, until a read is held at the gate."""
        for _ in range(3000):
            if self.entered.is_set():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("no read reached the gate")

    def open(self) -> None:
        self._open.set()


def encoded(job: Job | job_pb2.Job) -> tuple[int, bytes]:
    message = convert.job_to_pb(job) if isinstance(job, Job) else job
    return message.id, message.SerializeToString(deterministic=True)


def finish(sup: Supervisor, worker: str, exit_code: int) -> None:
    while grants := sup.lease(worker, 50):
        for grant in grants:
            sup.report(grant.lease_id, WorkOutcome.EXITED, exit_code)


def a_history(sup: Supervisor) -> tuple[list[Job], list[Job]]:
    """Six retired jobs (three failed, three complete) and two live ones (blocked)."""
    worker = sup.register_worker("w1", Sink())
    retired: list[Job] = []
    for n in range(6):
        retired += sup.submit([frames_spec("1-3", name=f"old{n}")], user="alice").jobs
        finish(sup, worker, exit_code=n % 2)
    live = sup.submit(
        [frames_spec("1-2", name=f"live{n}", status=JobStatus.BLOCKED) for n in range(2)]
    ).jobs
    sup.retire_finished_jobs()
    assert not any(job.id in sup.index.jobs for job in retired)
    return retired, live


async def first_and_rest(
    jobs: AsyncGenerator[job_pb2.Job, None], while_held: Callable[[], Any], gate: Gate
) -> list[job_pb2.Job]:
    """Start the snapshot (it opens, and its first read waits at the gate), run
    ``while_held`` on the loop, open the gate, and read the snapshot through."""
    first = asyncio.ensure_future(jobs.__anext__())
    await gate.reached()
    result = while_held()
    if asyncio.iscoroutine(result):
        await result
    gate.open()
    return [await first] + [job async for job in jobs]


async def test_a_snapshot_is_the_state_at_its_opening_while_the_loop_goes_on(farm: Farm) -> None:
    sup = farm.open()
    retired, live = a_history(sup)
    failed = next(job for job in retired if job.status is JobStatus.FAILED)
    complete = next(job for job in retired if job.status is JobStatus.COMPLETE)
    expected = dict(encoded(job) for job in sup.index.all_jobs())
    gate = Gate(sup, "read_jobs_after")
    changed: dict[str, Any] = {}

    def meanwhile() -> None:
        # Each of these reads a retired job back into memory and changes it, or adds a job.
        sup.control(OperatorAction.RETRY, [failed.id], [])
        sup.control(OperatorAction.REMOVE, [complete.id], [])
        sup.control(OperatorAction.UNBLOCK, [live[0].id], [])
        changed["new"] = sup.submit([frames_spec("1", name="newer")]).jobs[0].id
        sup.retire_finished_jobs()  # (the removed one leaves memory again)

    got = await first_and_rest(snapshot_jobs(sup, lambda _job: True), meanwhile, gate)

    assert dict(encoded(job) for job in got) == expected
    assert [job.id for job in got] == sorted(expected)
    # The changes were made, and the stream after the snapshot's seq carries them.
    assert sup.get_job(failed.id).status is not JobStatus.FAILED  # type: ignore[union-attr]
    assert changed["new"] not in expected


async def test_a_snapshot_keeps_only_the_jobs_its_caller_wants(farm: Farm) -> None:
    sup = farm.open()
    a_history(sup)
    gate = Gate(sup, "read_jobs_after")
    gate.open()
    wanted = [job for job in sup.index.all_jobs() if job.user == "alice"]
    assert 0 < len(wanted) < len(sup.index.all_jobs())
    got = [job async for job in snapshot_jobs(sup, lambda job: job.user == "alice")]
    assert [encoded(job) for job in got] == [encoded(job) for job in wanted]


async def test_a_large_submit_made_visible_during_a_snapshot_is_left_out(
    farm: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging_module, "STAGE_ABOVE_ROWS", 50)
    monkeypatch.setattr(staging_module, "STAGE_APART_ABOVE_ROWS", 50)
    monkeypatch.setattr(staging_module, "STAGE_CHUNK_ROWS", 30)
    sup = farm.open()
    a_history(sup)
    expected = dict(encoded(job) for job in sup.index.all_jobs())
    gate = Gate(sup, "read_jobs_after")
    opened_at: list[int] = []
    store: Any = sup.store
    stage = store.stage
    jobs = snapshot_jobs(sup, lambda _job: True)
    loop = asyncio.get_running_loop()
    first: list[asyncio.Future[job_pb2.Job]] = []

    def staging(chunk: Any) -> None:
        stage(chunk)
        if not first:  # after the first chunk: the ids are taken, the rows invisible
            loop.call_soon_threadsafe(lambda: first.append(asyncio.ensure_future(opening())))

    async def opening() -> job_pb2.Job:
        opened_at.append(sup.event_log.head_seq)
        return await jobs.__anext__()

    store.stage = staging
    specs = [frames_spec("1-20", name=f"big{n}") for n in range(6)]
    result = await sup.submit_async(specs)
    assert first, "the Submit was not staged"
    await gate.reached()
    assert opened_at[0] < result.seq  # the snapshot opened while the Submit was staged
    assert max(job.id for job in result.jobs) <= sup.index.next_job_id() - 1
    gate.open()
    got = [await first[0]] + [job async for job in jobs]
    assert dict(encoded(job) for job in got) == expected


async def test_a_snapshot_across_a_reload_is_given_up(
    farm: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    sup = farm.open()
    _, live = a_history(sup)
    gate = Gate(sup, "read_jobs_after")

    def full_disk(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    def failed_commit() -> None:
        monkeypatch.setattr(sup.store, "write", full_disk)
        with pytest.raises(sqlite3.OperationalError):
            sup.control(OperatorAction.UNBLOCK, [live[0].id], [])  # then the model reloads
        monkeypatch.undo()

    with pytest.raises(StorageUnavailable, match="subscribe again"):
        await first_and_rest(snapshot_jobs(sup, lambda _job: True), failed_commit, gate)


async def test_a_listing_reads_the_store_in_a_thread(farm: Farm) -> None:
    sup = farm.open()
    retired, _ = a_history(sup)
    queries = [JobQuery(limit=3), JobQuery(name_glob="old*", limit=10), JobQuery(limit=100)]
    expected = [[encoded(job) for job in sup.list_jobs(query)] for query in queries]
    assert any(len(page) > 3 for page in expected)
    gate = Gate(sup, "read_finished_page")
    pages = [asyncio.ensure_future(sup.list_jobs_aside(query)) for query in queries * 4]
    await gate.reached()
    # One read in a thread at a time; the others wait on the loop, not in the executor's
    # threads, which stay free for others.
    assert await asyncio.to_thread(lambda: "free") == "free"
    assert gate.calls == 1
    # The loop is free meanwhile: a retired job is read back (and stays as it was).
    assert sup.get_job(retired[0].id) is not None
    gate.open()
    answers = (await asyncio.gather(*pages))[: len(queries)]
    assert [[encoded(job) for job in page] for page in answers] == expected
    # A job read back while the page was read is memory's object.
    revived = sup.index.jobs[retired[0].id]
    assert any(job is revived for page in answers for job in page)


async def test_a_listing_looks_at_memory_a_slice_at_a_time(
    farm: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "LIST_SLICE", 2)
    sup = farm.open()
    a_history(sup)
    worker = sup.register_worker("w2", Sink())
    for n in range(6):  # finished, still in memory until the next pass
        sup.submit([frames_spec("1", name=f"recent{n}")], user="bob")
        finish(sup, worker, exit_code=0)
    sup.submit([frames_spec("1", name="pending")])
    asked = [JobQuery(limit=100), JobQuery(name_glob="recent*", limit=3), JobQuery(limit=4)]
    expected = [[job.id for job in sup.list_jobs(query)] for query in asked]
    # The same pages, looked at two jobs at a time.
    for query, ids in zip(asked, expected, strict=True):
        assert [job.id for job in await sup.list_jobs_aside(query)] == ids

    # Finished jobs leave memory between two slices: those looked at already and those not
    # yet are listed once each, from memory or from the store.
    listing = asyncio.ensure_future(sup.list_jobs_aside(JobQuery(limit=100)))
    await asyncio.sleep(0)  # the listing looked at its first slice, and let the loop go on
    assert not listing.done()
    assert sup.retire_finished_jobs() == 6
    assert [job.id for job in await listing] == expected[0]


async def test_a_snapshot_of_a_few_jobs_reads_only_those(farm: Farm) -> None:
    sup = farm.open()
    retired, live = a_history(sup)
    asked = frozenset({retired[0].id, retired[3].id, live[1].id, 10**6})  # and no such job
    expected = [encoded(job) for job in sup.index.all_jobs() if job.id in asked]
    store: Any = sup.store
    by_id: list[list[int]] = []
    read_jobs = store.read_jobs

    def counted(ids: list[int]) -> list[Job]:
        by_id.append(list(ids))
        found: list[Job] = read_jobs(ids)
        return found

    store.read_jobs = counted
    store.read_jobs_after = None  # the whole history is not read at all

    got = snapshot_jobs(sup, lambda job: job.id in asked, Narrowing(asked))
    assert [encoded(job) async for job in got] == expected
    assert by_id == [[retired[0].id, retired[3].id]]  # the retired ones, by id


@pytest.mark.parametrize("field", ["pgrps", "labels", "users"])
async def test_a_snapshot_narrowed_by_group_label_or_user_reads_fewer_rows(
    farm: Farm, field: str
) -> None:
    sup = farm.open()
    a_history(sup)
    mine = sup.submit([frames_spec("1", name="mine", label="mine")], user="carol").jobs[0]
    sup.control(OperatorAction.KILL, [mine.id], [])
    sup.retire_finished_jobs()
    every: dict[str, set[object]] = {"pgrps": {mine.pgrp}, "labels": {"mine"}, "users": {"carol"}}
    values = every[field]
    where = where_of(field, values)

    def wanted(job: Job) -> bool:
        return {"pgrps": job.pgrp, "labels": job.label, "users": job.user}[field] in values

    every_job = sup.index.all_jobs()
    expected = [encoded(job) for job in every_job if wanted(job)]
    assert [job.id for job in every_job if wanted(job)] == [mine.id]
    store: Any = sup.store
    rows: list[int] = []
    read = store.read_jobs_after

    def counted(*args: Any) -> list[Job]:
        found: list[Job] = read(*args)
        rows.append(len(found))
        return found

    store.read_jobs_after = counted

    got = snapshot_jobs(sup, wanted, Narrowing(where=where))
    assert [encoded(job) async for job in got] == expected
    assert rows == [1]  # not the whole history

    # Too many values for one statement: not narrowed in SQL, the same answer.
    rows.clear()
    many = where_of(field, values | {str(n) if field != "pgrps" else n for n in range(1, 600)})
    got = snapshot_jobs(sup, wanted, Narrowing(where=many))
    assert [encoded(job) async for job in got] == expected
    assert rows == [len(every_job)]


def where_of(field: str, values: set[object]) -> JobsWhere:
    if field == "pgrps":
        return JobsWhere(pgrps=frozenset(int(str(value)) for value in values))
    if field == "labels":
        return JobsWhere(labels=frozenset(str(value) for value in values))
    return JobsWhere(users=frozenset(str(value) for value in values))


async def test_a_snapshot_with_nothing_to_read_in_the_store_waits_for_no_other_read(
    farm: Farm,
) -> None:
    sup = farm.open()
    _, live = a_history(sup)
    gate = Gate(sup, "read_finished_page")
    listing = asyncio.ensure_future(sup.list_jobs_aside(JobQuery(name_glob="old*")))
    await gate.reached()  # a long read holds the store's reader (and its turn)
    asked = frozenset({live[0].id})
    got = snapshot_jobs(sup, lambda job: job.id in asked, Narrowing(asked))
    assert [job.id async for job in got] == [live[0].id]
    assert not listing.done()
    gate.open()
    assert len(await listing) == 6
