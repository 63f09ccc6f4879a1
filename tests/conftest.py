from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.client import Client

from .os_users import users
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
