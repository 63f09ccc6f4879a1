from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.client import Client

from .os_users import users
from .pg_server import PostgresServer, session_server, stop_session_server
from .privileges import require_root
from .serverproc import ServerProcess

__all__ = ["users"]  # the fixture of real OS users, for every test that asks for it


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data").start()
    yield process
    process.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """The session's real PostgreSQL server (tests/pg_server.py), stopped at the end."""
    yield session_server()
    stop_session_server()


@pytest.fixture
def postgres_url(pg_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server, dropped after the test."""
    url = pg_server.fresh_url()
    yield url
    pg_server.drop(url)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_root(reason): the test needs root (privileges.py)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``needs_root`` fails when the suite is not root; it never skips."""
    marker = item.get_closest_marker("needs_root")
    if marker is not None:
        require_root(marker.args[0])
