"""A database the supervisor cannot use is refused at start with one line naming the file and
the problem, and a non-zero exit: never a traceback, never a supervisor that starts and fails
later. The bad files are real: made by a previous run, then damaged."""

from __future__ import annotations

import random
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server.store.migrations import MIGRATIONS

from .privileges import require_root
from .serverproc import ServerProcess, run_refused


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory a previous supervisor ran jobs in and stopped cleanly."""
    server = ServerProcess(tmp_path / "data", slots=1).start()
    with server.client() as client:
        client.submit([{"name": f"j{i}", "package": {"cmdline": "true"}} for i in range(20)])
    server.stop()
    return server.data_dir


def _serve(data_dir: Path) -> str:
    return run_refused(["serve", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0"])


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("latchwork serve:")]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def immutable(data_dir: Path) -> Iterator[Path]:
    require_root("chattr +i (root ignores permission bits, so chmod cannot test)")
    database = data_dir / "latchwork.db"
    subprocess.run(["chattr", "+i", str(database)], check=True)
    yield database
    subprocess.run(["chattr", "-i", str(database)], check=True)


def test_a_read_only_database_is_refused(immutable: Path) -> None:
    line = _one_line(_serve(immutable.parent))
    assert f"{immutable} is read-only" in line


def test_an_sqlite_file_of_another_program_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    database = tmp_path / "data" / "latchwork.db"
    with sqlite3.connect(database) as other:
        other.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
    line = _one_line(_serve(database.parent))
    assert f"{database} is not a Latchwork database" in line
    with sqlite3.connect(database) as other:
        tables = {row[0] for row in other.execute("SELECT name FROM sqlite_master")}
    assert tables == {"photos"}, "the file was left exactly as it was"


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    database = tmp_path / "data" / "latchwork.db"
    database.write_text("name,frames\nshot010,1-100\n" * 100)
    line = _one_line(_serve(database.parent))
    assert f"{database} is not a Latchwork database" in line


def test_a_database_from_a_newer_latchwork_is_refused(data_dir: Path) -> None:
    database = data_dir / "latchwork.db"
    with sqlite3.connect(database) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 7}")
    line = _one_line(_serve(data_dir))
    assert f"{database} was written by a newer version of Latchwork" in line


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        # An index start-up does not read: without the check the supervisor would start,
        # serve, and fail on some later request.
        ("index", "jobs_pid"),
        # A table the load reads while the check runs beside it: the check's verdict is
        # what the operator reads, not the load's own error.
        ("table", "jobs"),
    ],
)
def test_a_database_with_a_garbage_page_is_refused(data_dir: Path, kind: str, name: str) -> None:
    database = data_dir / "latchwork.db"
    with sqlite3.connect(database) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        (root,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = ? AND name = ?", (kind, name)
        ).fetchone()
    assert (
        not (data_dir / "latchwork.db-wal").exists()
        or (data_dir / "latchwork.db-wal").stat().st_size == 0
    ), "the previous run checkpointed its log"
    with open(database, "r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(random.Random(10).randbytes(page_size))
    line = _one_line(_serve(data_dir))
    assert f"{database} is corrupt" in line
