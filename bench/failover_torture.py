"""Failover torture: kill -9 the leading supervisor again and again under load, with a standby.

Issue 16's item 5: two ``latchwork serve`` on one PostgreSQL database (leader and standby,
``leader_lease_seconds`` 2, one local slot each). A client keeps submitting pairs of jobs: A
runs ``true``; B is submitted blocked with a qube callback ``complete-job-A`` → ``unblock-self``,
so B completes only if the firing of that callback survived whatever happened around A's
end. Every Submit carries a request id and is retried at the other address until acknowledged
(as the clients given several addresses do). ``--kills`` times (20), after ``--gap`` seconds of
load, the leader is killed with SIGKILL; the time until the standby serves is the takeover
time; the killed one is started again and becomes the standby.

At the end, once the load stops and the farm is quiet, it checks with the database itself:
every acknowledged job exists and completed (none lost), every B completed (no firing lost),
the events' seqs have no gap and every job's complete event is there. It prints the takeover
time p50 / max and those counts. ``--store URL`` uses an existing empty database; by default
a PostgreSQL server is started as the tests start theirs (tests/pg_server.py).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from latchwork.client import Client
from latchwork.client.errors import LatchworkError
from tests.pg_server import free_port, session_server, stop_session_server
from tests.standby_proc import Serve

LEASE_SECONDS = 2.0
RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class Load:
    """Submits job pairs until stopped, each until acknowledged, moving between addresses."""

    def __init__(self, addresses: list[str], period: float) -> None:
        self.addresses = addresses
        self.period = period
        self.acked: list[tuple[int, int]] = []  # (A's id, B's id)
        self.retries = 0
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(60)

    def _run(self) -> None:
        which = 0
        clients = [Client(address, user="torture") for address in self.addresses]
        try:
            while not self.stopping.is_set():
                request_id = uuid.uuid4().hex
                label = f"a{len(self.acked)}"
                pair: list[dict[str, Any]] = [
                    {"name": label, "label": label, "package": {"cmdline": "true"}},
                    {
                        "name": f"b{len(self.acked)}",
                        "package": {"cmdline": "true"},
                        "status": "blocked",
                        "callbacks": [
                            {"triggers": f"complete-job-{label}", "code": "unblock-self"}
                        ],
                    },
                ]
                while True:
                    try:
                        response = clients[which].submit(pair, request_id=request_id)
                        break
                    except LatchworkError as error:
                        if error.code not in RETRYABLE:
                            raise
                        self.retries += 1
                        which = (which + 1) % len(clients)
                        time.sleep(0.05)
                self.acked.append((response.jobs[0].id, response.jobs[1].id))
                time.sleep(self.period)
        finally:
            for client in clients:
                client.close()


def _check(url: str, acked: list[tuple[int, int]], timeout: float) -> dict[str, int]:
    """Wait until every acknowledged job is finished (or ``timeout``); what was lost."""
    wanted = [job for pair in acked for job in pair]
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as db:
        while True:
            rows = db.execute("SELECT id, status FROM jobs WHERE id = ANY(%s)", (wanted,))
            status = {int(job_id): str(state) for job_id, state in rows}
            unfinished = [j for j in wanted if status.get(j) != "complete"]
            if not unfinished or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        seqs = [int(s) for (s,) in db.execute("SELECT seq FROM events ORDER BY seq")]
        completes = {
            int(job_id)
            for (job_id,) in db.execute(
                "SELECT DISTINCT job_id FROM events WHERE name = 'complete' AND type = 'job'"
            )
        }
        runs = db.execute("SELECT COUNT(*) FROM callback_runs WHERE done = 0").fetchone()
        stored = db.execute("SELECT COUNT(*) FROM jobs").fetchone()
    gaps = sum(1 for a, b in itertools.pairwise(seqs) if b != a + 1)
    return {
        "acknowledged jobs": len(wanted),
        "lost (not stored)": sum(1 for j in wanted if j not in status),
        "not complete": len(unfinished),
        "B never unblocked (firing lost)": sum(1 for _, b in acked if status.get(b) == "blocked"),
        "complete without its complete event": sum(
            1 for j in wanted if status.get(j) == "complete" and j not in completes
        ),
        "stored but not acknowledged (twice?)": (int(stored[0]) if stored else 0) - len(wanted),
        "gaps in the event seqs": gaps,
        "events": len(seqs),
        "callback runs never finished": int(runs[0]) if runs else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="leader kills (20)")
    parser.add_argument("--gap", type=float, default=2.0, help="load between kills, s (2)")
    parser.add_argument("--period", type=float, default=0.02, help="between Submits, s (0.02)")
    parser.add_argument("--store", help="an empty PostgreSQL database (default: start one)")
    args = parser.parse_args(argv)
    url = args.store or session_server().fresh_url()
    print(
        f"== failover torture: {args.kills} kill -9s of the leader, lease {LEASE_SECONDS:g} s, "
        f"a job pair every {args.period * 1000:g} ms"
    )
    takeovers: list[float] = []
    with tempfile.TemporaryDirectory(prefix="latchwork-torture-") as tmp:
        root = Path(tmp)
        made = 0
        # Each of the two keeps its addresses across restarts, as a machine's supervisor does.
        ports = {name: (free_port(), free_port()) for name in "ab"}

        def start(name: str) -> Serve:
            nonlocal made
            made += 1
            grpc_port, http_port = ports[name]
            return Serve.on_database(
                root,
                f"{name}{made}",
                url,
                lease=LEASE_SECONDS,
                slots=1,
                listen=f"127.0.0.1:{grpc_port}",
                http_listen=f"127.0.0.1:{http_port}",
            )

        leader = start("a")
        leader.wait_for("serving on")
        standby = start("b")
        standby.wait_for("standby;")
        load = Load([leader.address, standby.address], args.period)
        load.start()
        try:
            for kill in range(args.kills):
                time.sleep(args.gap)
                leader.process.kill()
                killed_at = time.monotonic()
                standby.wait_for("serving on", timeout=60)
                takeovers.append(time.monotonic() - killed_at)
                leader.stop()
                name = "a" if leader.name.startswith("a") else "b"
                leader, standby = standby, start(name)
                standby.wait_for("standby;")
                print(f"   kill {kill + 1}: takeover {takeovers[-1]:.2f} s", flush=True)
            time.sleep(args.gap)
        finally:
            load.stop()
        found = _check(url, load.acked, timeout=120)
        leader.stop()
        standby.stop()
    if not args.store:
        stop_session_server()
    print(
        f"   takeover (kill -9 -> the standby serves): p50 {statistics.median(takeovers):.2f} s, "
        f"max {max(takeovers):.2f} s over {len(takeovers)} kills"
    )
    print(f"   Submits retried at the other address: {load.retries}")
    for what, count in found.items():
        print(f"   {what:<40} {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
