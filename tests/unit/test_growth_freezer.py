"""What a growing history leaves to Python's cyclic collector: after Submits of any size,
what they added is frozen (``gc.freeze``) once enough of it came, so that a full collection
never walks the whole history (issue 16: no collector cliffs while history grows).

A real supervisor over a real SQLite file. The freeze is process-wide: the tests that let a
supervisor freeze unfreeze again at the end, and the threshold is lowered so that a few small
Submits (not staged) reach it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server import job_index
from latchwork.server.core.model import Job
from latchwork.server.job_index import GrowthFreezer
from latchwork.server.supervisor import Supervisor

from .factories import Farm, frames_spec


class Freezes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def jobs_of(farm_supervisor: Supervisor, frames: int, jobs: int = 1) -> list[Job]:
    return farm_supervisor.submit([frames_spec(f"1-{frames}") for _ in range(jobs)]).jobs


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Give back to the collector what a test's supervisor froze."""
    yield
    gc.unfreeze()


def test_freezes_once_enough_rows_came_whatever_the_submits_sizes(tmp_path: Path) -> None:
    farm = Farm(tmp_path)
    supervisor = farm.open()
    freezes = Freezes()
    freezer = GrowthFreezer(True, after_rows=100, freeze=freezes)
    try:
        freezer.added(jobs_of(supervisor, 48))  # 1 job + 48 work items + its instance: 50 rows
        assert freezes.count == 0
        freezer.added(jobs_of(supervisor, 8, jobs=5))  # 5 x 10 rows: 100 in all
        assert freezes.count == 1
        freezer.added(jobs_of(supervisor, 97))  # 99 rows, counted again from zero
        assert freezes.count == 1
        freezer.freeze_now()  # a staged Submit freezes at once, and starts the count again
        assert freezes.count == 2
        freezer.added(jobs_of(supervisor, 48))
        assert freezes.count == 2
    finally:
        farm.close()


def test_a_disabled_freezer_never_freezes(tmp_path: Path) -> None:
    farm = Farm(tmp_path)
    supervisor = farm.open()
    freezes = Freezes()
    freezer = GrowthFreezer(False, after_rows=1, freeze=freezes)
    try:
        freezer.added(jobs_of(supervisor, 10, jobs=3))
        freezer.freeze_now()
        assert freezes.count == 0
    finally:
        farm.close()


def test_small_submits_leave_their_jobs_frozen_once_enough_came(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unfrozen: None
) -> None:
    monkeypatch.setattr(job_index, "FREEZE_AFTER_ROWS", 200)
    farm = Farm(tmp_path, freeze_long_lived=True)
    try:
        supervisor = farm.open()  # freezes what it loaded
        frozen = gc.get_freeze_count()
        first = jobs_of(supervisor, 48, jobs=2)  # 100 rows: not yet (some may be freed)
        assert gc.get_freeze_count() <= frozen
        assert gc.is_tracked(first[0].work[0])
        jobs_of(supervisor, 48, jobs=2)  # 200 rows: what is alive is frozen
        assert gc.get_freeze_count() > frozen + 200
        # Frozen objects stay tracked, in the permanent generation the collector skips.
        assert all(not any(o is first[0] for o in gc.get_objects(g)) for g in (0, 1, 2))
    finally:
        farm.close()
