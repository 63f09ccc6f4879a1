"""Re-attaching leases after a supervisor restart (issue 12, item 6), without gRPC: remote
hosts' leases wait a grace period for their workers, a worker of the lease's host claims them,
what is not claimed is requeued when the grace ends, the local pool's work is requeued at once,
and a claim on a lease taken back is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server.config import ConfigError, load_settings
from latchwork.server.core.actions import OperatorAction
from latchwork.server.core.events import EventName, EventType
from latchwork.server.core.routing.hosts import Resources
from latchwork.server.core.states import WorkStatus
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.host_registry import HostInfo
from latchwork.server.leases import LeaseGrant
from latchwork.server.supervisor import Supervisor

from .factories import Farm, Sink, frames_spec

GRACE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def farm(tmp_path: Path, store_location: str | Path) -> Iterator[Farm]:
    """One fixed clock for every supervisor (tests move it), licences nuke = 4; on SQLite,
    then on PostgreSQL."""
    farm = Farm(tmp_path, clock=Clock(), location=store_location, global_resources={"nuke": 4})
    yield farm
    farm.close()


def clock(farm: Farm) -> Clock:
    """The fixture's clock, which the tests move."""
    assert isinstance(farm.clock, Clock)
    return farm.clock


def host(sup: Supervisor, name: str, *, local: bool = False) -> str:
    info = HostInfo(name, 2, Resources(cores=2, memory_mb=8_000), local=local)
    return sup.register_worker(name, Sink(), info)


def running(sup: Supervisor, farm_on: dict[str, str], count: int = 1) -> dict[str, LeaseGrant]:
    """One job of ``count`` frames per host (``name -> worker id``), leased there: the
    grants by host."""
    grants = {}
    for name, worker in farm_on.items():
        sup.submit([frames_spec(f"1-{count}", cpus=count, reservations="global.nuke=1")])
        (grants[name],) = sup.lease(worker, count)
    return grants


def status(sup: Supervisor, grant: LeaseGrant) -> WorkStatus:
    job = sup.get_job(grant.job_id)
    assert job is not None
    item = job.work_named(grant.work_name)
    assert item is not None
    return item.status


def test_remote_leases_wait_for_their_worker_and_the_local_pools_are_requeued_at_once(
    farm: Farm,
) -> None:
    sup = farm.open()
    grants = running(sup, {"local": host(sup, "local", local=True), "r1": host(sup, "r1")})
    sup = farm.restart()
    assert sup.routing.licences.in_use("nuke") == 2  # held while they wait

    assert sup.recover(GRACE) == [grants["local"].lease_id]  # its processes are killed
    assert status(sup, grants["local"]) is WorkStatus.PENDING
    assert status(sup, grants["r1"]) is WorkStatus.RUNNING
    assert sup.reattach_deadline() == clock(farm).now + GRACE
    assert sup.routing.licences.in_use("nuke") == 1

    worker = host(sup, "r1")
    assert sup.reattach(worker, [grants["r1"].lease_id]) == [grants["r1"].lease_id]
    assert sup.worker_leases(worker) == {grants["r1"].lease_id}
    view = sup.get_host("r1")
    assert view is not None and view.in_use.slots == 1  # its host share is taken again
    assert sup.routing.licences.in_use("nuke") == 1
    assert sup.reattach_deadline() is None  # nothing waits any more
    assert sup.report(grants["r1"].lease_id, WorkOutcome.EXITED, 0)
    assert sup.routing.licences.in_use("nuke") == 0
    view = sup.get_host("r1")
    assert view is not None and view.in_use.slots == 0
    retried = [e for e in sup.event_log.read(0, 1000) if e.name is EventName.RETRIED]
    assert [e.work_name for e in retried] == ["1"] and "restarted" in retried[0].message


def test_what_no_worker_claims_is_requeued_when_the_grace_ends_saying_why(farm: Farm) -> None:
    sup = farm.open()
    grants = running(sup, {"r1": host(sup, "r1"), "r2": host(sup, "r2")})
    sup = farm.restart()
    assert sup.recover(GRACE) == []
    worker = host(sup, "r1")
    assert sup.reattach(worker, [grants["r1"].lease_id]) == [grants["r1"].lease_id]

    clock(farm).now += GRACE - 1
    assert sup.requeue_unclaimed() == []  # not yet
    assert status(sup, grants["r2"]) is WorkStatus.RUNNING
    head = sup.event_log.head_seq
    clock(farm).now += 1
    assert sup.requeue_unclaimed() == [grants["r2"].lease_id]
    assert status(sup, grants["r2"]) is WorkStatus.PENDING
    assert status(sup, grants["r1"]) is WorkStatus.RUNNING  # re-attached: untouched
    [event] = [e for e in sup.event_log.read(head, 100) if e.type is EventType.WORK]
    assert event.name is EventName.RETRIED
    assert (
        event.message == "its worker did not re-attach it within 30 s of the supervisor's restart"
    )
    assert sup.reattach_deadline() is None
    assert sup.routing.licences.in_use("nuke") == 1

    # The worker of r2 comes back too late: its claim is refused (it kills the frame).
    late = host(sup, "r2")
    assert sup.reattach(late, [grants["r2"].lease_id]) == []


def test_a_claim_on_a_lease_not_waiting_for_this_worker_is_refused(farm: Farm) -> None:
    sup = farm.open()
    grants = running(sup, {"r1": host(sup, "r1"), "r2": host(sup, "r2"), "r3": host(sup, "r3")})
    sup = farm.restart()
    sup.recover(GRACE)
    # Killed by an operator while its worker was away.
    sup.control(OperatorAction.KILL, [grants["r3"].job_id], [])
    r1 = host(sup, "r1")
    claims = [grants["r2"].lease_id, grants["r3"].lease_id, "no-such-lease"]
    assert sup.reattach(r1, claims) == []  # another host's, killed, unknown
    assert status(sup, grants["r2"]) is WorkStatus.RUNNING
    r2 = host(sup, "r2")
    assert sup.reattach(r2, [grants["r2"].lease_id]) == [grants["r2"].lease_id]
    assert sup.reattach(r1, [grants["r2"].lease_id]) == []  # held by r2 now
    assert sup.worker_leases(r2) == {grants["r2"].lease_id}


def test_a_worker_whose_registration_answer_was_lost_claims_its_leases_again(
    farm: Farm,
) -> None:
    """The supervisor re-attached the leases to a registration whose answer never reached the
    worker; its next registration (same host, knowing the lease ids) takes them over."""
    sup = farm.open()
    grants = running(sup, {"r1": host(sup, "r1")})
    lease = grants["r1"].lease_id
    sup = farm.restart()
    sup.recover(GRACE)
    lost_answer = host(sup, "r1")
    assert sup.reattach(lost_answer, [lease]) == [lease]
    again = host(sup, "r1")
    assert sup.reattach(again, [lease]) == [lease]
    assert (sup.worker_leases(lost_answer), sup.worker_leases(again)) == (set(), {lease})
    view = sup.get_host("r1")
    assert view is not None and view.in_use.slots == 1  # counted once
    assert sup.routing.licences.in_use("nuke") == 1


def test_a_lost_workers_leases_are_refused_when_it_comes_back(farm: Farm) -> None:
    """The hole of a worker cut off for three heartbeats: its work was requeued and may run
    elsewhere; when it registers again its claim is refused, so it kills its frame."""
    sup = farm.open()
    r1 = host(sup, "r1")
    grants = running(sup, {"r1": r1})
    sup.drop_worker(r1, "worker lost: no heartbeat for 3 periods")
    assert status(sup, grants["r1"]) is WorkStatus.PENDING
    back = host(sup, "r1")
    assert sup.reattach(back, [grants["r1"].lease_id]) == []


def test_without_a_grace_every_lease_is_requeued_at_start(farm: Farm) -> None:
    sup = farm.open()
    grants = running(sup, {"r1": host(sup, "r1")})
    sup = farm.restart()
    assert sup.recover(0) == [grants["r1"].lease_id]
    assert sup.reattach_deadline() is None
    assert sup.reattach(host(sup, "r1"), [grants["r1"].lease_id]) == []


def test_a_shutdown_requeues_the_local_pools_work_and_leaves_remote_frames_running(
    farm: Farm,
) -> None:
    sup = farm.open()
    grants = running(sup, {"local": host(sup, "local", local=True), "r1": host(sup, "r1")})
    sup.requeue_on_shutdown("the supervisor shut down while it ran")
    assert status(sup, grants["local"]) is WorkStatus.PENDING
    assert status(sup, grants["r1"]) is WorkStatus.RUNNING
    sup = farm.restart()
    assert sup.recover(GRACE) == []
    worker = host(sup, "r1")
    assert sup.reattach(worker, [grants["r1"].lease_id]) == [grants["r1"].lease_id]


def test_the_grace_is_a_setting() -> None:
    assert load_settings(env={}).reattach_grace_seconds == 30.0
    settings = load_settings(env={"LATCHWORK_REATTACH_GRACE_SECONDS": "5"})
    assert settings.reattach_grace_seconds == 5.0
    with pytest.raises(ConfigError, match="reattach_grace_seconds"):
        load_settings(env={"LATCHWORK_REATTACH_GRACE_SECONDS": "-1"})
