"""The farm's totals kept commit by commit (core.farm_counts) always equal a fresh count over
every job: checked after each step of random operations through a real supervisor and store,
and after a failed write (the model reloaded) and a restart."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter

import pytest

from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.farm_summary import count_jobs
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.core.visibility import EVERYTHING
from latchwork.server.supervisor import Supervisor

from .factories import Farm, Sink, frames_spec


def counted_afresh(sup: Supervisor) -> tuple[dict[JobStatus, int], dict[WorkStatus, int]]:
    jobs: Counter[JobStatus] = Counter()
    frames: Counter[WorkStatus] = Counter()
    count_jobs(sup.resident_jobs(), EVERYTHING, jobs, frames)
    return {s: jobs[s] for s in JobStatus}, {s: frames[s] for s in WorkStatus}


def kept(sup: Supervisor) -> tuple[dict[JobStatus, int], dict[WorkStatus, int]]:
    return dict(sup.farm_counts.jobs), dict(sup.farm_counts.frames)


_ACTIONS = [
    OperatorAction.BLOCK,
    OperatorAction.UNBLOCK,
    OperatorAction.KILL,
    OperatorAction.RETRY,
    OperatorAction.SUSPEND,
    OperatorAction.RESUME,
    OperatorAction.REMOVE,
]


async def test_the_totals_equal_a_fresh_count_after_every_step(farm: Farm) -> None:
    sup = farm.open()
    rng = random.Random(16)
    worker = sup.register_worker("node1", Sink())
    leases: list[str] = []
    for step in range(400):
        roll = rng.random()
        job_ids = [job.id for job in sup.resident_jobs() if not job.removed]
        if roll < 0.2 or not job_ids:
            frames = f"1-{rng.randint(1, 6)}"
            sup.submit([frames_spec(frames, cpus=2, retry=rng.randint(0, 1))], user="alice")
        elif roll < 0.45:
            leases += [grant.lease_id for grant in sup.lease(worker, rng.randint(1, 4))]
        elif roll < 0.75 and leases:
            lease = leases.pop(rng.randrange(len(leases)))
            outcome = rng.choice([WorkOutcome.EXITED, WorkOutcome.EXITED, WorkOutcome.TIMED_OUT])
            sup.report(lease, outcome, rng.choice([0, 0, 1]))
        else:
            sup.control(rng.choice(_ACTIONS), [rng.choice(job_ids)], [])
        assert kept(sup) == counted_afresh(sup), f"step {step}"
    totals = kept(sup)
    assert sum(totals[0].values()) == len(sup.resident_jobs())
    assert totals[1][WorkStatus.COMPLETE] > 0 and totals[0][JobStatus.REMOVED] > 0
    farm.close()
    again = farm.open()  # a restart counts the loaded jobs
    assert kept(again) == totals == counted_afresh(again)


async def test_a_failed_write_leaves_the_totals_of_the_reloaded_model(
    farm: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1-4")], user="alice").jobs[0]
    before = kept(sup)

    def full_disk(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sup.store, "write", full_disk)
    with pytest.raises(sqlite3.OperationalError):
        sup.control(OperatorAction.KILL, [job.id], [])  # changed in memory, then not stored
    assert kept(sup) == before == counted_afresh(sup)
    assert before[0][JobStatus.PENDING] == 1 and before[1][WorkStatus.PENDING] == 4
