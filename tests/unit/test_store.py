"""The store, on real SQLite files and real PostgreSQL databases (``store_location``: both).

What only SQLite has (its file, ``PRAGMA user_version``) is tested on SQLite alone here, and
PostgreSQL's own (its URL, its schema table, copying into it) in test_postgres_store.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from latchwork.server.core import transitions as t
from latchwork.server.core import verb_transitions as verbs
from latchwork.server.core.changes import Changes
from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.model import CallbackSpec, Job, JobSpec, Prototype, WorkItem, WorkSpec
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.store import SqliteStore
from latchwork.server.store.codec import decode_spec, encode_spec
from latchwork.server.store.errors import StorageError, StorageUnavailable
from latchwork.server.store.migrations import MIGRATIONS
from latchwork.server.store.opening import open_store
from latchwork.server.store.rows import work_from_row, work_row

from .factories import agenda_spec, frames_spec, new_job, start


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "latchwork.db"


def submitted(*jobs: Job, now: float = 1.0) -> Changes:
    changes = Changes(now=now)
    for job in jobs:
        t.submit(changes, job)
    return changes


def rich_spec() -> JobSpec:
    return JobSpec(
        name="shot010 comp",
        label="comp",
        pid=0,
        status=JobStatus.BLOCKED,
        prototype=Prototype.CMDRANGE,
        cmdline="nuke -x QB_FRAME_NUMBER",
        agenda=[WorkSpec("1-10"), WorkSpec("11-20", WorkStatus.BLOCKED)],
        cpus=2,
        priority=50,
        callbacks=[
            CallbackSpec(
                "complete-self",
                "python",
                "print('done')",
                max=2,
                catch_up=False,
                criteria={"status": "complete"},
                include_data=["shot"],
            )
        ],
        mailaddress="a@example.com",
        timeout=600,
        agenda_timeout=60,
        retry=3,
        data={"shot": "010", "JobInfo": "ünïcode ✓"},
        env={"OCIO": "/studio/config.ocio"},
        cwd="/studio/shots",
        user="alice",
    )


@pytest.mark.parametrize(
    "spec",
    [rich_spec(), JobSpec(cmdline="true"), frames_spec("1-9x2", padding=4), agenda_spec("a")],
)
def test_codec_round_trip(spec: JobSpec) -> None:
    assert decode_spec(encode_spec(spec)) == spec


def test_codec_stores_pending_agendas_as_names() -> None:
    assert '"agenda":["a","b"]' in encode_spec(agenda_spec("a", "b"))


def test_write_and_load_round_trip(store_location: str | Path) -> None:
    store = open_store(store_location)
    first = new_job(rich_spec(), job_id=1, label="comp")
    second = new_job(frames_spec("1-3", cpus=2, retry=1), job_id=2, label="plate", pgrp=1)
    store.write(submitted(first, second))

    changes = Changes(now=2.0)
    verbs.unblock_job(changes, first, "")
    done = start(changes, second, "1", "L1", host="farm1")
    t.finish_work(changes, second, done, "L1", t.WorkOutcome.EXITED, 0)
    start(changes, second, "2", "L2", host="farm1")
    start(changes, second, "3", "L3", host="farm2")
    store.write(changes)
    store.close()

    reopened = open_store(store_location)
    state = reopened.load()
    assert state.last_job_id == 2
    assert state.head_seq == reopened.head_seq > 0
    loaded = {job.id: job for job in state.jobs}
    assert loaded[1] == first
    assert loaded[2] == second
    assert loaded[1].spec.callbacks[0].criteria == {"status": "complete"}
    assert loaded[1].spec.data["JobInfo"] == "ünïcode ✓"
    assert loaded[1].spec.env == {"OCIO": "/studio/config.ocio"}
    running = loaded[2]
    assert [w.status for w in running.work] == [
        WorkStatus.COMPLETE,
        WorkStatus.RUNNING,
        WorkStatus.RUNNING,
    ]
    assert [(w.lease_id, w.host, w.attempts) for w in running.work[1:]] == [
        ("L2", "farm1", 1),
        ("L3", "farm2", 1),
    ]
    # which instance runs which item is rebuilt from the running work
    assert [s.work_index for s in running.subjobs] == [1, 2]
    assert running.tally[WorkStatus.RUNNING] == 2
    assert running.work_named("3") is running.work[2]
    assert running.status is JobStatus.RUNNING
    reopened.close()


def test_events_are_stored_with_every_field(store_location: str | Path) -> None:
    store = open_store(store_location)
    changes = Changes(now=3.5)
    changes.emit(
        Event(
            name=EventName.TIMEOUT,
            type=EventType.WORK,
            job_id=4,
            pgrp=2,
            label="l",
            user="u",
            subjob_id=1,
            work_name="0007",
            host="h",
            status="running",
            previous_status="pending",
            message="m",
            callback_run_id=9,
        )
    )
    store.write(changes)
    assert store.read_events(0, 10) == changes.events
    assert changes.events[0].seq == 1
    store.close()


def test_event_seqs_are_gapless_and_continue_after_reopening(store_location: str | Path) -> None:
    store = open_store(store_location)
    job = new_job(frames_spec("1-2"))
    changes = submitted(job)
    store.write(changes)
    work = start(changes2 := Changes(now=2.0), job, "1", "L1")
    t.finish_work(changes2, job, work, "L1", t.WorkOutcome.EXITED, 0)
    store.write(changes2)
    assert [e.seq for e in changes.events + changes2.events] == [1, 2, 3, 4, 5]
    assert store.head_seq == 5
    store.write(Changes(now=3.0))  # nothing to number
    assert store.head_seq == 5
    store.close()

    store = open_store(store_location)
    assert store.head_seq == 5
    assert store.load().head_seq == 5
    changes3 = Changes(now=4.0)
    assert verbs.suspend_job(changes3, store.load().jobs[0], "")
    store.write(changes3)
    assert [e.seq for e in changes3.events] == [6]
    assert [e.seq for e in store.read_events(0, 100)] == [1, 2, 3, 4, 5, 6]
    assert [e.seq for e in store.read_events(2, 2)] == [3, 4]
    assert store.oldest_seq() == 1
    store.close()


def test_failed_write_leaves_nothing_and_unnumbers_events(store_location: str | Path) -> None:
    store = open_store(store_location)
    store.write(submitted(new_job(job_id=1, label="a")))
    head = store.head_seq

    # job 2 is fine, job 3 reuses label "a" in process group 1
    clash = submitted(new_job(job_id=2, label="b", pgrp=1), new_job(job_id=3, label="a", pgrp=1))
    with pytest.raises(StorageError, match=r"(?i)unique constraint"):
        store.write(clash)
    assert all(e.seq == 0 for e in clash.events)
    assert store.head_seq == head
    assert [j.id for j in store.load().jobs] == [1]
    assert len(store.read_events(0, 100)) == head

    # the next write takes the numbers the failed one gave back
    ok = submitted(new_job(job_id=2, label="b", pgrp=1))
    store.write(ok)
    assert [e.seq for e in ok.events] == [head + 1]


def test_failure_at_the_end_of_the_transaction_rolls_back_everything(
    store_location: str | Path,
) -> None:
    store = open_store(store_location)
    store.write(submitted(new_job(job_id=1, label="a")), ("req-1", "digest"))
    job = store.load().jobs[0]
    changes = submitted(new_job(job_id=2, label="b"))
    verbs.block_job(changes, job, "")
    # the request id is already taken: the last statement of the transaction fails
    with pytest.raises(StorageError, match=r"(?i)unique constraint"):
        store.write(changes, ("req-1", "digest"))
    state = store.load()
    assert [j.id for j in state.jobs] == [1]
    assert not state.jobs[0].blocked
    assert store.head_seq == 1
    assert [e.seq for e in store.read_events(0, 10)] == [1]
    assert all(e.seq == 0 for e in changes.events)
    store.close()


def test_schema_version_is_recorded(db: Path) -> None:
    store = SqliteStore(db)
    assert store.schema_version == len(MIGRATIONS) >= 2
    store.close()
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
    raw.close()
    assert {"jobs", "work", "subjobs", "events", "submissions", "meta"} <= tables
    # reopening applies nothing twice
    again = SqliteStore(db)
    assert again.schema_version == len(MIGRATIONS)
    again.close()


def test_database_from_a_newer_latchwork_is_refused(db: Path) -> None:
    SqliteStore(db).close()
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    raw.close()
    with pytest.raises(RuntimeError, match="newer than this Latchwork"):
        SqliteStore(db)


def test_submissions_are_found_by_request_id(store_location: str | Path) -> None:
    store = open_store(store_location)
    assert store.find_submission("r1") is None
    changes = submitted(new_job(job_id=1, label="a"), new_job(job_id=2, label="b", pgrp=1))
    store.write(changes, ("r1", "d1"))
    found = store.find_submission("r1")
    assert found is not None
    assert (found.digest, found.job_ids, found.pgrp, found.seq) == ("d1", [1, 2], 1, 2)
    assert store.find_submission("r2") is None
    store.close()
    reopened = open_store(store_location)
    assert reopened.find_submission("r1") == found
    reopened.close()


def test_submission_without_new_jobs_is_not_recorded(store_location: str | Path) -> None:
    store = open_store(store_location)
    store.write(Changes(now=1.0), ("r1", "d1"))
    assert store.find_submission("r1") is None
    store.close()


def test_a_closed_store_refuses_as_unavailable(store_location: str | Path) -> None:
    """Shutting down: a request still in flight gets a typed error, never the driver's."""
    store = open_store(store_location)
    store.close()
    with pytest.raises(StorageUnavailable):
        store.write(submitted(new_job(job_id=1, label="a")))
    with pytest.raises(StorageUnavailable):
        store.read_events(0, 10)


def test_a_work_row_reads_back_as_the_work_item_written() -> None:
    """rows.work_from_row builds a WorkItem from the row's columns by position: every field,
    each with a value of its own, must come back where it was."""
    item = WorkItem(
        index=3,
        name="0042",
        status=WorkStatus.FAILED,
        retries=2,
        attempts=5,
        subjob_id=1,
        host="node7",
        exit_code=9,
        start_time=100.5,
        end_time=130.25,
        message="exit 9",
        lease_id="L-17",
    )
    assert work_from_row(work_row(11, item)) == item
