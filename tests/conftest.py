from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.client import Client

from .os_users import users
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_root(reason): the test needs root (privileges.py)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``needs_root`` fails when the suite is not root; it never skips."""
    marker = item.get_closest_marker("needs_root")
    if marker is not None:
        require_root(marker.args[0])
