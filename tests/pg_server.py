"""A real PostgreSQL server for the tests: Debian's binaries, started by the suite itself.

Every storage-dependent test runs on SQLite and on PostgreSQL (issue 16); the PostgreSQL leg
needs a server, and a mock of one would prove nothing. This module starts one per test session
from Debian's ``postgresql`` package (``make pg-deps`` installs it): ``initdb`` into a temporary
directory, then ``postgres`` listening on a unix socket in that directory and on 127.0.0.1 at
a free port, with durability off (``fsync=off``: a test database need not survive a power
cut). PostgreSQL refuses to run as root, and CI runs as root: the server then runs as an OS
user of its own (``lw_pg_<hex>``, created with ``useradd`` and removed at the end, as
:mod:`tests.os_users` does); a suite that is not root runs it as itself.

:func:`session_server` gives the one server of the test process (started on first use, stopped
at exit); the fixtures ``pg_server`` and ``postgres_url`` (tests/conftest.py) use it, and so
may any helper that needs a database outside a fixture. :meth:`PostgresServer.fresh_url`
creates an empty database and returns its URL.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_START_SECONDS = 60.0
_STOP_SECONDS = 30.0
# For speed: nothing a test database needs survives a crash of the machine.
_TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
    "unix_socket_permissions": "0777",
}


class PostgresUnavailable(RuntimeError):
    """The server could not be started (its binaries are missing, or it failed: the log)."""


def bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries (Debian: /usr/lib/postgresql/<n>/bin)."""
    found = sorted(
        (Path(p) for p in glob.glob(_BIN_GLOB) if (Path(p) / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        raise PostgresUnavailable(
            f"no PostgreSQL server binaries in {_BIN_GLOB}: run `make pg-deps` (as root it "
            "installs Debian's postgresql package)"
        )
    return found[-1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _OsUser:
    """The OS user the server runs as: a new one when we are root, else ourselves."""

    def __init__(self) -> None:
        self.name = ""
        if os.geteuid() != 0:
            return
        self.name = f"lw_pg_{secrets.token_hex(3)}"
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--user-group", "--shell",
             "/usr/sbin/nologin", self.name],
            check=True,
            capture_output=True,
        )  # fmt: skip
        entry = pwd.getpwnam(self.name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def command(self, *argv: str | Path) -> list[str]:
        """``argv`` run as this user (setpriv executes it: the pid is the program's)."""
        if not self.name:
            return [str(a) for a in argv]
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--",
            *(str(a) for a in argv),
        ]

    def own(self, path: Path) -> None:
        if self.name:
            os.chown(path, self.uid, self.gid)

    def remove(self) -> None:
        if self.name:
            subprocess.run(["userdel", "-r", self.name], check=False, capture_output=True)
            subprocess.run(["groupdel", self.name], check=False, capture_output=True)


class PostgresServer:
    """One PostgreSQL server in a temporary directory; :meth:`stop` removes every trace."""

    def __init__(self) -> None:
        self.bin = bin_dir()
        # In /tmp: every user may reach it (a private TMPDIR would shut the server's user out).
        self.root = Path(tempfile.mkdtemp(prefix="lw-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = 0
        self._user = _OsUser()
        self._process: subprocess.Popen[bytes] | None = None
        self._admin: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._spare: list[str] = []  # emptied databases, handed out again by fresh_url

    # --- life --------------------------------------------------------------------------------

    def start(self) -> PostgresServer:
        try:
            self.root.chmod(0o755)
            self._user.own(self.root)
            self._run(
                "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--locale=C", "--no-sync", "--no-instructions",
            )  # fmt: skip
            for _attempt in range(3):  # a free port may be taken before the server binds it
                if self._launch():
                    return self
            raise PostgresUnavailable(f"PostgreSQL did not start: {self._log_tail()}")
        except BaseException:
            self.stop()
            raise

    def _run(self, program: str, *args: str | Path) -> None:
        done = subprocess.run(
            self._user.command(self.bin / program, *args),
            cwd=self.root,
            env=_environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise PostgresUnavailable(f"{program} failed: {done.stderr.strip() or done.stdout}")

    def _launch(self) -> bool:
        """Start ``postgres`` on a free port; True once it answers, False if it exited."""
        self.port = free_port()
        settings = [f"-c{key}={value}" for key, value in _TEST_SETTINGS.items()]
        with open(self.log, "ab") as log:
            self._process = subprocess.Popen(
                self._user.command(
                    self.bin / "postgres",
                    "-D",
                    self.data,
                    "-k",
                    self.root,
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    *settings,
                ),
                cwd=self.root,
                env=_environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + _START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            try:
                self._admin = psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5)
                return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise PostgresUnavailable(f"PostgreSQL did not answer in {_START_SECONDS:.0f} s")

    def stop(self) -> None:
        """Stop the server (fast shutdown), delete its directory and its OS user."""
        if self._admin is not None:
            with contextlib.suppress(psycopg.Error):
                self._admin.close()
            self._admin = None
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown: disconnects every client
            try:
                process.wait(_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
        self._user.remove()

    def _log_tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-5:])

    # --- databases ---------------------------------------------------------------------------

    @property
    def admin_url(self) -> str:
        """The ``postgres`` database over the unix socket (to create and drop others)."""
        return self._socket_url("postgres")

    def url(self, dbname: str) -> str:
        """A database's URL over TCP (127.0.0.1), as a supervisor anywhere on this host uses."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def fresh_url(self) -> str:
        """An empty database (``lw_<hex>``) no one else uses; its URL. A database a test is
        done with is emptied and handed out again (:meth:`drop`): creating one takes a
        quarter of a second, emptying one a few milliseconds."""
        with self._lock:
            name = self._spare.pop() if self._spare else ""
        if not name:
            name = f"lw_{secrets.token_hex(6)}"
            self._admin_execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop(self, url: str) -> None:
        """Done with the database of a :meth:`fresh_url` URL: its connections are closed,
        every schema in it dropped and an empty ``public`` made, for the next test; a
        database that cannot be emptied so is dropped."""
        name = url.rsplit("/", 1)[-1]
        self._admin_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        try:
            with psycopg.connect(self._socket_url(name), autocommit=True) as db:
                schemas = [
                    str(row[0])
                    for row in db.execute(
                        "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                        "AND nspname <> 'information_schema'"
                    )
                ]
                for schema in schemas:
                    db.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())
                db.execute(b"CREATE SCHEMA public")
        except psycopg.Error:
            self._admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        with self._lock:
            self._spare.append(name)

    def _socket_url(self, dbname: str) -> str:
        return f"postgresql://postgres@/{dbname}?host={self.root}&port={self.port}"

    def _admin_execute(self, sql: str) -> None:
        with self._lock:
            if self._admin is None or self._admin.closed:
                self._admin = psycopg.connect(self.admin_url, autocommit=True)
            self._admin.execute(sql.encode())


def _environment() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "TZ")}
    return {**keep, "LC_ALL": "C", "LANG": "C"}


_session: PostgresServer | None = None
_session_lock = threading.Lock()


def cut_sessions(url: str) -> None:
    """End every other session on ``url``'s database, as a server restart would, and wait
    until they are gone: a store's connection fails at its next use, then opens again."""
    with psycopg.connect(url, autocommit=True) as admin:
        others = "datname = current_database() AND pid <> pg_backend_pid()"
        admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}")
        for _ in range(3000):
            left = admin.execute(f"SELECT COUNT(*) FROM pg_stat_activity WHERE {others}")
            if left.fetchone() == (0,):
                return
            time.sleep(0.01)


def session_server() -> PostgresServer:
    """The test process's one server: started on first use, stopped at exit."""
    global _session
    with _session_lock:
        if _session is None:
            _session = PostgresServer().start()
            atexit.register(stop_session_server)
        return _session


def stop_session_server() -> None:
    global _session
    with _session_lock:
        server, _session = _session, None
    if server is not None:
        server.stop()
