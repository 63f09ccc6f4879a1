"""What only the PostgreSQL store has: its URL and server, its schema table, its connection,
and copying an SQLite store into it. On the session's real PostgreSQL server (pg_server.py).

Everything both stores do alike is tested on both: the tests that take ``store_location``,
``any_store`` or ``farm`` (tests/unit/conftest.py).
"""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from latchwork.server.core import verb_transitions as verbs
from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.changes import Changes
from latchwork.server.core.model import CallbackSpec
from latchwork.server.core.routing.hosts import Resources
from latchwork.server.core.states import JobStatus
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.store import SqliteStore
from latchwork.server.store.copying import TargetNotEmpty, copy_sqlite_to_postgres
from latchwork.server.store.errors import StorageUnavailable, StoreUnusable
from latchwork.server.store.hosts import StoredHost
from latchwork.server.store.opening import is_postgres_url, open_store
from latchwork.server.store.pg_migrations import PG_MIGRATIONS
from latchwork.server.store.postgres import PostgresStore
from latchwork.server.store.sqlite import StoredState

from ..pg_server import PostgresServer, cut_sessions, free_port
from .factories import Sink, frames_spec, python_supervisor


def test_a_url_opens_postgres_and_a_path_sqlite(postgres_url: str, tmp_path: Path) -> None:
    assert is_postgres_url(postgres_url)
    assert is_postgres_url("postgres://db/farm") and is_postgres_url("POSTGRESQL://db/farm")
    assert not is_postgres_url(tmp_path / "latchwork.db")
    assert not is_postgres_url("latchwork.db")
    opened = open_store(postgres_url)
    assert isinstance(opened, PostgresStore)
    opened.close()
    local = open_store(str(tmp_path / "latchwork.db"))
    assert isinstance(local, SqliteStore)
    local.close()


def test_a_bad_url_is_refused_in_one_line() -> None:
    with pytest.raises(StoreUnusable, match="not a valid PostgreSQL URL") as refused:
        PostgresStore("postgresql://farm:secret@db.example/farm?no_such_option=1")
    assert "\n" not in str(refused.value)
    assert "secret" not in str(refused.value)
    with pytest.raises(StoreUnusable, match="not a valid PostgreSQL URL") as refused:
        PostgresStore("postgresql://farm:s%zzecret@db.example/farm")  # libpq quotes the token
    assert "ecret" not in str(refused.value)


def test_an_unreachable_server_is_refused_naming_it_without_the_password() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StoreUnusable, match="cannot be reached") as refused:
        PostgresStore(f"postgresql://farm:secret@127.0.0.1:{port}/farm?connect_timeout=5")
    message = str(refused.value)
    assert f"postgresql://farm@127.0.0.1:{port}/farm" in message
    assert "secret" not in message and "\n" not in message
    assert "Traceback" not in message


def test_a_missing_database_is_refused(pg_server: PostgresServer) -> None:
    with pytest.raises(StoreUnusable, match=r"cannot be reached.*does not exist"):
        PostgresStore(pg_server.url("no_such_database"))


def test_the_schema_version_is_recorded_and_applied_once(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    assert store.schema_version == len(PG_MIGRATIONS) >= 1
    store.close()
    with psycopg.connect(postgres_url) as raw:
        [(version,)] = raw.execute("SELECT version FROM latchwork_schema").fetchall()
        tables = {
            row[0]
            for row in raw.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
    assert version == len(PG_MIGRATIONS)
    assert {"jobs", "work", "subjobs", "events", "callbacks", "callback_runs", "hosts"} <= tables
    again = PostgresStore(postgres_url)
    assert again.schema_version == len(PG_MIGRATIONS)
    again.close()


def test_two_supervisors_starting_at_once_migrate_once(postgres_url: str) -> None:
    opened: list[PostgresStore] = []
    failed: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(PostgresStore(postgres_url))
        except BaseException as error:  # reported below
            failed.append(error)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    assert [store.schema_version for store in opened] == [len(PG_MIGRATIONS)] * 3
    for store in opened:
        store.close()


def test_a_database_from_a_newer_latchwork_is_refused(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url) as raw:
        raw.execute("UPDATE latchwork_schema SET version = %s", (len(PG_MIGRATIONS) + 1,))
    with pytest.raises(StoreUnusable, match="newer than this Latchwork") as refused:
        PostgresStore(postgres_url)
    assert "\n" not in str(refused.value)


def test_another_programs_database_is_left_alone(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as raw:
        raw.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StoreUnusable, match="not a Latchwork database"):
        PostgresStore(postgres_url)
    with psycopg.connect(postgres_url) as raw:
        tables = {
            r[0]
            for r in raw.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
    assert tables == {"invoices"}, "nothing was created beside another program's tables"


def test_a_lost_connection_fails_one_write_whole_and_the_next_reconnects(
    postgres_url: str, tmp_path: Path
) -> None:
    store = PostgresStore(postgres_url)
    sup = python_supervisor(store, tmp_path)
    job = sup.submit([frames_spec("1-2")]).jobs[0]
    head = store.head_seq
    changes = Changes(now=5.0)
    assert verbs.block_job(changes, store.load().jobs[0], "")
    cut_sessions(postgres_url)
    # The server's goodbye (57P01) when the write's first statement meets it; in pipeline
    # mode (every commit's writes), the lost connection itself.
    with pytest.raises(StorageUnavailable, match=r"57P01|closed the connection"):
        store.write(changes)
    assert all(event.seq == 0 for event in changes.events)
    assert store.head_seq == head
    store.write(changes)  # on a new connection, with the same numbers
    assert [event.seq for event in changes.events] == [head + 1]
    [reloaded] = store.load().jobs
    assert reloaded.id == job.id and reloaded.blocked
    store.close()


def _state(store: PostgresStore | SqliteStore) -> tuple[object, ...]:
    loaded: StoredState = store.load()
    return (
        loaded.jobs,
        loaded.last_job_id,
        store.head_seq,
        store.read_events(0, 10_000),
        store.load_callbacks(),
        store.list_runs(limit=1000),
        store.pending_runs(),
        store.find_submission("req-1"),
        store.load_hosts(),
        store.last_callback_id(),
        store.last_run_id(),
    )


def _farm_history(path: Path, root: Path) -> None:
    """A little of everything, written through a supervisor on SQLite."""
    store = SqliteStore(path)
    sup = python_supervisor(store, root)
    worker = sup.register_worker("farm01", Sink())
    first = sup.submit([frames_spec("1-3", label="plate")], request_id="req-1", digest="d1")
    blocked = sup.submit([frames_spec("1", status=JobStatus.BLOCKED, label="comp")]).jobs[0]
    sup.add_callbacks(blocked.id, [CallbackSpec("submit-job-self", "qube", "unblock-self")])
    for grant in sup.lease(worker, 2):
        sup.report_and_lease(grant.lease_id, WorkOutcome.EXITED, 0, "exit code 0")
    sup.control(OperatorAction.BLOCK, [first.jobs[0].id], [])
    store.save_hosts(
        [StoredHost("farm02", slots=8, resources=Resources(cores=8), locked=True, lock_reason="x")]
    )
    store.close()


def test_a_copy_into_postgres_holds_the_same_farm_and_continues_it(
    postgres_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "latchwork.db"
    _farm_history(path, tmp_path)
    source = SqliteStore(path)
    expected = _state(source)
    source.close()

    report = copy_sqlite_to_postgres(path, postgres_url)

    copied = PostgresStore(postgres_url)
    assert _state(copied) == expected
    assert report.head_seq == copied.head_seq > 0
    assert report.rows["jobs"] == 2 and report.rows["events"] == copied.head_seq
    assert report.rows["callbacks"] == 1 and report.rows["hosts"] == 1
    # The sequence and the ids continue on PostgreSQL from where SQLite left them.
    sup = python_supervisor(copied, tmp_path)
    head = copied.head_seq
    third = sup.submit([frames_spec("1", label="next")]).jobs[0]
    assert third.id == 3
    assert copied.read_events(head, 1)[0].seq == head + 1
    copied.close()


def test_a_copy_into_a_database_with_a_farm_is_refused_and_changes_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "latchwork.db"
    _farm_history(path, tmp_path)
    copy_sqlite_to_postgres(path, postgres_url)
    before = PostgresStore(postgres_url)
    state = _state(before)
    before.close()
    with pytest.raises(TargetNotEmpty, match="already holds 2 jobs"):
        copy_sqlite_to_postgres(path, postgres_url)
    after = PostgresStore(postgres_url)
    assert _state(after) == state
    after.close()


def test_a_copy_from_a_file_that_is_not_there_creates_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    missing = tmp_path / "typo" / "latchwork.db"
    with pytest.raises(StoreUnusable, match="is not there"):
        copy_sqlite_to_postgres(missing, postgres_url)
    assert not missing.parent.exists()


def test_a_failed_copy_writes_nothing(postgres_url: str, tmp_path: Path) -> None:
    path = tmp_path / "latchwork.db"
    _farm_history(path, tmp_path)
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url) as raw:  # a row the copy will clash with, last table
        raw.execute(
            "INSERT INTO hosts (name, spec, locked, lock_reason, registered, last_heartbeat) "
            "VALUES ('farm02', '{}', 0, '', 0, 0)"
        )
    with pytest.raises(StoreUnusable, match="nothing was written"):
        copy_sqlite_to_postgres(path, postgres_url)
    store = PostgresStore(postgres_url)
    assert store.load().jobs == [] and store.head_seq == 0 and store.read_events(0, 10) == []
    store.close()
