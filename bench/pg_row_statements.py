"""PostgreSQL's CPU per row for three ways of writing many rows of one table in a commit.

Why the store sends a commit's rows of one insert as column arrays (store/pg_row_batches.py):
on a PostgreSQL server started as the tests start theirs, a table shaped as ``work`` (13
columns, its primary key) gets rows in transactions of ``--rows`` rows each, sent as

* ``values``: one string of ``EXECUTE``s of prepared ``INSERT … VALUES`` statements of 32,
  16 or 8 rows and one for the rest, the literals rendered in, as the store sent them before
  (session 14);
* ``unnest``: one ``EXECUTE`` of a prepared ``INSERT … SELECT * FROM unnest($1::bigint[], …)``,
  an array literal per column (:func:`latchwork.server.store.pg_literals.array_text`), as the
  store sends them now;
* ``copy``: ``COPY … FROM STDIN`` (psycopg's ``copy``), for reference: the cheapest way in,
  but a protocol of its own that a commit sent as one string of statements cannot hold.

Printed per row: the wall time of the client's loop (rendering included) and the server
backend's CPU (``/proc/<pid>/stat`` of its process), methods alternating, ``--rounds`` times.

Run: ``.venv/bin/python bench/pg_row_statements.py [--rows 8,32,3000] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import machine, process_cpu_seconds
from latchwork.server.store.pg_literals import array_text, render_call
from tests.pg_server import session_server, stop_session_server

COLUMNS = [
    ("job_id", "bigint"),
    ("idx", "bigint"),
    ("name", "text"),
    ("status", "text"),
    ("retries", "bigint"),
    ("attempts", "bigint"),
    ("subjob_id", "bigint"),
    ("host", "text"),
    ("exit_code", "bigint"),
    ("start_time", "double precision"),
    ("end_time", "double precision"),
    ("message", "text"),
    ("lease_id", "text"),
]
Row = tuple[Any, ...]


class Table:
    """The ``work``-shaped table on one connection, its three ways in prepared."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.next_job = 0
        columns = ", ".join(f"{name} {kind} NOT NULL" for name, kind in COLUMNS)
        conn.execute(f"CREATE TABLE work ({columns}, PRIMARY KEY (job_id, idx))")
        self.prepared: set[int] = set()
        arrays = ",".join(f"${n + 1}::{kind}[]" for n, (_, kind) in enumerate(COLUMNS))
        conn.execute(f"PREPARE arrays AS INSERT INTO work SELECT * FROM unnest({arrays})")
        [(pid,)] = conn.execute("SELECT pg_backend_pid()").fetchall()
        self.backend = int(pid)

    def rows(self, count: int) -> list[Row]:
        """``count`` new rows, 100 to a job, as a Submit's work items look."""
        made: list[Row] = []
        for n in range(count):
            if n % 100 == 0:
                self.next_job += 1
            made.append(
                (self.next_job, n % 100, str(n % 100), "pending", 0, 0, -1, "", 0, 0.0, 0.0, "", "")
            )
        return made

    def _send(self, statements: Sequence[str]) -> None:
        self.conn.execute(";\n".join(["BEGIN", *statements, "COMMIT"]).encode(), prepare=False)

    def _values_of(self, size: int) -> str:
        """The ``EXECUTE`` prefix of the ``VALUES`` statement of ``size`` rows."""
        if size not in self.prepared:
            width = len(COLUMNS)
            many = ",".join(
                "(" + ",".join(f"${r * width + c + 1}" for c in range(width)) + ")"
                for r in range(size)
            )
            self.conn.execute(f"PREPARE values{size} AS INSERT INTO work VALUES {many}")
            self.prepared.add(size)
        return f"EXECUTE values{size}"

    def values(self, rows: Sequence[Row]) -> None:
        statements: list[str | None] = []
        start = 0
        while start < len(rows):
            left = len(rows) - start
            size = next((s for s in (32, 16, 8) if left >= s), left)
            chunk = [value for row in rows[start : start + size] for value in row]
            statements.append(render_call(self._values_of(size), chunk))
            start += size
        self._send([s for s in statements if s is not None])

    def unnest(self, rows: Sequence[Row]) -> None:
        arrays = [array_text(column) for column in zip(*rows, strict=True)]
        statement = render_call("EXECUTE arrays", arrays)
        assert statement is not None
        self._send([statement])

    def copy(self, rows: Sequence[Row]) -> None:
        with self.conn.transaction(), self.conn.cursor().copy("COPY work FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def backend_cpu(self) -> float:
        return process_cpu_seconds(self.backend)


def measure(table: Table, way: Callable[[Sequence[Row]], None], rows: int) -> tuple[float, float]:
    """Microseconds per row: wall time and the backend's CPU, over about 60,000 rows."""
    for _ in range(3):
        way(table.rows(rows))
    times = max(1, 60_000 // rows)
    batches = [table.rows(rows) for _ in range(times)]
    cpu, start = table.backend_cpu(), time.perf_counter()
    for batch in batches:
        way(batch)
    wall = time.perf_counter() - start
    per_row = 1e6 / (times * rows)
    return wall * per_row, (table.backend_cpu() - cpu) * per_row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="8,32,3000", help="rows per transaction (8,32,3000)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, the ways alternating (2)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.rows.split(",")]
    print("== PostgreSQL: many rows of one table in a commit (us per row: wall / backend CPU)")
    print(f"   machine: {machine()}")
    try:
        with psycopg.connect(session_server().fresh_url(), autocommit=True) as conn:
            table = Table(conn)
            ways = {"values": table.values, "unnest": table.unnest, "copy": table.copy}
            for rows in sizes:
                for round_ in range(args.rounds):
                    shown = []
                    for name, way in ways.items():
                        wall, cpu = measure(table, way, rows)
                        shown.append(f"{name} {wall:5.1f} / {cpu:5.1f}")
                    print(f"   {rows:>5} rows, round {round_ + 1}:  " + "   ".join(shown))
    finally:
        stop_session_server()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
