"""Fixtures the unit tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server.store.opening import open_store
from latchwork.server.store.protocol import Store

from .factories import Farm


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a test's store lives: an SQLite file, then a fresh PostgreSQL database (every
    storage-dependent test runs on both; issue 16)."""
    if request.param == "sqlite":
        return tmp_path / "data" / "latchwork.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def any_store(store_location: str | Path) -> Iterator[Store]:
    """A store on SQLite, then on PostgreSQL; closed at the end."""
    store = open_store(store_location)
    yield store
    store.close()


@pytest.fixture
def farm(tmp_path: Path, store_location: str | Path) -> Iterator[Farm]:
    """Supervisors on one data directory, each on a ticking clock; closed at the end. Their
    store is an SQLite file, then a PostgreSQL database."""
    farm = Farm(tmp_path, location=store_location)
    yield farm
    farm.close()
