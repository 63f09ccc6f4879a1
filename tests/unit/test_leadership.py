"""Which supervisor leads a shared PostgreSQL database (server/leadership.py), and the fence
that keeps a deposed one from writing (store/postgres_connection.py), on the session's real
PostgreSQL server: the lease, its takeover when it runs out, the quick takeover when the
leader's session ends, and a stopped leader's writes refused after it comes back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server.core import verb_transitions as verbs
from latchwork.server.core.changes import Changes
from latchwork.server.leadership import Leadership
from latchwork.server.store.errors import Deposed
from latchwork.server.store.postgres import PostgresStore

from .factories import frames_spec, python_supervisor


@pytest.fixture
def database(postgres_url: str) -> str:
    PostgresStore(postgres_url).close()  # migrated: the leader's row is there
    return postgres_url


@pytest.fixture
def claims(database: str) -> Iterator[list[Leadership]]:
    made: list[Leadership] = []
    yield made
    for claim in made:
        claim.close()


def claim(claims: list[Leadership], url: str, name: str, lease: float) -> Leadership:
    made = Leadership(url, f"{name}:50051", lease_seconds=lease, holder=name)
    claims.append(made)
    return made


def wait_until(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def test_one_leads_the_others_stand_by(database: str, claims: list[Leadership]) -> None:
    first = claim(claims, database, "first", 30)
    second = claim(claims, database, "second", 30)
    assert first.try_to_lead() and first.epoch == 1
    assert not second.try_to_lead() and second.epoch == 0
    leader = second.leader()
    assert (leader.epoch, leader.holder, leader.address) == (1, "first", "first:50051")
    assert 25 < leader.seconds_left <= 30
    assert first.renew() and not second.renew()


def test_a_lease_that_runs_out_is_taken_over_and_the_old_leader_writes_nothing(
    database: str, claims: list[Leadership], tmp_path: Path
) -> None:
    stopped = claim(claims, database, "stopped", 0.5)
    standby = claim(claims, database, "standby", 0.5)
    assert stopped.try_to_lead()
    deposed: list[bool] = []
    old_store = PostgresStore(
        database, epoch=stopped.epoch, on_deposed=lambda: deposed.append(True)
    )
    job = python_supervisor(old_store, tmp_path).submit([frames_spec("1-2")]).jobs[0]
    head = old_store.head_seq
    # "stopped" renews no more (SIGSTOP): the standby cannot take over while the lease runs
    assert not standby.try_to_lead()
    assert wait_until(standby.try_to_lead)
    assert standby.epoch == stopped.epoch + 1
    # it comes back: its next write is refused whole, and it learns it was deposed
    changes = Changes(now=5.0)
    assert verbs.block_job(changes, old_store.load().jobs[0], "")
    with pytest.raises(Deposed, match="no longer leads"):
        old_store.write(changes)
    assert deposed == [True]
    assert all(event.seq == 0 for event in changes.events)
    assert not stopped.renew() and stopped.epoch == 0
    new_store = PostgresStore(database, epoch=standby.epoch)
    assert new_store.head_seq == head
    [reloaded] = new_store.load().jobs
    assert reloaded.id == job.id and not reloaded.blocked
    new_store.write(changes)  # the new leader writes
    assert new_store.head_seq == head + 1
    old_store.close()
    new_store.close()


def test_a_leader_whose_session_ends_is_taken_over_at_once(
    database: str, claims: list[Leadership]
) -> None:
    dead = claim(claims, database, "dead", 60)
    standby = claim(claims, database, "standby", 60)
    assert dead.try_to_lead()
    assert not standby.try_to_lead()
    dead.close()  # its process died: PostgreSQL ends the session and frees its lock
    started = time.monotonic()
    assert wait_until(standby.try_to_lead, 30)
    assert time.monotonic() - started < 30  # not the 60 s lease
    assert standby.leader().holder == "standby"


def test_a_standby_holding_the_lock_of_a_living_leader_gives_it_back(
    database: str, claims: list[Leadership]
) -> None:
    stopped = claim(claims, database, "stopped", 0.5)
    leader = claim(claims, database, "leader", 0.5)
    standby = claim(claims, database, "standby", 0.5)
    assert stopped.try_to_lead()
    assert wait_until(leader.try_to_lead)  # took the lease, not the lock (stopped holds it)
    stopped.close()  # the stopped one exits: its lock is free
    # the standby takes the free lock, but the leader lives: it must not take over
    assert not standby.try_to_lead()
    assert leader.renew()  # and the leader takes the lock the standby let go
    assert leader.leader().holder == "leader"
    leader.close()  # now the leader dies: the standby need not wait for the lease
    assert wait_until(standby.try_to_lead, 5)
    assert standby.leader().holder == "standby"


def test_a_leader_that_resigns_is_replaced_at_once(database: str, claims: list[Leadership]) -> None:
    leaving = claim(claims, database, "leaving", 60)
    standby = claim(claims, database, "standby", 60)
    assert leaving.try_to_lead()
    leaving.resign()
    assert standby.try_to_lead() and standby.epoch == 2
