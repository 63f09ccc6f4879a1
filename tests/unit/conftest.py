"""Fixtures the unit tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .factories import Farm


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[Farm]:
    """Supervisors on one data directory, each on a ticking clock; closed at the end."""
    farm = Farm(tmp_path)
    yield farm
    farm.close()
