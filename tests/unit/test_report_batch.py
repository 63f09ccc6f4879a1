"""WorkLeasing.report_many_and_lease: a worker's reports and its next leases in one transaction.

Against the real store (SQLite, then PostgreSQL): the store's ``write`` is counted by wrapping
the store's own method (every write still happens), so one call is seen to be one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.work_leasing import EndedRun

from .factories import Farm, Sink, frames_spec


def _count_writes(farm: Farm) -> list[int]:
    store = farm.stores[-1]
    writes = [0]
    write: Callable[..., None] = store.write

    def counted(*args: Any, **kwargs: Any) -> None:
        write(*args, **kwargs)
        writes[0] += 1

    store.write = counted  # type: ignore[method-assign]
    return writes


async def test_reports_and_the_next_leases_are_one_transaction(farm: Farm) -> None:
    sup = farm.open()
    job = sup.submit([frames_spec("1-6", cpus=6)], user="alice").jobs[0]
    worker = sup.register_worker("node1", Sink())
    first = sup.lease(worker, 4)
    writes = _count_writes(farm)
    reports = [
        EndedRun(first[0].lease_id, WorkOutcome.EXITED, 0),
        EndedRun(first[1].lease_id, WorkOutcome.EXITED, 1, "bad frame"),
        EndedRun("no-such-lease", WorkOutcome.EXITED, 0),
    ]
    accepted, grants = sup.report_many_and_lease(reports, worker_id=worker, max_leases=3)
    assert writes == [1]
    assert accepted == [True, True, False]
    assert sorted(g.work_name for g in grants) == ["5", "6"]  # all that is left
    statuses = [item.status for item in job.work]
    done = [WorkStatus.COMPLETE, WorkStatus.FAILED]
    assert statuses == [*done, *[WorkStatus.RUNNING] * 4]
    assert sup.worker_leases(worker) == {g.lease_id for g in [*first[2:], *grants]}
    # Reported again: refused, nothing stored.
    again, none = sup.report_many_and_lease(reports[:1], worker_id=worker, max_leases=0)
    assert (again, none, writes) == ([False], [], [1])
    # The rest, with no leases asked for: one transaction again; then the job has ended.
    rest = [EndedRun(g.lease_id, WorkOutcome.EXITED) for g in [*first[2:], *grants]]
    accepted, grants = sup.report_many_and_lease(rest, worker_id=worker)
    assert (accepted, grants, writes) == ([True] * 4, [], [2])
    assert job.status is JobStatus.FAILED
    # After a restart the store holds what the model held.
    restarted = farm.restart()
    statuses = [item.status for item in restarted.get_job(job.id).work]  # type: ignore[union-attr]
    assert statuses == [WorkStatus.COMPLETE, WorkStatus.FAILED, *[WorkStatus.COMPLETE] * 4]
