"""Serving on PostgreSQL and the upgrade from SQLite, with a real PostgreSQL server
(tests/pg_server.py) and real ``latchwork serve`` / ``latchwork migrate`` processes.

The upgrade test runs a supervisor on SQLite (finished, failed and blocked jobs, a callback
waiting on its trigger, captured output), stops it, migrates, serves the same data directory
from PostgreSQL and reads everything back over gRPC; then the farm goes on: the waiting
callback fires, new jobs take the next ids, events the next seqs.
"""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from latchwork.client import Client
from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2

from .pg_server import PostgresServer
from .serverproc import TEST_STORE_VARIABLE, ServerProcess, default_store, run_refused
from .waiting import wait_job

PASSWORD = "hunter2-not-shown"


def _migrate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latchwork.client.cli", "migrate", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _unreachable_url() -> str:
    return f"postgresql://latchwork:{PASSWORD}@127.0.0.1:{_closed_port()}/latchwork"


def _all_events(client: Client) -> list[event_pb2.Event]:
    """Every event of the log, up to the head (the stream's caught-up heartbeat)."""
    request = supervisor_pb2.SubscribeRequest(caught_up_heartbeat=True, include_callback_runs=True)
    stream = client._stub.Subscribe(request, timeout=60)  # noqa: SLF001 - the raw stream
    events: list[event_pb2.Event] = []
    for item in stream:
        if item.HasField("heartbeat"):
            stream.cancel()
            return events
        if item.HasField("event"):
            events.append(item.event)
    raise AssertionError("the stream ended before it caught up")


def _job(label: str, cmdline: str = "true", **extra: object) -> dict[str, object]:
    return {"name": label, "label": label, "package": {"cmdline": cmdline}, **extra}


def _farm_history(client: Client) -> dict[str, int]:
    """Jobs in every state worth copying; their ids by label."""
    submitted = client.submit(
        [
            _job(
                "render",
                prototype="cmdrange",
                package={"cmdline": "echo frame QB_FRAME_NUMBER", "range": "1-3"},
            ),
            _job("broken", "echo doomed >&2; exit 3"),
            _job("gate", status="blocked"),
            _job(
                "comp",
                status="blocked",
                callbacks=[{"triggers": "complete-job-gate", "code": "unblock-self"}],
            ),
        ]
    )
    ids = {job.label: job.id for job in submitted.jobs}
    assert wait_job(client, ids["render"]).status == job_pb2.JOB_STATUS_COMPLETE
    assert wait_job(client, ids["broken"]).status == job_pb2.JOB_STATUS_FAILED
    return ids


def _snapshot(client: Client, ids: dict[str, int]) -> dict[str, object]:
    return {
        "jobs": {job.id: job for job in client.list_jobs()},
        "full": {label: client.get_job(job_id) for label, job_id in ids.items()},
        "events": _all_events(client),
        "runs": list(client.callback_runs()),
        "output": client.work_output(ids["render"], "2").data,
        "stderr": client.work_output(ids["broken"], "0", stderr=True).data,
    }


def test_migrate_a_sqlite_farm_then_serve_it_from_postgres(
    tmp_path: Path, postgres_url: str
) -> None:
    data = tmp_path / "data"
    on_sqlite = ServerProcess(data, store="").start()
    try:
        with on_sqlite.client() as client:
            ids = _farm_history(client)
            before = _snapshot(client, ids)
    finally:
        assert on_sqlite.stop() == 0

    copied = _migrate("--from", str(data / "latchwork.db"), "--to", postgres_url)
    assert copied.returncode == 0, copied.stderr
    assert f"copied {data / 'latchwork.db'} to " in copied.stdout
    head = before["events"][-1].seq  # type: ignore[index]
    assert re.search(rf"^  events up to seq +{head:,}$", copied.stdout, re.M), copied.stdout

    on_postgres = ServerProcess(data, store=postgres_url).start()
    try:
        with on_postgres.client() as client:
            after = _snapshot(client, ids)
            assert after == before, "everything reads back as it was"
            assert before["output"] == b"frame 2\n"

            # The farm goes on: the migrated latch fires, ids and seqs continue.
            client.control("unblock", [ids["gate"]])
            assert wait_job(client, ids["gate"]).status == job_pb2.JOB_STATUS_COMPLETE
            assert wait_job(client, ids["comp"]).status == job_pb2.JOB_STATUS_COMPLETE
            (run,) = client.callback_runs(job_id=ids["comp"])
            assert run.outcome == supervisor_pb2.CALLBACK_OUTCOME_OK
            more = client.submit([_job("next")]).jobs[0]
            assert more.id == max(ids.values()) + 1
            assert wait_job(client, more.id).status == job_pb2.JOB_STATUS_COMPLETE
            events = _all_events(client)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            assert events[: len(before["events"])] == before["events"]  # type: ignore[arg-type]
            assert len(events) > head
    finally:
        assert on_postgres.stop() == 0
    assert (data / "latchwork.db").exists(), "the SQLite store is left in place, as it was"


def test_a_supervisor_on_postgres_keeps_no_sqlite_file_and_restarts_where_it_was(
    tmp_path: Path, postgres_url: str
) -> None:
    data = tmp_path / "data"
    first = ServerProcess(data, store=postgres_url).start()
    try:
        with first.client() as client:
            job_id = client.submit([_job("one", "echo on postgres")]).jobs[0].id
            assert wait_job(client, job_id).status == job_pb2.JOB_STATUS_COMPLETE
    finally:
        first.kill9()
    assert not (data / "latchwork.db").exists()
    second = ServerProcess(data, store=postgres_url).start()
    try:
        with second.client() as client:
            assert client.get_job(job_id).status == job_pb2.JOB_STATUS_COMPLETE
            assert client.work_output(job_id, "0").data == b"on postgres\n"
            assert client.submit([_job("two")]).jobs[0].id == job_id + 1
    finally:
        second.stop()


def test_serve_refuses_an_unreachable_database_in_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    url = _unreachable_url()
    stderr = run_refused(
        [
            *("serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0"),
            *("--http-listen", "127.0.0.1:0", "--store", url),
        ]
    )
    assert PASSWORD not in stderr
    line = stderr.strip().splitlines()[-1]  # after the log's warnings (root, open mode)
    assert line.startswith("latchwork serve: ")
    assert "postgresql://latchwork" in line and "@127.0.0.1:" in line, "it names the database"


def test_serve_refuses_a_store_that_is_not_a_postgres_url(tmp_path: Path) -> None:
    stderr = run_refused(
        ["serve", "--data-dir", str(tmp_path / "data"), "--store", "mysql://u:pw@db/latchwork"]
    )
    assert stderr.strip().splitlines()[-1] == (
        "latchwork serve: store = 'mysql://u:***@db/latchwork': use a postgresql:// "
        "(or postgres://) URL, or leave it empty for the SQLite file in data_dir"
    )


def test_migrate_refuses_what_it_cannot_copy(tmp_path: Path, postgres_url: str) -> None:
    missing = _migrate("--from", str(tmp_path / "nothing.db"), "--to", postgres_url)
    assert missing.returncode == 1
    assert missing.stderr == (
        f"latchwork migrate: {tmp_path / 'nothing.db'} does not exist "
        "(give the latchwork.db to copy)\n"
    )

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE photos (id INTEGER)")
    db.close()
    refused = _migrate("--from", str(foreign), "--to", postgres_url)
    assert refused.returncode == 1, refused.stdout
    assert refused.stderr.startswith("latchwork migrate: ")
    assert "not a Latchwork database" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1

    wrong = _migrate("--from", str(foreign), "--to", "mysql://u:pw@db/x")
    assert wrong.returncode == 2
    assert wrong.stderr == (
        "latchwork migrate: --to 'mysql://u:***@db/x': give a postgresql:// (or postgres://) URL\n"
    )


def test_migrate_refuses_an_unreachable_or_non_empty_target_and_a_running_source(
    tmp_path: Path, postgres_url: str
) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data, store="").start()
    try:
        with server.client() as client:
            wait_job(client, client.submit([_job("one")]).jobs[0].id)
        busy = _migrate("--from", str(data), "--to", postgres_url)
        assert busy.returncode == 1
        assert busy.stderr == (
            f"latchwork migrate: {data} is in use by pid {server.process.pid} "  # type: ignore[union-attr]
            f"(serving on {server.address}): stop that supervisor first\n"
        )
    finally:
        server.stop()

    unreachable = _migrate("--from", str(data), "--to", _unreachable_url())
    assert unreachable.returncode == 1
    assert PASSWORD not in unreachable.stderr + unreachable.stdout
    assert len(unreachable.stderr.splitlines()) == 1, unreachable.stderr

    assert _migrate("--from", str(data), "--to", postgres_url).returncode == 0
    again = _migrate("--from", str(data), "--to", postgres_url)
    assert again.returncode == 1
    assert len(again.stderr.splitlines()) == 1, again.stderr
    assert "already" in again.stderr, again.stderr


def test_the_test_store_variable_gives_each_data_directory_its_own_database(
    tmp_path: Path, pg_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``LATCHWORK_TEST_STORE=postgresql`` (``make test-pg``): a database per data directory,
    the same one again for a restart on it; a misspelt value is an error, never SQLite."""
    monkeypatch.setenv(TEST_STORE_VARIABLE, "postgresql")
    first = default_store(tmp_path / "a")
    assert first is not None and first.startswith(
        f"postgresql://postgres@127.0.0.1:{pg_server.port}/"
    )
    assert default_store(tmp_path / "a") == first
    assert default_store(tmp_path / "b") not in (None, first)
    assert ServerProcess(tmp_path / "a").store == first
    assert ServerProcess(tmp_path / "a", store="").store == ""
    monkeypatch.setenv(TEST_STORE_VARIABLE, "sqlite")
    assert ServerProcess(tmp_path / "a").store is None
    monkeypatch.setenv(TEST_STORE_VARIABLE, "postgres")
    with pytest.raises(RuntimeError, match="use 'postgresql' or 'sqlite'"):
        default_store(tmp_path / "a")
