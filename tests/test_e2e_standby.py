"""Standby supervisors (issue 16): several ``latchwork serve`` on one real PostgreSQL database.

Exactly one leads; the others stand by, say so on ``/healthz`` and do not listen on their
gRPC address; when the leader dies a standby takes over; a leader stopped past its lease
(``SIGSTOP``) and woken after a standby took over writes nothing and stops; a client whose
call waits on a hung leader's open connection moves to the standby that took over.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from latchwork.client import Client
from latchwork.v1.job_pb2 import JOB_STATUS_COMPLETE as COMPLETE
from latchwork.v1.job_pb2 import JOB_STATUS_RUNNING as RUNNING

from .standby_proc import Serve


@pytest.fixture
def farm(tmp_path: Path, postgres_url: str) -> Any:
    started: list[Serve] = []

    def serve(name: str, *, lease: float = 5.0, slots: int = 0) -> Serve:
        made = Serve.on_database(tmp_path, name, postgres_url, lease=lease, slots=slots)
        started.append(made)
        return made

    yield serve
    for made in started:
        made.stop()


def host_events(url: str, host: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as db:
        rows = db.execute("SELECT seq, name FROM events WHERE host = %s ORDER BY seq", (host,))
        return [(int(seq), str(name)) for seq, name in rows]


def head_seq(url: str) -> int:
    with psycopg.connect(url) as db:
        row = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        return int(row[0]) if row else 0


def test_a_standby_says_so_and_takes_over_at_once_when_the_leader_dies(
    farm: Any, postgres_url: str
) -> None:
    leader = farm("leader")
    leader.wait_for("serving on")
    standby = farm("standby")
    standby.wait_for("standby;")
    status, body = standby.healthz()
    assert status == 503 and body["status"] == "standby"
    assert body["leader"] == leader.address
    assert leader.healthz() == (200, "ok")
    with Client(leader.address, user="ana") as client:
        first = client.submit(
            [{"name": "before", "package": {"cmdline": "true"}, "hosts": "nowhere"}]
        )
    leader.process.kill()  # kill -9: its session ends, and with it its lock
    died = time.monotonic()
    standby.wait_for("serving on", timeout=30)
    takeover = time.monotonic() - died
    assert takeover < 5.0, f"took {takeover:.1f} s; the lease is 5 s and the lock was free"
    with Client(standby.address, user="ana") as client:
        assert client.get_job(first.jobs[0].id).label == first.jobs[0].label
        second = client.submit(
            [{"name": "after", "package": {"cmdline": "true"}, "hosts": "nowhere"}]
        )
    assert second.jobs[0].id == first.jobs[0].id + 1
    assert second.seq > first.seq
    assert standby.healthz() == (200, "ok")


def test_a_stopped_leader_is_deposed_and_writes_nothing_after_a_takeover(
    farm: Any, postgres_url: str
) -> None:
    leader = farm("stopped", lease=1.0, slots=1)
    leader.wait_for("serving on")
    standby = farm("standby", lease=1.0, slots=1)
    standby.wait_for("standby;")
    with Client(leader.address, user="ana") as client:
        job_id = client.submit([{"name": "sleeper", "package": {"cmdline": "sleep 2"}}]).jobs[0].id
        deadline = time.monotonic() + 30
        while client.get_job(job_id).status != RUNNING and time.monotonic() < deadline:
            time.sleep(0.05)
    written_by_stopped = host_events(postgres_url, "stopped")
    assert {name for _, name in written_by_stopped} == {"running"}  # the job and its frame

    leader.process.send_signal(signal.SIGSTOP)  # hung, holding its connection and its lock
    stopped_at = time.monotonic()
    standby.wait_for("serving on", timeout=30)
    takeover = time.monotonic() - stopped_at
    with Client(standby.address, user="ana") as client:
        deadline = time.monotonic() + 30
        while client.get_job(job_id).status != COMPLETE and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get_job(job_id).status == COMPLETE  # ran again on the new leader
    time.sleep(0.5)  # the stopped leader's own sleep has ended by now: its report waits
    head = head_seq(postgres_url)
    # (the new leader wrote one with this host: the frame it took back, "retried")
    before_waking = host_events(postgres_url, "stopped")

    leader.process.send_signal(signal.SIGCONT)
    assert leader.process.wait(30) == 1  # it stops, refusing to go on
    assert host_events(postgres_url, "stopped") == before_waking
    assert head_seq(postgres_url) == head, "the deposed leader wrote events"
    log = (Path(leader.log.name)).read_text()
    assert "another supervisor took over" in log
    # not before the lease ran out (renewed a third of a lease at most before the stop)
    assert 0.6 <= takeover < 10.0


def test_a_call_waiting_on_a_hung_leader_moves_to_the_standby(farm: Any) -> None:
    """A leader stopped with its connections open answers nothing and closes nothing. The
    client's keepalive pings (latchwork.common.keepalive) find the connection dead, the call
    fails UNAVAILABLE, and a call that is safe to repeat is made again at the next address,
    where the standby now leads. Without the pings it would wait for ever."""
    leader = farm("hung", lease=1.0)
    leader.wait_for("serving on")
    standby = farm("standby", lease=1.0)
    standby.wait_for("standby;")
    with Client(f"{leader.address},{standby.address}", user="ana") as client:
        held = {"name": "held", "package": {"cmdline": "true"}, "status": "blocked"}
        job_id = client.submit([held]).jobs[0].id
        leader.process.send_signal(signal.SIGSTOP)
        try:
            standby.wait_for("serving on", timeout=30)
            # Made on the channel to the hung leader, which the client still has open; only
            # the standby, now leading, can answer it.
            assert client.get_job(job_id).id == job_id
        finally:
            leader.process.send_signal(signal.SIGCONT)
    assert leader.process.wait(30) == 1  # deposed: it stops
