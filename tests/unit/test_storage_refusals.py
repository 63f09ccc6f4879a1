"""When the store refuses a change (a full disk), nothing is lost, run twice or left behind.

A real supervisor over a real store (an SQLite file, then a PostgreSQL database); only the
store's ``write`` is made to refuse, the way SQLite does while its disk is full, for as long
as a test says.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from latchwork.sandbox.python.pool import PythonCall, PythonResult
from latchwork.server.callrunner import CallbackRunner, OwnerQueue
from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.model import CallbackSpec
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.mailer import Mailer, MailSettings
from latchwork.server.store.errors import StorageFull
from latchwork.server.store.protocol import Store

from .factories import frames_spec, python_supervisor


class FullDisk:
    """Makes ``store.write`` refuse while ``full`` is set, counting the refused writes."""

    def __init__(self, store: Store) -> None:
        self.full = False
        self.refused = 0
        write = store.write

        def refusing_write(*args: object, **kwargs: object) -> None:
            if self.full:
                self.refused += 1
                raise StorageFull("database or disk is full")
            write(*args, **kwargs)  # type: ignore[arg-type]

        store.write = refusing_write  # type: ignore[method-assign]


class NoSink:
    def kill(self, lease_id: str) -> None: ...

    def suspend(self, lease_id: str) -> None: ...

    def resume(self, lease_id: str) -> None: ...


class QuietSandbox:
    """Stands for the sandbox process: the code ran and asked for nothing."""

    async def run(self, call: PythonCall) -> PythonResult:
        return PythonResult([], "ran", "", 0, "", 0.1)


@pytest.fixture
def store(any_store: Store) -> Store:
    return any_store


async def test_a_refused_registration_leaves_nothing_to_run(store: Store, tmp_path: Path) -> None:
    sup = python_supervisor(store, tmp_path)
    disk = FullDisk(store)
    job = sup.submit([frames_spec("1", status=JobStatus.BLOCKED)]).jobs[0]
    disk.full = True
    with pytest.raises(StorageFull):
        sup.add_callbacks(job.id, [CallbackSpec("submit-job-self", "qube", "unblock-self")])
    assert store.pending_runs() == [] and sup.callbacks_of(job.id) == []
    disk.full = False
    sup.add_callbacks(job.id, [CallbackSpec("submit-job-self", "qube", "unblock-self")])
    assert [(r.done, r.outcome) for r in sup.list_runs(job_id=job.id)] == [(True, "ok")]
    assert sup.get_job(job.id).status is JobStatus.PENDING  # type: ignore[union-attr]


async def test_a_run_refused_while_full_is_retried_calmly_and_runs_once(
    store: Store, tmp_path: Path
) -> None:
    sup = python_supervisor(store, tmp_path)
    disk = FullDisk(store)
    job = sup.submit([frames_spec("1", status=JobStatus.BLOCKED)]).jobs[0]
    # The firing is stored with the registration; its end is what the full disk refuses.
    write = store.write
    writes = 0

    def full_after_first(*args: object, **kwargs: object) -> None:
        nonlocal writes
        writes += 1
        if writes > 1:
            disk.full = True
        write(*args, **kwargs)  # type: ignore[arg-type]

    store.write = full_after_first  # type: ignore[method-assign]
    sup.add_callbacks(job.id, [CallbackSpec("submit-job-self", "qube", "unblock-self")])
    await asyncio.sleep(0.5)
    # Refused once, then waiting: no tight loop of attempts while the disk stays full.
    assert 1 <= disk.refused <= 2
    assert [r.done for r in store.pending_runs()] == [False]
    disk.full = False
    store.write = write  # type: ignore[method-assign]
    for _ in range(40):
        await asyncio.sleep(0.1)
        if not store.pending_runs():
            break
    runs = sup.list_runs(job_id=job.id)
    assert [(r.done, r.outcome) for r in runs] == [(True, "ok")]
    assert sup.get_job(job.id).status is JobStatus.PENDING  # type: ignore[union-attr]


async def test_a_python_run_is_handed_out_once_though_a_commit_failed_meanwhile(
    store: Store, tmp_path: Path
) -> None:
    queue = OwnerQueue.for_slots(2)
    sup = python_supervisor(store, tmp_path, run_queue=queue)
    runner = CallbackRunner(sup, QuietSandbox(), Mailer(MailSettings()), queue)
    disk = FullDisk(store)
    job = sup.submit(
        [frames_spec("1", callbacks=[CallbackSpec("submit-job-self", "python", "print(1)")])]
    ).jobs[0]
    run = runner.queue.take()
    # Another change fails to store while the run is with the runner: the model is reloaded
    # from the store, whose list of unfinished runs still holds this one.
    disk.full = True
    with pytest.raises(StorageFull):
        sup.control(OperatorAction.BLOCK, [job.id], [])
    # Its end cannot be stored yet either: the runner keeps it and tries again.
    finishing = asyncio.create_task(runner.run(run))
    await asyncio.sleep(0.3)
    assert not finishing.done()
    disk.full = False
    await asyncio.wait_for(finishing, 10)
    await asyncio.sleep(0.1)
    assert runner.queue.waiting() == 0, "the reload did not hand the run out again"
    runs = sup.list_runs(job_id=job.id)
    assert [(r.done, r.outcome, r.output) for r in runs] == [(True, "ok", "ran")]


async def test_a_report_refused_while_full_keeps_its_lease_for_the_retry(
    store: Store, tmp_path: Path
) -> None:
    sup = python_supervisor(store, tmp_path)
    disk = FullDisk(store)
    worker = sup.register_worker("farm01", NoSink())
    job = sup.submit([frames_spec("1")]).jobs[0]
    [grant] = sup.lease(worker, 1)
    disk.full = True
    with pytest.raises(StorageFull):
        sup.report_and_lease(grant.lease_id, WorkOutcome.EXITED, 0, "exit code 0")
    assert sup.worker_leases(worker) == {grant.lease_id}, "still the worker's own"
    disk.full = False
    accepted, _ = sup.report_and_lease(grant.lease_id, WorkOutcome.EXITED, 0, "exit code 0")
    assert accepted
    assert sup.get_job(job.id).status is JobStatus.COMPLETE  # type: ignore[union-attr]
    assert sup.worker_leases(worker) == set()


async def test_a_lost_worker_refused_while_full_can_be_dropped_again(
    store: Store, tmp_path: Path
) -> None:
    sup = python_supervisor(store, tmp_path)
    disk = FullDisk(store)
    worker = sup.register_worker("farm01", NoSink())
    job = sup.submit([frames_spec("1")]).jobs[0]
    [grant] = sup.lease(worker, 1)
    disk.full = True
    with pytest.raises(StorageFull):
        sup.drop_worker(worker, "worker lost")
    assert sup.knows_worker(worker) and sup.worker_leases(worker) == {grant.lease_id}
    disk.full = False
    sup.drop_worker(worker, "worker lost")
    assert not sup.knows_worker(worker)
    [item] = sup.get_job(job.id).work  # type: ignore[union-attr]
    assert (item.status, item.retries) == (WorkStatus.PENDING, 0)
