"""Large Submits are written staged: in short transactions, invisible until one final commit.

A real supervisor over a real store (an SQLite file, then a PostgreSQL database).
``STAGE_ABOVE_ROWS`` and ``STAGE_CHUNK_ROWS`` are lowered so that a Submit of a few jobs is
staged in several chunks; the store's ``stage`` is wrapped to look (or act) between two chunks,
where the supervisor serves other requests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from latchwork.server import staging as staging_module
from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.model import JobSpec
from latchwork.server.core.states import WorkStatus
from latchwork.server.core.submission import SubmissionRejected
from latchwork.server.output import OutputStore
from latchwork.server.store.errors import StorageError, StorageFull
from latchwork.server.store.opening import is_postgres_url, open_store
from latchwork.server.store.protocol import Store
from latchwork.server.store.records import StagedChunk
from latchwork.server.supervisor import JobQuery, Supervisor

from .factories import frames_spec, table_rows

JOBS = 6
FRAMES = 20  # 6 jobs x (20 frames + 1 instance) = 126 rows: staged, in chunks of ~30 rows


@pytest.fixture(autouse=True)
def small_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staging_module, "STAGE_ABOVE_ROWS", 50)
    monkeypatch.setattr(staging_module, "STAGE_APART_ABOVE_ROWS", 50)
    monkeypatch.setattr(staging_module, "STAGE_CHUNK_ROWS", 30)


@pytest.fixture
def db_path(store_location: str | Path) -> str | Path:
    """The store's file or URL (both, through ``store_location``)."""
    return store_location


@pytest.fixture
def store(any_store: Store) -> Store:
    """The store at ``db_path`` (the fixtures of tests/unit/conftest.py)."""
    return any_store


@pytest.fixture
def sup(store: Store, tmp_path: Path) -> Supervisor:
    return Supervisor(store, OutputStore(tmp_path / "output"))


def big(label_prefix: str = "", **fields: object) -> list[JobSpec]:
    return [
        frames_spec(f"1-{FRAMES}", label=f"{label_prefix}{i}" if label_prefix else "", **fields)
        for i in range(JOBS)
    ]


def rows(db_path: str | Path) -> dict[str, int]:
    """Rows in the store, staged or not, read over a connection of its own."""
    return table_rows(db_path, ("jobs", "work", "subjobs", "events", "submissions", "callbacks"))


def between_chunks(store: Store, act: Callable[[int], None]) -> list[int]:
    """Call ``act(chunk number)`` on the event loop after each staged chunk is committed
    (PostgreSQL's are staged from a thread, which waits meanwhile); returns the numbers."""
    stage = store.stage
    loop = asyncio.get_running_loop()
    seen: list[int] = []

    def staging(chunk: StagedChunk) -> None:
        stage(chunk)
        seen.append(len(seen) + 1)
        if threading.current_thread() is threading.main_thread():
            act(seen[-1])
        else:
            on_loop(loop, act, seen[-1])

    store.stage = staging  # type: ignore[method-assign]
    return seen


def on_loop(loop: asyncio.AbstractEventLoop, act: Callable[[int], None], number: int) -> None:
    """Run ``act(number)`` on ``loop`` from another thread and wait; raise what it raised."""
    done: concurrent.futures.Future[None] = concurrent.futures.Future()

    def run() -> None:
        try:
            act(number)
        except BaseException as error:  # (Died too: it stands for kill -9)
            done.set_exception(error)
        else:
            done.set_result(None)

    loop.call_soon_threadsafe(run)
    done.result(30)


async def settle() -> None:
    """Let the tasks a failed Submit leaves (deleting its staged rows) finish."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_staged_rows_are_invisible_until_the_final_commit(
    sup: Supervisor, store: Store, db_path: str | Path
) -> None:
    leader = (await sup.submit_async([frames_spec("1", label="lead")])).jobs[0]
    head = sup.event_log.head_seq
    looks: list[tuple[int, int, int, int, int]] = []

    def look(number: int) -> None:
        in_file = rows(db_path)
        looks.append(
            (
                in_file["jobs"],
                len(sup.list_jobs(JobQuery(limit=1000))),
                sum(sup.get_job(leader.id + 1 + i) is not None for i in range(JOBS)),
                len(store.load().jobs),
                sup.event_log.head_seq - head,
            )
        )

    chunks = between_chunks(store, look)
    result = await sup.submit_async(big(), pgrp=leader.pgrp)
    assert len(chunks) >= 3, "the Submit was not written in several chunks"
    # In the file more and more jobs; visible: only the leader, no event, nothing loaded.
    assert [listed for _, listed, _, _, _ in looks] == [1] * len(chunks)
    assert [found for _, _, found, _, _ in looks] == [0] * len(chunks)
    assert [loaded for _, _, _, loaded, _ in looks] == [1] * len(chunks)
    assert [events for _, _, _, _, events in looks] == [0] * len(chunks)
    assert looks[-1][0] == 1 + JOBS
    # After it: every job visible, in memory, listed, loaded after a restart, with events.
    assert [job.id for job in result.jobs] == list(range(leader.id + 1, leader.id + 1 + JOBS))
    assert len(sup.list_jobs(JobQuery(limit=1000))) == 1 + JOBS
    assert sup.event_log.head_seq == head + JOBS
    reloaded = {job.id: job for job in store.load().jobs}
    for job in result.jobs:
        assert reloaded[job.id].label == job.label
        assert [w.name for w in reloaded[job.id].work] == [w.name for w in job.work]
        assert len(reloaded[job.id].subjobs) == len(job.subjobs)
    assert rows(db_path)["work"] == 1 + JOBS * FRAMES


async def test_a_dependency_holds_the_staged_work_as_it_would_in_one_piece(
    sup: Supervisor, store: Store
) -> None:
    leader = (await sup.submit_async([frames_spec("1-3", label="lead")])).jobs[0]
    result = await sup.submit_async(big(dependency="link-done-work-lead"), pgrp=leader.pgrp)
    held = {w.status for job in result.jobs for w in job.work}
    assert held == {WorkStatus.BLOCKED}
    reloaded = {job.id: job for job in store.load().jobs}
    assert {w.status for job in result.jobs for w in reloaded[job.id].work} == held
    assert [reloaded[j.id].status for j in result.jobs] == [j.status for j in result.jobs]
    assert len(sup.callbacks_of(result.jobs[0].id)) == 1


async def test_storage_refusing_while_staging_leaves_no_row_and_no_reservation(
    sup: Supervisor, store: Store, db_path: str | Path
) -> None:
    leader = (await sup.submit_async([frames_spec("1", label="lead")])).jobs[0]
    before = rows(db_path)

    def refuse(number: int) -> None:
        if number == 2:
            raise StorageFull("database or disk is full")

    between_chunks(store, refuse)
    with pytest.raises(StorageFull):
        await sup.submit_async(big("shot"), pgrp=leader.pgrp)
    # Held until the staged rows are deleted (they still carry the labels), then released.
    assert "shot0" in sup.labels_in_pgrp(leader.pgrp)
    await settle()
    assert rows(db_path) == before
    assert sup.labels_in_pgrp(leader.pgrp) == {"lead"}
    assert sup.list_jobs(JobQuery(limit=1000)) == [leader]
    # The labels are free again, and the store takes the same Submit once it can.
    store.stage = type(store).stage.__get__(store)  # type: ignore[method-assign]
    result = await sup.submit_async(big("shot"), pgrp=leader.pgrp)
    assert [job.label for job in result.jobs] == [f"shot{i}" for i in range(JOBS)]


async def test_the_final_commit_refused_leaves_no_row_and_no_reservation(
    sup: Supervisor, store: Store, db_path: str | Path
) -> None:
    leader = (await sup.submit_async([frames_spec("1", label="lead")])).jobs[0]
    before = rows(db_path)
    write, aside = store.write, store.aside_writes()

    def refusing_write(*args: object, **kwargs: object) -> None:
        raise StorageFull("database or disk is full")

    # The final commit: made at once (SQLite), or rendered to be sent aside (PostgreSQL).
    store.write = refusing_write  # type: ignore[method-assign]
    if aside is not None:
        render_write = aside.render_write
        aside.render_write = refusing_write  # type: ignore[method-assign]
    with pytest.raises(StorageFull):
        await sup.submit_async(big("shot"), pgrp=leader.pgrp, request_id="r1", digest="d")
    assert "shot0" in sup.labels_in_pgrp(leader.pgrp)
    await settle()
    store.write = write  # type: ignore[method-assign]
    if aside is not None:
        aside.render_write = render_write  # type: ignore[method-assign]
    assert rows(db_path) == before
    assert sup.labels_in_pgrp(leader.pgrp) == {"lead"}
    result = await sup.submit_async(big("shot"), pgrp=leader.pgrp, request_id="r1", digest="d")
    assert len(result.jobs) == JOBS


async def test_the_checks_again_at_the_end_refuse_a_parent_removed_meanwhile(
    sup: Supervisor, store: Store, db_path: str | Path
) -> None:
    parent = (await sup.submit_async([frames_spec("1", label="root")])).jobs[0]
    before = rows(db_path)

    def remove_parent(number: int) -> None:
        if number == 1:
            sup.control(OperatorAction.REMOVE, [parent.id], [])

    between_chunks(store, remove_parent)
    with pytest.raises(SubmissionRejected) as refused:
        await sup.submit_async(big(pid=parent.id))
    await settle()
    assert {e.path for e in refused.value.errors} == {f"jobs[{i}].pid" for i in range(JOBS)}
    after = rows(db_path)
    assert (after["jobs"], after["work"], after["subjobs"]) == (
        before["jobs"],
        before["work"],
        before["subjobs"],
    )


async def test_a_crash_while_staging_is_cleaned_at_the_next_start(
    db_path: str | Path, tmp_path: Path
) -> None:
    store = open_store(db_path)
    sup = Supervisor(store, OutputStore(tmp_path / "output"))
    kept = (await sup.submit_async([frames_spec("1-3", label="kept")])).jobs[0]

    class Died(BaseException):
        """Stands for kill -9: nothing after it runs (no cleanup task gets to run)."""

    def die(number: int) -> None:
        if number == 2:
            raise Died

    between_chunks(store, die)
    with pytest.raises(Died):
        await sup.submit_async(big("shot"), pgrp=kept.pgrp)
    for cleanup in sup._submissions._stager._cleanups:  # noqa: SLF001  (it never gets to run: the process died)
        cleanup.cancel()
    store.close()  # before the deleting task could run: the staged rows stay in the file
    assert rows(db_path)["jobs"] > 1

    restarted = open_store(db_path)
    try:
        assert restarted.leftover_staged > 0
        assert rows(db_path)["jobs"] == 1
        assert rows(db_path)["work"] == 3
        assert rows(db_path)["subjobs"] == 1
        again = Supervisor(restarted, OutputStore(tmp_path / "output"))
        assert [job.id for job in again.list_jobs(JobQuery())] == [kept.id]
        result = await again.submit_async(big("shot"), pgrp=kept.pgrp)
        assert len(result.jobs) == JOBS
    finally:
        restarted.close()


async def test_a_label_taken_by_a_submit_being_staged_is_refused_to_another(
    sup: Supervisor, store: Store
) -> None:
    leader = (await sup.submit_async([frames_spec("1", label="lead")])).jobs[0]
    rivals: list[asyncio.Task[object]] = []

    def rival(number: int) -> None:
        if number == 1:  # a small Submit of the same label, served while the big one stages
            rivals.append(
                asyncio.ensure_future(
                    sup.submit_async([frames_spec("1", label="shot3")], pgrp=leader.pgrp)
                )
            )

    between_chunks(store, rival)
    result = await sup.submit_async(big("shot"), pgrp=leader.pgrp)
    with pytest.raises(SubmissionRejected) as refused:
        await rivals[0]
    assert [e.path for e in refused.value.errors] == ["jobs[0].label"]
    assert sup.job_by_label(leader.pgrp, "shot3") is result.jobs[3]
    labels = [job.label for job in store.load().jobs if job.pgrp == leader.pgrp]
    assert sorted(labels) == sorted(["lead", *(f"shot{i}" for i in range(JOBS))])


async def test_two_large_submits_of_one_label_at_once_one_wins(
    sup: Supervisor, store: Store
) -> None:
    leader = (await sup.submit_async([frames_spec("1", label="lead")])).jobs[0]
    outcomes = await asyncio.gather(
        sup.submit_async(big("shot"), pgrp=leader.pgrp),
        sup.submit_async(big("shot"), pgrp=leader.pgrp),
        return_exceptions=True,
    )
    await settle()
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], SubmissionRejected)
    assert len(store.load().jobs) == 1 + JOBS
    assert sup.labels_in_pgrp(leader.pgrp) == {"lead", *(f"shot{i}" for i in range(JOBS))}


async def test_an_idempotent_retry_while_staging_gives_the_one_copy(
    sup: Supervisor, store: Store, db_path: str | Path
) -> None:
    retries: list[asyncio.Task[object]] = []

    def retry(number: int) -> None:
        if number == 1:
            retries.append(
                asyncio.ensure_future(sup.submit_async(big(), request_id="once", digest="d"))
            )

    between_chunks(store, retry)
    first = await sup.submit_async(big(), request_id="once", digest="d")
    second = await retries[0]
    assert [job.id for job in second.jobs] == [job.id for job in first.jobs]  # type: ignore[attr-defined]
    assert rows(db_path)["jobs"] == JOBS
    assert rows(db_path)["submissions"] == 1
    # And a retry arriving after it is answered from the record, as before.
    third = await sup.submit_async(big(), request_id="once", digest="d")
    assert [job.id for job in third.jobs] == [job.id for job in first.jobs]


def _unlist_staged(location: str | Path, job_id: int) -> None:
    """Take ``job_id`` off the staged list behind the store's back (its rows stay)."""
    if isinstance(location, str) and is_postgres_url(location):
        with psycopg.connect(location, autocommit=True) as pg:
            pg.execute("DELETE FROM staged_jobs WHERE id = %s", (job_id,))
        return
    with contextlib.closing(sqlite3.connect(location, isolation_level=None)) as db:
        db.execute("DELETE FROM staged_jobs WHERE id = ?", (job_id,))


async def test_a_staged_job_gone_before_the_final_commit_fails_it(
    sup: Supervisor, store: Store, db_path: str | Path
) -> None:
    """The final commit checks that every staged job is still listed: on PostgreSQL in SQL
    (its statements are sent in one batch, none read before the end), on SQLite by the
    DELETE's row count. The Submit fails and publishes nothing; its other rows are deleted."""
    leader = (await sup.submit_async([frames_spec("1", label="lead")])).jobs[0]
    head = sup.event_log.head_seq

    def unlist(number: int) -> None:
        if number == 1:
            _unlist_staged(db_path, leader.id + 1)

    between_chunks(store, unlist)
    with pytest.raises((RuntimeError, StorageError)):
        await sup.submit_async(big("shot"), pgrp=leader.pgrp)
    await settle()
    assert sup.event_log.head_seq == head
    # The job taken off the list behind the store's back is a plain row now (loaded when the
    # model was taken back from the store); none of the Submit's other jobs is.
    listed = [job.id for job in sup.list_jobs(JobQuery(limit=1000))]
    assert listed == [leader.id + 1, leader.id]
    assert table_rows(db_path, ("staged_jobs",)) == {"staged_jobs": 0}
    assert sup.labels_in_pgrp(leader.pgrp) == {"lead", "shot0"}
