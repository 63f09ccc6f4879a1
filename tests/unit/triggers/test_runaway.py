"""The firing budget through the supervisor, over a real SQLite store and without gRPC."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.firing_budget import BudgetLimits, FiringBudget
from latchwork.server.core.model import CallbackSpec, JobSpec, Prototype, WorkSpec
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.output import OutputStore
from latchwork.server.store.opening import open_store
from latchwork.server.store.protocol import Store
from latchwork.server.supervisor import Supervisor

from ..factories import Sink, frames_spec

LOOP = [
    CallbackSpec("blocked-job-self", "qube", "unblock-self"),
    CallbackSpec("unblocked-job-self", "qube", "block-self"),
    CallbackSpec("submit-job-self", "qube", "block-self"),
]


class Farm:
    def __init__(self, root: Path, location: str | Path) -> None:
        self.root = root
        self.location = location
        self.stores: list[Store] = []

    def open(self, firing_budget: FiringBudget | None = None) -> Supervisor:
        store = open_store(self.location)
        self.stores.append(store)
        return Supervisor(store, OutputStore(self.root / "output"), firing_budget=firing_budget)

    def close(self) -> None:
        for store in self.stores:
            store.close()
        self.stores.clear()


@pytest.fixture
def farm(tmp_path: Path, store_location: str | Path) -> Iterator[Farm]:
    farm = Farm(tmp_path, store_location)
    yield farm
    farm.close()


async def settle(sup: Supervisor) -> None:
    """Let the event loop run until no callback run is pending (or give up, loudly)."""
    for _ in range(2000):
        await asyncio.sleep(0.005)
        if not sup.store.pending_runs():
            return
    raise AssertionError("callbacks never stopped running")


def events(sup: Supervisor) -> list[Event]:
    return sup.event_log.read(0, 1_000_000)


def suspensions(sup: Supervisor) -> list[Event]:
    return [e for e in events(sup) if (e.name, e.type) == (EventName.SUSPENDED, EventType.CALLBACK)]


async def test_the_three_line_loop_is_suspended_at_the_depth_budget(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1", callbacks=LOOP)], user="alice").jobs[0]
    await settle(sup)
    runs = sup.list_runs(job_id=job.id, limit=10_000)
    assert sorted(r.depth for r in runs) == list(range(101))  # depth 0 (submit) to 100
    assert all(r.done and r.outcome == "ok" for r in runs)
    [suspended] = suspensions(sup)
    first = sup.callbacks_of(job.id)[0]
    assert suspended.job_id == job.id and suspended.user == "alice"
    assert f"callback {first.id} (blocked-job-self) suspended" in suspended.message
    assert "depth 101" in suspended.message and "budget is 100" in suspended.message
    assert first.suspended.startswith("depth: ")
    assert [bool(c.suspended) for c in sup.callbacks_of(job.id)] == [True, False, False]
    assert len(events(sup)) < 300  # a few hundred events, not hundreds of thousands


async def test_a_suspended_callback_stays_suspended_across_a_restart(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1", callbacks=LOOP)], user="alice").jobs[0]
    await settle(sup)
    farm.close()

    sup = farm.open()
    first = sup.callbacks_of(job.id)[0]
    assert "depth 101" in first.suspended
    before = len(sup.list_runs(job_id=job.id, limit=10_000))
    sup.control(OperatorAction.UNBLOCK, [job.id], [])  # blocked -> unblocked: fires the second one
    await settle(sup)
    after = sup.list_runs(job_id=job.id, limit=10_000)
    # The unblock fires `unblocked-job-self` (block-self), whose block would fire the
    # suspended first callback: it does not, so one run and the job ends blocked.
    assert len(after) == before + 1
    assert {r.callback_id for r in after[: len(after) - before]} == {sup.callbacks_of(job.id)[1].id}
    assert sup.index.jobs[job.id].status is JobStatus.BLOCKED
    assert len(suspensions(sup)) == 1


async def test_the_rate_bound_suspends_a_callback_that_keeps_cascading(farm: Farm) -> None:
    sup = farm.open(FiringBudget(BudgetLimits(max_depth=0, burst=30)))
    job = sup.submit([frames_spec("1", callbacks=LOOP)], user="alice").jobs[0]
    await settle(sup)
    [suspended] = suspensions(sup)
    assert "(rate)" in suspended.message and "30 firings per 60 s" in suspended.message
    runs = sup.list_runs(job_id=job.id, limit=10_000)
    assert len(runs) == 1 + 30 + 30  # the submit firing, then 30 cascade firings of each


async def test_a_wide_legitimate_cascade_and_direct_firings_are_not_suspended(
    farm: Farm,
) -> None:
    """unblock-self on a 500-frame job makes 500 `unblocked` work events at depth 1: a
    per-frame callback fires for every one; frames reported by a worker fire at depth 0."""
    sup = farm.open()
    job = sup.submit(
        [
            JobSpec(
                cmdline="render",
                prototype=Prototype.CMDRANGE,
                agenda=[WorkSpec(str(n), WorkStatus.BLOCKED) for n in range(1, 501)],
                callbacks=[
                    CallbackSpec("submit-job-self", "qube", "unblock-self"),
                    CallbackSpec("unblocked-work-self-*", "qube", "block-work-self"),
                    CallbackSpec("blocked-work-self-*", "qube", "unblock-work-self", max=500),
                ],
            )
        ],
        user="alice",
    ).jobs[0]
    await settle(sup)
    first, per_frame, back = sup.callbacks_of(job.id)
    assert suspensions(sup) == []
    assert (first.fired, per_frame.fired, back.fired) == (1, 500 + 500, 500)
    assert not (first.suspended or per_frame.suspended or back.suspended)

    direct = sup.submit(
        [
            frames_spec(
                "1-300",
                callbacks=[CallbackSpec("complete-work-self-*", "qube", "unblock-work-self")],
            )
        ],
        user="bob",
    ).jobs[0]
    sup.triggering.budget = FiringBudget(BudgetLimits(max_depth=1, burst=5))
    worker = sup.register_worker("node1", Sink())
    while (grants := sup.lease(worker, 50)) and direct.status is not JobStatus.COMPLETE:
        for grant in grants:
            sup.report(grant.lease_id, WorkOutcome.EXITED, 0)
        await settle(sup)
    assert sup.callbacks_of(direct.id)[0].fired > 5
    assert not sup.callbacks_of(direct.id)[0].suspended
