"""Listing finished jobs by user or name from a large history: schema 8, or what was before.

ListJobs and the dashboard's jobs page read retired jobs from the store, newest first, with
the listing's filters (``store/history.py``: ``finished_jobs_before``), on the event loop.
Schema 8 indexes the jobs by (user, id) and gives them a ``name`` column. This builds an
SQLite store with ``--jobs`` finished jobs, spread over ``--users`` users, one job in 10,000 a
rare user's and named ``retake_…``, and times the first page (100 jobs) of these listings:

* by user, with the index and without it, in alternating rounds: no filter (the reference:
  both read the newest rows first), a user with no finished job (without the index: every
  row), the rare user (100 jobs in all, spread through the history), a common user;
* by name pattern, filtered in SQL on the column (``LIKE``, then matched in Python on the rows
  read, as the listing does) and, as before schema 8, every row read and its name matched in
  Python (in the first round only: it takes seconds): a pattern that matches nothing, and the
  rare jobs' ``retake_*``.

Medians are reported, with every round.

Run: ``.venv/bin/python bench/finished_listing.py [--jobs 1000000 --users 50 --rounds 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from fnmatch import fnmatchcase
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import OtherLoad, add_workdir_flag, listing, machine, median
from latchwork.server.core.model import JobSpec, Prototype
from latchwork.server.core.states import FINAL_JOB_STATUSES
from latchwork.server.store.codec import encode_spec
from latchwork.server.store.database import insert
from latchwork.server.store.history import FinishedFilter, finished_jobs_before
from latchwork.server.store.opening import open_store
from latchwork.server.store.rows import JOB_COLUMNS

PAGE = 100
BATCH = 200  # rows per read, as retired_jobs._LISTING_BATCH
GROUP = 30
RARE_EVERY = 10_000
INDEXES = {"jobs_user": "CREATE INDEX jobs_user ON jobs (user, id)"}


def _spec(name: str) -> str:
    return encode_spec(
        JobSpec(
            name=name,
            cmdline="nuke -x comp.nk QB_FRAME_NUMBER",
            prototype=Prototype.CMDRANGE,
            frame_range="1-100",
            cpus=25,
        )
    )


def _rows(jobs: int, users: int) -> Iterator[tuple[object, ...]]:
    common = _spec("shot010_comp")
    for job_id in range(1, jobs + 1):
        rare = job_id % RARE_EVERY == 0
        user = "rare" if rare else f"user{job_id % users}"
        name = f"retake_{job_id}" if rare else "shot010_comp"
        spec = _spec(name) if rare else common
        pgrp = (job_id - 1) // GROUP * GROUP + 1
        end = 1_700_000_000.0 + job_id
        yield (
            *(job_id, pgrp, 0, f"job{job_id}", user, "complete", 0, 0, 0, spec),
            *(end - 60, end - 50, end, 0, name),
        )


def build(path: Path, jobs: int, users: int) -> None:
    open_store(path).close()  # created and migrated as a supervisor would
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executemany(insert("jobs", JOB_COLUMNS), _rows(jobs, users))
        db.commit()


def first_page(db: sqlite3.Connection, where: FinishedFilter) -> tuple[float, int]:
    """As the listing reads the store (``RetiredJobs.listing``): the name matched again on
    the rows read."""
    start = time.perf_counter()
    rows = finished_jobs_before(db, 0, where, BATCH)
    glob = where.name_glob
    found = list(islice((j for j in rows if not glob or fnmatchcase(j.spec.name, glob)), PAGE))
    return time.perf_counter() - start, len(found)


def first_page_matched_in_python(db: sqlite3.Connection, glob: str) -> tuple[float, int]:
    """As before schema 8: every row read, its spec decoded and its name matched here."""
    start = time.perf_counter()
    rows = finished_jobs_before(db, 0, FinishedFilter(frozenset(FINAL_JOB_STATUSES)), BATCH)
    found = list(islice((j for j in rows if fnmatchcase(j.spec.name, glob)), PAGE))
    return time.perf_counter() - start, len(found)


def _table(
    headings: tuple[str, str, str],
    cases: Iterable[str],
    seconds: dict[tuple[str, bool], list[float]],
    found: dict[str, int],
) -> None:
    """One line per case: jobs found, the medians of the new way (True) and the old, their
    ratio, and every round of each."""
    print()
    print(f"   {headings[0]:34} {'jobs':>5} {headings[1]:>11} {headings[2]:>9}  ratio")
    for case in cases:
        new, old = seconds[(case, True)], seconds[(case, False)]
        print(
            f"   {case:34} {found[case]:5d} {median(new) * 1e3:11.3f} "
            f"{median(old) * 1e3:9.1f}  {median(old) / median(new):7.1f}"
            f"   {listing(new, 1e3, 2)} {listing(old, 1e3, 1)}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000, help="finished jobs (1000000)")
    parser.add_argument("--users", type=int, default=50, help="common users (50)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    add_workdir_flag(parser)
    args = parser.parse_args(argv)

    final = frozenset(FINAL_JOB_STATUSES)
    cases = {
        "no filter (reference)": FinishedFilter(final),
        "a user with none": FinishedFilter(final, users=frozenset({"nobody"})),
        f"a rare user (1 job in {RARE_EVERY:,})": FinishedFilter(final, users=frozenset({"rare"})),
        "a common user": FinishedFilter(final, users=frozenset({"user1"})),
    }
    print(f"== finished listing: first page ({PAGE} jobs) of {args.jobs:,} finished jobs, SQLite")
    print(f"   machine: {machine()}")
    load = OtherLoad()
    seconds: dict[tuple[str, bool], list[float]] = {}
    found: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="latchwork-listing-", dir=args.workdir) as tmp:
        path = Path(tmp) / "latchwork.db"
        started = time.perf_counter()
        build(path, args.jobs, args.users)
        print(f"   store built in {time.perf_counter() - started:.1f} s")
        with contextlib.closing(sqlite3.connect(path)) as db:
            for round_no in range(args.rounds):
                for indexed in (True, False) if round_no % 2 == 0 else (False, True):
                    for name in INDEXES:
                        db.execute(f"DROP INDEX IF EXISTS {name}")
                    if indexed:
                        for create in INDEXES.values():
                            db.execute(create)
                    db.commit()
                    for case, where in cases.items():
                        took, count = first_page(db, where)
                        seconds.setdefault((case, indexed), []).append(took)
                        found[case] = count

        names = {"a name pattern matching nothing": "*_retime_*", "retake_*": "retake_*"}
        with contextlib.closing(sqlite3.connect(path)) as db:
            for round_no in range(args.rounds):
                # Matching every row in Python takes seconds a round: it is the reference,
                # measured in the first round only.
                ways = (
                    ((True, False) if round_no % 2 == 0 else (False, True))
                    if not round_no
                    else (True,)
                )
                for in_sql in ways:
                    for case, glob in names.items():
                        if in_sql:
                            where = FinishedFilter(final, name_glob=glob)
                            took, count = first_page(db, where)
                        else:
                            took, count = first_page_matched_in_python(db, glob)
                        seconds.setdefault((case, in_sql), []).append(took)
                        found[case] = count

    print(f"   rounds: {args.rounds}, order alternating; medians, every round in brackets")
    print(f"   {load.report()}")
    _table(("listing", "indexed ms", "scan ms"), cases, seconds, found)
    _table(("listing by name", "in SQL ms", "Python ms"), names, seconds, found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
