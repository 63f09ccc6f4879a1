"""Small builders shared by the unit tests."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from latchwork.server.callbacks import LanguagePolicy
from latchwork.server.core import transitions as t
from latchwork.server.core.changes import Changes
from latchwork.server.core.events import Event
from latchwork.server.core.model import Job, JobSpec, Prototype, WorkItem, WorkSpec
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.submission import make_job, normalize
from latchwork.server.output import OutputStore
from latchwork.server.store.opening import is_postgres_url, open_store
from latchwork.server.store.protocol import Store
from latchwork.server.supervisor import RunQueue, Supervisor


def frames_spec(frames: str = "1-3", **fields: object) -> JobSpec:
    return JobSpec(
        cmdline="render QB_FRAME_NUMBER",
        prototype=Prototype.CMDRANGE,
        frame_range=frames,
        **fields,  # type: ignore[arg-type]
    )


def agenda_spec(*names: str, **fields: object) -> JobSpec:
    return JobSpec(
        cmdline="render",
        prototype=Prototype.CMDRANGE,
        agenda=[WorkSpec(name) for name in names],
        **fields,  # type: ignore[arg-type]
    )


def new_job(
    spec: JobSpec | None = None, job_id: int = 1, label: str = "render", pgrp: int = 0
) -> Job:
    """A job as the supervisor would create it (normalized spec)."""
    return make_job(normalize(spec or frames_spec()), job_id, pgrp or job_id, label, "alice", 100.0)


def start(changes: Changes, job: Job, name: str, lease_id: str, host: str = "node1") -> WorkItem:
    """Start the named work item in the job's first free instance."""
    work = job.work_named(name)
    subjob = job.free_subjob()
    assert work is not None and subjob is not None
    t.start_work(changes, job, work, subjob, lease_id, host)
    return work


# Read again after a change. A test that asserts on a job's status (or a flag), changes it and
# asserts on it again reads it the second time through one of these: mypy keeps what the first
# assert narrowed the attribute to across the calls that change it, and would find the second
# assert impossible.


def status_of(job: Job) -> JobStatus:
    return job.status


def work_status_of(work: WorkItem) -> WorkStatus:
    return work.status


def is_dispatchable(job: Job) -> bool:
    return job.dispatchable


def is_empty(changes: Changes) -> bool:
    return changes.empty


def table_rows(location: str | Path, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows in each table of the store at ``location`` (staged or not), read over a
    connection of its own: an SQLite file or a PostgreSQL URL."""
    if isinstance(location, str) and is_postgres_url(location):
        with psycopg.connect(location) as pg:
            return {t: _first(pg.execute(f"SELECT COUNT(*) FROM {t}").fetchone()) for t in tables}
    with contextlib.closing(sqlite3.connect(location)) as db:
        return {t: _first(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()) for t in tables}


def _first(row: Any) -> int:
    return int(row[0])


def gapless_seqs(sup: Supervisor) -> list[int]:
    """The seqs of the events ``sup`` published so far, checked to be 1, 2, 3 … with no gap."""
    seqs = [e.seq for e in sup.event_log.read(0, 10_000)]
    assert seqs == list(range(1, len(seqs) + 1))
    return seqs


def summary(events: list[Event]) -> list[tuple[str, str, str, str, str]]:
    """(type, name, work_name, status, previous_status) of each event."""
    return [(e.type, e.name, e.work_name, e.status, e.previous_status) for e in events]


def job_events(events: list[Event]) -> list[tuple[str, str, str]]:
    return [(e.name, e.status, e.previous_status) for e in events if e.type == "job"]


class Sink:
    """A worker that records what it is told to do to its processes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def kill(self, lease_id: str) -> None:
        self.calls.append(("kill", lease_id))

    def suspend(self, lease_id: str) -> None:
        self.calls.append(("suspend", lease_id))

    def resume(self, lease_id: str) -> None:
        self.calls.append(("resume", lease_id))


def python_supervisor(store: Store, root: Path, run_queue: RunQueue | None = None) -> Supervisor:
    """A supervisor over a real store that accepts qube and Python callbacks; Python runs go
    to ``run_queue`` (a callback runner's queue) when one is given."""
    return Supervisor(
        store,
        OutputStore(root / "output"),
        languages=LanguagePolicy(enabled=frozenset({"qube", "python"})),
        run_queue=run_queue,
    )


class TickingClock:
    """A clock that moves one second at every reading, from 1000 (times stay distinct)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


class Farm:
    """Opens (and reopens) a supervisor on one data directory.

    ``clock``: one clock for every supervisor opened (a test moves it by hand); None gives
    each a fresh :class:`TickingClock`. ``location``: the store (an SQLite file or a
    PostgreSQL URL; the fixture ``store_location`` gives both); None: ``root/latchwork.db``.
    ``supervisor_args`` go to every ``Supervisor``.
    """

    def __init__(
        self,
        root: Path,
        clock: Callable[[], float] | None = None,
        *,
        location: str | Path | None = None,
        **supervisor_args: Any,
    ) -> None:
        self.root = root
        self.clock = clock
        self.location = root / "latchwork.db" if location is None else location
        self.supervisor_args = supervisor_args
        self.stores: list[Store] = []

    def open(self) -> Supervisor:
        store = open_store(self.location)
        self.stores.append(store)
        clock = self.clock if self.clock is not None else TickingClock()
        return Supervisor(
            store, OutputStore(self.root / "output"), clock=clock, **self.supervisor_args
        )

    def restart(self) -> Supervisor:
        """The supervisor dies (kill -9: nothing is requeued) and starts again."""
        self.stores[-1].close()
        return self.open()

    def close(self) -> None:
        for store in self.stores:
            store.close()

    def count_sends(self) -> list[int]:
        """From now on, how many writes each send of the latest store held (the writes sent
        aside, :mod:`latchwork.server.commit_queue`), counted around the store's own."""
        store: Any = self.stores[-1]
        sizes: list[int] = []
        send = store.send_writes

        def counted(writes: Sequence[Any]) -> Any:
            sizes.append(len(writes))
            return send(writes)

        store.send_writes = counted
        return sizes
