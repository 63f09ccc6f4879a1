"""What a supervisor leaves on disk is its user's alone, and open mode stays on this machine
(issue 13: files, open mode). Real ``latchwork serve`` processes, real files and modes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from latchwork.client import Client
from latchwork.server.open_mode import ROOT_OPEN_WARNING, listens_on_loopback
from latchwork.v1 import job_pb2

from .privileges import needs_root
from .serverproc import ServerProcess, run_refused
from .waiting import wait_job

TOKEN = "file-modes-token-0123456789"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _tokens(path: Path, mode: int) -> Path:
    path.write_text(f'[[token]]\ntoken = "{TOKEN}"\nuser = "owner"\nadmin = true\n')
    path.chmod(mode)
    return path


def test_the_data_directory_database_wal_and_output_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # as an older Latchwork (or mkdir) left it
    server = ServerProcess(data, slots=1).start()
    try:
        with server.client() as client:
            job = client.submit(
                [{"name": "echo", "package": {"cmdline": "echo secret; echo oops >&2"}}]
            ).jobs[0]
            assert wait_job(client, job.id).status == job_pb2.JOB_STATUS_COMPLETE
        # While it runs: the WAL and shared memory exist (SQLite made them later).
        assert _mode(data) == 0o700
        for name in ("latchwork.db", "latchwork.db-wal", "latchwork.db-shm", "latchwork.lock"):
            assert _mode(data / name) == 0o600, name
        output = data / "output"
        assert _mode(output) == 0o700
        assert _mode(output / str(job.id)) == 0o700
        files = sorted((output / str(job.id)).iterdir())
        assert {path.suffix for path in files} == {".out", ".err"}
        assert b"secret" in b"".join(path.read_bytes() for path in files)
        for path in files:
            assert _mode(path) & 0o077 == 0, f"{path} is {_mode(path):04o}"
    finally:
        server.stop()


def test_files_an_older_supervisor_left_readable_are_tightened(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    server.stop()
    data = server.data_dir
    for path in (data, data / "latchwork.db"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (data / "latchwork.db-wal").touch()
    (data / "latchwork.db-wal").chmod(0o644)
    server = ServerProcess(data, slots=0).start()
    try:
        assert _mode(data) == 0o700
        assert _mode(data / "latchwork.db") == 0o600
        assert _mode(data / "latchwork.db-wal") == 0o600
    finally:
        server.stop()


def test_a_tokens_file_others_can_read_is_refused_at_start(tmp_path: Path) -> None:
    tokens = _tokens(tmp_path / "tokens.toml", 0o640)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "latchwork.client.cli", "serve"),
            *("--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LATCHWORK_TOKENS_FILE": str(tokens)},
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"latchwork serve: tokens file {tokens} has mode 0640" in done.stderr
    assert f"chmod 600 {tokens}" in done.stderr


def test_open_mode_on_a_network_address_needs_the_explicit_flag(tmp_path: Path) -> None:
    args = ["serve", "--data-dir", str(tmp_path / "data"), "--listen", "0.0.0.0:0"]
    refused = run_refused(args)
    assert "latchwork serve: refusing to listen on 0.0.0.0:0 without a tokens file" in refused
    assert "--insecure-open" in refused

    allowed = ServerProcess(tmp_path / "flag", extra=["--listen", "0.0.0.0:0", "--insecure-open"])
    allowed.start()
    try:
        port = allowed.address.rsplit(":", 1)[1]
        with Client(f"127.0.0.1:{port}", user="tester") as client:
            assert client.submit([{"name": "ok", "package": {"cmdline": "true"}}]).jobs
    finally:
        allowed.stop()
    by_setting = ServerProcess(
        tmp_path / "setting",
        extra=["--listen", "0.0.0.0:0"],
        env={"LATCHWORK_ALLOW_OPEN_NETWORK": "true"},
    ).start()
    by_setting.stop()


def test_a_network_address_with_tokens_needs_no_flag(tmp_path: Path) -> None:
    tokens = _tokens(tmp_path / "tokens.toml", 0o600)
    server = ServerProcess(
        tmp_path / "data",
        slots=0,
        extra=["--listen", "0.0.0.0:0"],
        env={"LATCHWORK_TOKENS_FILE": str(tokens)},
    ).start()
    server.stop()
    assert ROOT_OPEN_WARNING not in server.log_path.read_text()


@needs_root("the warning is for a supervisor run as root")
def test_open_mode_as_root_warns_at_start(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    server.stop()
    assert ROOT_OPEN_WARNING in server.log_path.read_text()


@pytest.mark.parametrize(
    ("listen", "loopback"),
    [
        ("localhost:50051", True),
        ("127.0.0.1:0", True),
        ("127.5.0.1:50051", True),
        ("[::1]:50051", True),
        ("0.0.0.0:50051", False),
        ("[::]:50051", False),
        (":50051", False),
        ("192.0.2.7:50051", False),
    ],
)
def test_which_addresses_are_loopback(listen: str, loopback: bool) -> None:
    assert listens_on_loopback(listen) is loopback
