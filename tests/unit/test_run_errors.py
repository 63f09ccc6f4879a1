"""Every run ends (issue 10, item 9): an unexpected failure on a run's path finishes the run
as an error with a plain message, over a real supervisor and SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.sandbox.actions import CallbackAction, Scope, Verb
from latchwork.sandbox.python.pool import PythonCall, PythonResult
from latchwork.server.callrunner import CallbackRunner, OwnerQueue
from latchwork.server.core.model import CallbackSpec
from latchwork.server.core.runs import CallbackRun
from latchwork.server.core.states import JobStatus
from latchwork.server.mailer import Mailer, MailSettings
from latchwork.server.store import SqliteStore

from .factories import frames_spec, python_supervisor


class BrokenSandbox:
    """A sandbox that fails in a way the runner does not expect (its contract says never)."""

    async def run(self, call: PythonCall) -> PythonResult:
        raise RuntimeError("the sandbox fell over")


@pytest.fixture
def tmp_store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "latchwork.db")
    yield store
    store.close()


async def test_an_exception_inside_the_runner_finishes_the_run_as_an_error(
    tmp_store: SqliteStore, tmp_path: Path
) -> None:
    queue = OwnerQueue.for_slots(2)
    sup = python_supervisor(tmp_store, tmp_path, run_queue=queue)
    runner = CallbackRunner(sup, BrokenSandbox(), Mailer(MailSettings()), queue)
    job = sup.submit(
        [frames_spec("1", callbacks=[CallbackSpec("submit-job-self", "python", "print(1)")])]
    ).jobs[0]
    run = runner.queue.take()
    await runner.run(run)
    [stored] = sup.list_runs(job_id=job.id)
    assert (stored.done, stored.outcome) == (True, "error")
    assert stored.error == "the run failed: the sandbox fell over"
    assert tmp_store.pending_runs() == []


async def test_actions_that_fail_to_apply_finish_the_run_and_change_nothing(
    tmp_store: SqliteStore, tmp_path: Path
) -> None:
    sup = python_supervisor(tmp_store, tmp_path)
    job = sup.submit([frames_spec("1", status=JobStatus.BLOCKED)]).jobs[0]
    run = CallbackRun(1, 0, job.id, "submit-job-self", "", 1, 0.0)
    # `complete` applies to work items only; a job-scope one slips through the checks and
    # fails halfway, after the unblock before it was applied in memory.
    actions = [
        CallbackAction(Verb.UNBLOCK, Scope.JOB, job.id),
        CallbackAction(Verb.COMPLETE, Scope.JOB, job.id),
    ]
    sup.finish_run(run, actions)
    [stored] = sup.list_runs(job_id=job.id)
    assert (stored.done, stored.outcome) == (True, "error")
    assert stored.error.startswith("its actions could not be applied")
    assert "Error" not in stored.error  # a plain message, no class names
    assert sup.index.jobs[job.id].status is JobStatus.BLOCKED  # the half-applied unblock is undone
    assert sup.index.jobs[job.id].blocked


def test_owners_are_served_in_turn_with_a_cap_while_others_wait() -> None:
    owners = {1: "alice", 2: "bob", 3: "carol"}
    queue = OwnerQueue(cap=1)

    def put(run_id: int, job_id: int) -> None:
        queue.put_nowait(CallbackRun(run_id, 0, job_id, "", "", 0, 0.0), owners[job_id])

    for i in range(10):
        put(i, 1)
    first, second = queue.take(), queue.take()  # alone: alice may use every slot
    assert (first.id, second.id) == (0, 1)
    put(100, 2)
    put(101, 2)
    put(200, 3)
    queue.done(first)
    assert queue.take().id == 100  # alice is at her cap while others wait
    queue.done(second)
    assert queue.take().id == 200  # carol was never served
    assert queue.take().id == 2  # alice has none going now, bob one
    assert queue.take().id == 101  # all at the cap: bob was served longest ago
    assert [queue.waiting(o) for o in ("alice", "bob", "carol")] == [7, 0, 0]
    assert [queue.going(o) for o in ("alice", "bob", "carol")] == [1, 2, 1]
