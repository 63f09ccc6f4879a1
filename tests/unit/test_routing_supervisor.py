"""Routing through the supervisor (no gRPC): the checks at submit, leases on suiting hosts
only, licences taken by leases and given back whatever ends them, and why a job waits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.routing.hosts import Resources
from latchwork.server.core.submission import SubmissionRejected
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.host_registry import HostInfo
from latchwork.server.output import OutputStore
from latchwork.server.store import SqliteStore
from latchwork.server.store.opening import open_store
from latchwork.server.supervisor import Supervisor

from .factories import Sink, frames_spec


@pytest.fixture
def sup(tmp_path: Path) -> Iterator[Supervisor]:
    store = SqliteStore(tmp_path / "latchwork.db")
    yield Supervisor(store, OutputStore(tmp_path / "output"), global_resources={"nuke": 2})
    store.close()


def worker(sup: Supervisor, name: str, slots: int = 4, memory_mb: int = 8_000, **kw: object) -> str:
    info = HostInfo(name, slots, Resources(cores=slots, memory_mb=memory_mb), **kw)  # type: ignore[arg-type]
    return sup.register_worker(name, Sink(), info)


def test_bad_routing_is_refused_at_submit_with_field_and_offset(sup: Supervisor) -> None:
    with pytest.raises(SubmissionRejected) as refused:
        sup.submit(
            [
                frames_spec("1"),
                frames_spec("1", requirements="host.memory >= 4000 and", hosts="a,,b"),
                frames_spec("1", reservations="global.maya=1"),
            ]
        )
    paths = {error.path: error.message for error in refused.value.errors}
    assert set(paths) == {"jobs[1].requirements", "jobs[1].hosts", "jobs[2].reservations"}
    assert "(offset 2)" in paths["jobs[1].hosts"]
    assert "(offset 7)" in paths["jobs[2].reservations"]
    assert "unknown global resource 'maya'" in paths["jobs[2].reservations"]
    assert "nuke" in paths["jobs[2].reservations"]  # the known ones are named
    assert sup.all_jobs() == []  # all or none


def test_leases_go_to_suiting_hosts_only(sup: Supervisor) -> None:
    small = worker(sup, "small", groups=("a",))
    big = worker(sup, "big", memory_mb=64_000)
    job = sup.submit([frames_spec("1-3", cpus=3, reservations="host.memory=32000")]).jobs[0]
    assert sup.lease(small, 4) == []
    grants = sup.lease(big, 4)
    assert len(grants) == 2  # 2 x 32000 MB fill its 64000
    assert {w.host for w in job.work if w.host} == {"big"}
    grouped = sup.submit([frames_spec("1", groups="a", priority=1)]).jobs[0]
    assert [g.job_id for g in sup.lease(big, 4)] == []
    assert [g.job_id for g in sup.lease(small, 4)] == [grouped.id]


def test_licences_are_given_back_whatever_ends_the_lease(sup: Supervisor) -> None:
    a, b = worker(sup, "a"), worker(sup, "b")
    job = sup.submit([frames_spec("1-6", cpus=6, reservations="global.nuke=1")]).jobs[0]
    first = sup.lease(a, 4)
    assert len(first) == 2 and sup.lease(b, 4) == []  # the limit, across workers
    licences = sup.routing.licences
    assert licences.in_use("nuke") == 2
    sup.report(first[0].lease_id, WorkOutcome.EXITED, 0)  # complete
    assert licences.in_use("nuke") == 1
    second = sup.lease(b, 4)
    assert len(second) == 1 and licences.in_use("nuke") == 2
    sup.report(first[1].lease_id, WorkOutcome.TIMED_OUT)  # timed out
    assert licences.in_use("nuke") == 1
    sup.drop_worker(b, "lost")  # worker lost: its frame is requeued
    assert licences.in_use("nuke") == 0
    third = sup.lease(a, 4)
    assert len(third) == 2
    sup.control(OperatorAction.KILL, [job.id], [])  # killed
    assert licences.in_use("nuke") == 0


def test_a_refill_after_a_report_reuses_the_licence(sup: Supervisor) -> None:
    a = worker(sup, "a", slots=1)
    sup.submit([frames_spec("1-2", cpus=2, reservations="global.nuke=2")])
    (grant,) = sup.lease(a, 1)
    accepted, grants = sup.report_and_lease(
        grant.lease_id, WorkOutcome.EXITED, 0, worker_id=a, max_leases=1
    )
    assert accepted and len(grants) == 1
    assert sup.routing.licences.in_use("nuke") == 2


def test_leases_found_running_at_load_hold_their_licences(
    tmp_path: Path, store_location: str | Path
) -> None:
    store = open_store(store_location)
    sup = Supervisor(store, OutputStore(tmp_path / "output"), global_resources={"nuke": 2})
    a = worker(sup, "a")
    sup.submit([frames_spec("1-3", cpus=3, reservations="global.nuke=1")])
    assert len(sup.lease(a, 4)) == 2
    store.close()
    store = open_store(store_location)
    again = Supervisor(store, OutputStore(tmp_path / "output"), global_resources={"nuke": 2})
    assert again.routing.licences.in_use("nuke") == 2
    again.recover()  # this supervisor requeues them: they give their licences back
    assert again.routing.licences.in_use("nuke") == 0
    store.close()


def test_waiting_reasons(sup: Supervisor) -> None:
    worker(sup, "small")
    huge, plain, licensed = sup.submit(
        [
            frames_spec("1", reservations="host.memory=64000"),
            frames_spec("1"),
            frames_spec("1", reservations="global.nuke=3"),
        ]
    ).jobs
    reasons = sup.waiting_reasons([huge, plain, licensed])
    assert reasons[huge.id] == (
        "no host can ever run this job: the only host: less than 64000 MB memory"
    )
    assert plain.id not in reasons
    assert reasons[licensed.id].startswith("no host can ever run this job: licence nuke: 3 wanted")
    big = worker(sup, "big", memory_mb=128_000)
    assert huge.id not in sup.waiting_reasons([huge])
    assert [g.job_id for g in sup.lease(big, 1)] == [huge.id]


def test_host_processors_take_that_many_slots(sup: Supervisor) -> None:
    a = worker(sup, "a", slots=4)
    sup.submit([frames_spec("1-3", cpus=3, reservations="host.processors=2")])
    grants = sup.lease(a, 4)
    assert len(grants) == 2  # 2 x 2 slots fill its 4
    assert sup.lease(a, 4) == []
    sup.report(grants[0].lease_id, WorkOutcome.EXITED, 0)
    assert len(sup.lease(a, 4)) == 1
