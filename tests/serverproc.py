"""A real ``latchwork serve`` process for tests: its own data directory and free ports (gRPC,
and the dashboard's HTTP side unless ``http_listen=None``).

Its store is the SQLite file in the data directory, or the PostgreSQL database ``store=URL``
names. With ``LATCHWORK_TEST_STORE=postgresql`` in the environment (``make test-pg``) every
ServerProcess that names no store keeps its state in a database of the test process's
PostgreSQL server (tests/pg_server.py's ``session_server``): one database per data directory,
so a test that restarts a supervisor on its data directory finds its state again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc

from latchwork.client import Client

_READY = re.compile(r"serving on (\S+):(\d+)")
_DASHBOARD = re.compile(r"dashboard on http://(\S+?)/?$")

TEST_STORE_VARIABLE = "LATCHWORK_TEST_STORE"
"""``postgresql`` runs every ServerProcess of the run on PostgreSQL; unset (or ``sqlite``) on
the SQLite file."""

_test_databases: dict[Path, str] = {}


def wants_postgres() -> bool:
    """Whether this run keeps every ServerProcess's state in PostgreSQL (and which is asked for
    is spelled right: a typo must not quietly test SQLite)."""
    wanted = os.environ.get(TEST_STORE_VARIABLE, "")
    if wanted not in ("", "sqlite", "postgresql"):
        raise RuntimeError(f"{TEST_STORE_VARIABLE}={wanted!r}: use 'postgresql' or 'sqlite'")
    return wanted == "postgresql"


def default_store(data_dir: Path) -> str | None:
    """The store a ServerProcess on ``data_dir`` uses when it names none: None (SQLite),
    or under ``LATCHWORK_TEST_STORE=postgresql`` the data directory's own database."""
    if not wants_postgres():
        return None
    from .pg_server import session_server  # psycopg, and a server, only when asked for

    key = data_dir.resolve()
    if key not in _test_databases:
        _test_databases[key] = session_server().fresh_url()
    return _test_databases[key]


class ServerProcess:
    def __init__(
        self,
        data_dir: Path,
        *,
        slots: int = 2,
        extra: list[str] | None = None,
        env: dict[str, str] | None = None,
        http_listen: str | None = "127.0.0.1:0",
        store: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        # None: as the run asks (above); "": the SQLite file whatever the run asks; a URL.
        self.store = store if store is not None else default_store(data_dir)
        self.http_listen = http_listen
        self.http_address = ""  # host:port of the HTTP side, once started (if any)
        self.slots = slots
        self.extra = extra or []
        self.env = env or {}
        self.process: subprocess.Popen[str] | None = None
        self.address = ""
        self.log_path = data_dir.parent / f"{data_dir.name}-serve.log"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "a")  # noqa: SIM115 - owned by the process's lifetime
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "latchwork.client.cli",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--listen",
                "127.0.0.1:0",
                "--slots",
                str(self.slots),
                "--host",
                "testhost",
                *(["--http-listen", self.http_listen] if self.http_listen is not None else []),
                *(["--store", self.store] if self.store else []),
                *self.extra,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"latchwork serve exited early; see {self.log_path}")
            dashboard = _DASHBOARD.search(line.strip())
            if dashboard:
                self.http_address = dashboard.group(1)
            match = _READY.search(line)
            if match:
                self.address = f"{match.group(1)}:{match.group(2)}"
                return self
        raise RuntimeError("latchwork serve did not start in time")

    @property
    def http_url(self) -> str:
        return f"http://{self.http_address}"

    def client(self) -> Client:
        return Client(self.address, user="tester")

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.address)

    def worker(
        self, host: str, slots: int, log_path: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``latchwork worker`` for this supervisor; its log goes to ``log_path``."""
        with open(log_path, "wb") as log:
            return subprocess.Popen(
                [
                    *(sys.executable, "-m", "latchwork.client.cli", "worker"),
                    *("--supervisor", self.address, "--slots", str(slots), "--host", host),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**os.environ, **(env or {})},
            )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``latchwork ARGS`` against this supervisor; its output, whatever the exit."""
        return subprocess.run(
            [sys.executable, "-m", "latchwork.client.cli", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "LATCHWORK_ADDRESS": self.address},
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        if self.process.stdout:
            self.process.stdout.close()
        return code

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)


def run_refused(args: list[str], env: dict[str, str] | None = None, timeout: float = 30.0) -> str:
    """Run ``latchwork ARGS``, which must refuse to start: returns its stderr after checking
    that it exited non-zero without a traceback. Still running at the timeout means it
    started (the failure under test), so it is killed and the test fails."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "latchwork.client.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"`latchwork {' '.join(args)}` started instead of refusing") from None
    assert done.returncode != 0, f"exited 0; stderr: {done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr
