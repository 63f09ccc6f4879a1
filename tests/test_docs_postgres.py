"""docs/operations.md, "PostgreSQL": every example runs as written, against a real PostgreSQL
server (tests/pg_server.py). The page's database ``postgresql://latchwork@db.example/latchwork``
becomes a fresh database of that server and ``/srv/latchwork`` a temporary data directory;
nothing else of a command is changed. A supervisor started by an example listens where the
environment says (``LATCHWORK_LISTEN``, which the example's flags do not override)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from latchwork.client import Client
from latchwork.v1 import job_pb2

from .pg_server import PostgresServer
from .serverproc import ServerProcess
from .waiting import wait_job

DOC = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text()
SECTION = DOC[DOC.index("\n## PostgreSQL\n") :]
SECTION = SECTION[: SECTION.index("\n## ", 1)]
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", re.sub(r"\n {3}", "\n", SECTION), re.S)

LATCHWORK = (sys.executable, "-m", "latchwork.client.cli")
DOC_URL = "postgresql://latchwork@db.example/latchwork"
DOC_RESTORED_URL = DOC_URL + "_restored"
DOC_DATA = "/srv/latchwork"
QUIET_ENV = {
    "LATCHWORK_LISTEN": "127.0.0.1:0",
    "LATCHWORK_HTTP_LISTEN": "127.0.0.1:0",
    "LATCHWORK_SLOTS": "1",
}
_READY = re.compile(r"serving on (\S+:\d+)")


def _blocks(kind: str, starting: str = "") -> list[str]:
    return [text for found, text in BLOCKS if found == kind and text.startswith(starting)]


def _as_here(text: str, data: Path, url: str, restored: str = "") -> str:
    text = text.replace(DOC_RESTORED_URL, restored).replace(DOC_URL, url)
    return text.replace(DOC_DATA, str(data))


def _shell(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """One example line in bash, with ``latchwork`` the command of this checkout."""
    bin_dir = str(Path(sys.executable).parent)
    return subprocess.run(
        ["bash", "-c", line],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
    )


@contextmanager
def _serving(argv: list[str], cwd: Path) -> Iterator[Client]:
    """``argv`` (a ``latchwork serve`` of the page) running; a client of it."""
    bin_dir = str(Path(sys.executable).parent)
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **QUIET_ENV, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        deadline = time.monotonic() + 60
        address = ""
        while not address:
            line = process.stdout.readline()
            assert line, f"it did not start: {process.stderr.read()}"
            assert time.monotonic() < deadline, "it did not start in time"
            if found := _READY.search(line):
                address = found.group(1)
        with Client(address, user="tester") as client:
            yield client
    finally:
        process.terminate()
        assert process.wait(30) == 0
        process.stdout.close()
        process.stderr.close()


def _render(client: Client) -> int:
    job = client.submit([{"name": "plates", "package": {"cmdline": "echo ok"}}]).jobs[0]
    assert wait_job(client, job.id).status == job_pb2.JOB_STATUS_COMPLETE
    return job.id


def test_the_section_has_its_examples() -> None:
    assert [kind for kind, _ in BLOCKS] == ["toml", "sh", "text", "sh", "sh", "sh", "text"]
    assert all(DOC_URL in text for kind, text in BLOCKS if kind != "text")


def test_the_settings_file_example(tmp_path: Path, postgres_url: str) -> None:
    (toml,) = _blocks("toml")
    config = tmp_path / "latchwork.toml"
    config.write_text(_as_here(toml, tmp_path / "data", postgres_url))
    argv = [*LATCHWORK, "serve", "--config", str(config)]
    with _serving(argv, tmp_path) as client:
        job_id = _render(client)
    assert not (tmp_path / "data" / "latchwork.db").exists(), "the state is in PostgreSQL"
    assert (tmp_path / "data" / "output").is_dir(), "the output is in the data directory"
    again = ServerProcess(tmp_path / "data", store=postgres_url).start()
    try:
        with again.client() as client:
            assert client.get_job(job_id).status == job_pb2.JOB_STATUS_COMPLETE
    finally:
        again.stop()


def test_the_flag_then_a_backup_with_pg_dump_restored_with_pg_restore(
    tmp_path: Path, pg_server: PostgresServer
) -> None:
    url, restored = pg_server.fresh_url(), pg_server.fresh_url()
    try:
        (serve,) = _blocks("sh", "latchwork serve")
        with _serving(["bash", "-c", _as_here(serve, tmp_path / "data", url)], tmp_path) as live:
            job_id = _render(live)
            (dump,) = _blocks("sh", "pg_dump")
            dumped = _shell(_as_here(dump, tmp_path / "data", url), tmp_path)  # while it runs
            assert dumped.returncode == 0, dumped.stderr
        (restore,) = _blocks("sh", "pg_restore")
        back = _shell(_as_here(restore, tmp_path / "data", url, restored), tmp_path)
        assert back.returncode == 0, back.stderr
        from_backup = ServerProcess(tmp_path / "restored", store=restored).start()
        try:
            with from_backup.client() as client:
                assert client.get_job(job_id).status == job_pb2.JOB_STATUS_COMPLETE
                more = client.submit([{"name": "next", "package": {"cmdline": "true"}}])
                assert more.jobs[0].id == job_id + 1
        finally:
            from_backup.stop()
    finally:
        pg_server.drop(url)
        pg_server.drop(restored)


def test_the_refusal_of_an_unreachable_database(tmp_path: Path) -> None:
    (refusal,) = _blocks("text", "latchwork serve:")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://latchwork@127.0.0.1:{port}/latchwork"
    done = subprocess.run(
        [*LATCHWORK, "serve", "--data-dir", str(tmp_path / "data"), "--store", url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **QUIET_ENV},
    )
    assert done.returncode == 1
    expected = refusal.strip().replace("db.example", f"127.0.0.1:{port}")
    written, _, _ = expected.partition("...")
    last = done.stderr.strip().splitlines()[-1]  # after the log's warnings (root, open mode)
    assert last.startswith(written), done.stderr
    assert last.endswith(")") and "Traceback" not in done.stderr


def test_the_upgrade_from_sqlite(tmp_path: Path, postgres_url: str) -> None:
    data = tmp_path / "data"
    on_sqlite = ServerProcess(data, store="").start()
    try:
        with on_sqlite.client() as client:
            job_ids = [_render(client) for _ in range(3)]
    finally:
        on_sqlite.stop()
    (migrate,) = _blocks("sh", "latchwork migrate")
    copied = _shell(_as_here(migrate, data, postgres_url), tmp_path)
    assert copied.returncode == 0, copied.stderr
    (shown,) = _blocks("text", "latchwork migrate:")
    assert _shape(copied.stdout) == _shape(_as_here(shown, data, postgres_url))
    on_postgres = ServerProcess(data, store=postgres_url).start()
    try:
        with on_postgres.client() as client:
            statuses = {client.get_job(job_id).status for job_id in job_ids}
            assert statuses == {job_pb2.JOB_STATUS_COMPLETE}
    finally:
        on_postgres.stop()


def _shape(text: str) -> str:
    """The output without its numbers and the blanks that align them."""
    return re.sub(r" +", " ", re.sub(r"\d[\d,]*", "N", text)).strip()


@pytest.mark.parametrize("kind", ["sh", "toml"])
def test_no_example_carries_a_password(kind: str) -> None:
    assert all(":***@" not in text and "password" not in text for text in _blocks(kind))
