"""The host registry over a real store, through the supervisor: hosts, their events, locks,
usage, and what a restarted supervisor knows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from latchwork.server.api.supervisor_service import SupervisorService
from latchwork.server.core.errors import NotFound
from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.model import CallbackSpec
from latchwork.server.core.routing.hosts import HostState, Resources, Usage
from latchwork.server.core.routing.reservations import Reservation
from latchwork.server.core.states import JobStatus
from latchwork.server.core.triggers.parser import parse_trigger
from latchwork.server.core.triggers.resolve import resolve
from latchwork.server.host_registry import HostAction, HostInfo
from latchwork.server.output import OutputStore
from latchwork.server.store import SqliteStore
from latchwork.server.store.errors import StorageError
from latchwork.server.store.postgres import PostgresStore
from latchwork.server.supervisor import Supervisor
from latchwork.v1.supervisor_pb2 import ListHostsRequest

from .factories import Farm, Sink, frames_spec

NODE7 = HostInfo(
    "node7",
    slots=4,
    resources=Resources(cores=16, memory_mb=64000, gpus=2, os="linux", arch="x86_64"),
    properties={"renderer": "arnold"},
    groups=("gpu", "fast"),
    cluster="/farm/a",
    restrictions="/show/+",
)


def host_events(sup: Supervisor) -> list[Event]:
    return [e for e in sup.event_log.read(0, 10_000) if e.type is EventType.HOST]


def test_a_registered_worker_is_a_host_that_is_up_with_an_event(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node7", Sink(), NODE7)
    [view] = sup.list_hosts()
    assert (view.name, view.up, view.locked, view.info) == ("node7", True, False, NODE7)
    assert view.registered > 0 and view.last_heartbeat == view.registered
    [event] = host_events(sup)
    assert (event.name, event.host, event.job_id, event.pgrp) == (EventName.UP, "node7", 0, 0)
    assert event.seq == sup.event_log.head_seq
    host = sup.hosts.routing_host(worker)
    assert host is not None
    assert (host.name, host.slots_total, host.state, host.cluster) == (
        "node7",
        4,
        HostState.UP,
        "/farm/a",
    )
    assert host.groups == {"gpu", "fast"} and host.properties == {"renderer": "arnold"}
    assert host.restrictions is not None and host.restrictions.allows("/show/x")


def test_a_worker_without_a_declaration_is_no_host(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("anon", Sink())
    assert sup.list_hosts() == [] and host_events(sup) == []
    assert sup.hosts.routing_host(worker) is None
    assert sup.hosts.accepts_work(worker)


def test_a_lost_worker_makes_its_host_down_and_a_new_registration_up(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node7", Sink(), NODE7)
    sup.drop_worker(worker, "worker lost: no heartbeat for 3 periods")
    [view] = sup.list_hosts()
    assert not view.up
    assert [(e.name, e.message) for e in host_events(sup)] == [
        (EventName.UP, "4 slots, 16 cores, 64000 MB, 2 GPUs"),
        (EventName.DOWN, "worker lost: no heartbeat for 3 periods"),
    ]
    assert sup.hosts.routing_host(worker) is None  # the worker is gone
    again = sup.register_worker("node7", Sink(), NODE7)
    assert sup.list_hosts()[0].up and sup.hosts.accepts_work(again)
    assert [e.name for e in host_events(sup)][-1] is EventName.UP


def test_a_second_worker_under_an_up_host_name_takes_it_over(farm: Farm) -> None:
    sup = farm.open()
    first = sup.register_worker("node7", Sink(), NODE7)
    second = sup.register_worker("node7", Sink(), NODE7)
    assert len(host_events(sup)) == 1  # no second up
    assert sup.host_workers("node7") == [second, first]
    sup.drop_worker(first, "lost")
    assert sup.list_hosts()[0].up, "the host is the second worker's now"
    sup.drop_worker(second, "lost")
    assert not sup.list_hosts()[0].up


def test_lock_drains_and_unlock_resumes(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node7", Sink(), NODE7)
    # node7 takes only jobs of the clusters under /show (its restrictions).
    sup.submit([frames_spec("1-4", cpus=4, cluster="/show/a")])
    [running] = sup.lease(worker, 1)
    results, seq = sup.control_hosts(HostAction.LOCK, ["node7"], "disk swap (by wrangler)")
    assert results == [("node7", True)] and seq == sup.event_log.head_seq
    assert sup.lease(worker, 4) == [], "a locked host takes no new work"
    assert sup.worker_leases(worker) == {running.lease_id}, "its running work goes on"
    routing = sup.hosts.routing_host(worker)
    assert routing is not None and routing.state is HostState.LOCKED
    view = sup.get_host("node7")
    assert view is not None and (view.locked, view.lock_reason) == (True, "disk swap (by wrangler)")
    assert sup.control_hosts(HostAction.LOCK, ["node7"], "again") == ([("node7", False)], 0)
    sup.control_hosts(HostAction.UNLOCK, ["node7"], "by wrangler")
    assert len(sup.lease(worker, 4)) == 3
    assert [e.name for e in host_events(sup)] == [
        EventName.UP,
        EventName.LOCKED,
        EventName.UNLOCKED,
    ]


def test_control_is_all_or_none_and_names_the_unknown_host(farm: Farm) -> None:
    sup = farm.open()
    sup.register_worker("node7", Sink(), NODE7)
    with pytest.raises(NotFound, match=r"names\[1\]: host 'nope' is not on the farm"):
        sup.control_hosts(HostAction.LOCK, ["node7", "nope"], "")
    view = sup.get_host("node7")
    assert view is not None and not view.locked
    assert len(host_events(sup)) == 1


def test_usage_is_noted_and_given_back_once(farm: Farm) -> None:
    sup = farm.open()
    worker = sup.register_worker("node7", Sink(), NODE7)
    hosts = sup.hosts
    hosts.note_started(worker, "L1", Reservation(processors=2, memory_mb=8000, gpus=1))
    hosts.note_started(worker, "L1", Reservation(processors=2, memory_mb=8000, gpus=1))
    hosts.note_started(worker, "L2", Reservation())
    assert sup.list_hosts()[0].in_use == Usage(3, 8000, 1)
    routing = hosts.routing_host(worker)
    assert routing is not None and routing.free_slots == 1 and routing.free_gpus == 1
    hosts.note_ended("L1")
    hosts.note_ended("L1")
    assert sup.list_hosts()[0].in_use == Usage(1, 0, 0)
    sup.drop_worker(worker, "lost")
    assert sup.list_hosts()[0].in_use == Usage()


def test_a_restarted_supervisor_knows_its_hosts_down_and_their_locks(farm: Farm) -> None:
    sup = farm.open()
    sup.register_worker("node7", Sink(), NODE7)
    sup.register_worker("node8", Sink(), HostInfo("node8", slots=1))
    sup.control_hosts(HostAction.LOCK, ["node8"], "broken fan")
    head = sup.event_log.head_seq
    restarted = farm.open()
    views = restarted.list_hosts()
    assert [(v.name, v.up, v.locked, v.lock_reason) for v in views] == [
        ("node7", False, False, ""),
        ("node8", False, True, "broken fan"),
    ]
    assert views[0].info == NODE7
    assert restarted.event_log.head_seq == head, "no event for what a restart finds"
    worker = restarted.register_worker("node8", Sink(), HostInfo("node8", slots=1))
    assert not restarted.hosts.accepts_work(worker), "still locked"
    assert restarted.list_hosts(frozenset({"node8"}))[0].up


def test_host_triggers_fire_per_host_with_the_host_bound(farm: Farm) -> None:
    sup = farm.open()
    owner = sup.submit(
        [
            frames_spec(
                "1",
                status=JobStatus.BLOCKED,
                callbacks=[CallbackSpec("down-host-*", "qube", "block-self")],
            )
        ]
    ).jobs[0]
    [callback] = sup.callbacks_of(owner.id)
    [watch] = callback.watches
    assert (watch.type, watch.job_id, watch.extra) == (EventType.HOST, 0, "*")
    first = sup.register_worker("node7", Sink(), NODE7)
    second = sup.register_worker("node8", Sink(), HostInfo("node8"))
    sup.drop_worker(first, "lost")
    sup.drop_worker(second, "lost")
    runs = sup.list_runs(job_id=owner.id)
    assert sorted(run.binding for run in runs) == ["node7", "node8"]
    # A named host matches that host only.
    expr = parse_trigger("up-host-node8")
    [named] = resolve(expr, sup.resolve_context(owner))
    assert named.matches_extra("", -1, "node8") == ""
    assert named.matches_extra("", -1, "node7") is None


def test_the_local_pool_is_a_host_that_comes_up_without_an_event(farm: Farm) -> None:
    sup = farm.open()
    sup.register_worker("head", Sink(), HostInfo("head", slots=2, local=True))
    [view] = sup.list_hosts()
    assert view.up and view.info.local and view.last_heartbeat == 0.0
    assert host_events(sup) == []
    sup.control_hosts(HostAction.LOCK, ["head"], "by wrangler")
    assert [e.name for e in host_events(sup)] == [EventName.LOCKED]


async def test_list_hosts_returns_the_hosts_and_the_global_resources(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "latchwork.db")
    try:
        sup = Supervisor(
            store, OutputStore(tmp_path / "output"), global_resources={"nuke": 2, "maya": 4}
        )
        sup.register_worker("node7", Sink(), NODE7)
        reply = await SupervisorService(sup).ListHosts(ListHostsRequest(), None)  # type: ignore[arg-type]
        assert [(h.name, h.slots, h.resources.memory_mb) for h in reply.hosts] == [
            ("node7", 4, 64000)
        ]
        assert [(r.name, r.limit, r.in_use) for r in reply.resources] == [
            ("maya", 4, 0),
            ("nuke", 2, 0),
        ]
    finally:
        store.close()


def test_a_host_row_is_written_with_its_event_or_not_at_all(
    farm: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    sup = farm.open()
    sup.register_worker("node7", Sink(), NODE7)

    def full_disk(*_args: object, **_kwargs: object) -> None:
        if isinstance(sup.store, PostgresStore):  # the driver's own error, either store
            raise psycopg.errors.DiskFull("could not extend file: No space left on device")
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr("latchwork.server.store.sql_store.write_changes", full_disk)
    with pytest.raises(StorageError):
        sup.control_hosts(HostAction.LOCK, ["node7"], "disk swap")
    monkeypatch.undo()
    [stored] = [h for h in sup.store.load_hosts() if h.name == "node7"]
    assert not stored.locked, "the lock's row was stored without its event"
    view = sup.get_host("node7")
    assert view is not None and not view.locked
    assert [e.name for e in host_events(sup)] == [EventName.UP]
