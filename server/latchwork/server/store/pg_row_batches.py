"""Many rows of one ``INSERT`` as one statement, for a commit sent to PostgreSQL.

A commit on PostgreSQL is one string of ``EXECUTE``s of prepared statements
(:mod:`.postgres_connection`). A worker's reports and leases write some 30 rows, most of them
through three statements (the work items' upserts, the instances' upserts, the events'
inserts): one ``EXECUTE`` a row cost the server a statement's start and end each time. Here
the rows of one such statement in one commit go as ``INSERT … VALUES (…), (…), …``: fewer and
larger statements, and fewer ``EXECUTE``s for the supervisor to render.

Two rules keep the result the same as a statement a row:

* an upsert (``ON CONFLICT (key) DO UPDATE``) may not meet its key twice in one statement
  (PostgreSQL refuses it), so rows are split where a key comes again: the later row then
  updates what the earlier one wrote, as one statement a row did;
* the row counts of the statements are few (1 to 7, 8, 16 and 32), so each is prepared once
  on a connection and reused, never planned again.

Only statements of the shape the store's :func:`~.database.insert` and :func:`~.database.put`
write are batched; any other statement goes a row at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

#: The most rows in one statement; a commit's larger sets (a Submit's) go in several.
MAX_ROWS = 32
_SHAPE = re.compile(
    r"(?P<head>INSERT INTO \S+ \((?P<columns>[^()]*)\) VALUES )"
    r"\((?P<values>\?(?:, ?\?)*)\)"
    r"(?P<tail>(?: ON CONFLICT \((?P<key>[^()]*)\) DO UPDATE SET [^;]*)?)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class RowInsert:
    """An ``INSERT`` of one row (``VALUES (?, …)``), perhaps an upsert, taken apart."""

    sql: str
    head: str
    tail: str
    width: int
    key_positions: tuple[int, ...]
    """Where the conflict key's columns are in a row (empty: a plain insert)."""

    def sql_for(self, rows: int) -> str:
        """The statement for ``rows`` rows (``?`` parameters, row after row)."""
        if rows == 1:
            return self.sql
        return _many(self.head, self.tail, self.width, rows)

    def chunks(self, rows: Sequence[Sequence[Any]]) -> Iterator[Sequence[Sequence[Any]]]:
        """``rows`` in order, cut into the statements' row counts, never one key twice in a
        statement."""
        for run in self._distinct_runs(rows):
            start = 0
            while start < len(run):
                size = _chunk_size(len(run) - start)
                yield run[start : start + size]
                start += size

    def _distinct_runs(self, rows: Sequence[Sequence[Any]]) -> Iterator[Sequence[Sequence[Any]]]:
        if not self.key_positions:
            yield rows
            return
        key_of = itemgetter(*self.key_positions)
        seen: set[Any] = set()
        start = 0
        for index, row in enumerate(rows):
            key = key_of(row)
            if key in seen:
                yield rows[start:index]
                start = index
                seen.clear()
            seen.add(key)
        yield rows[start:]


@cache
def row_insert(sql: str) -> RowInsert | None:
    """``sql`` taken apart, or None when it is not a one-row ``INSERT`` of the store's shape."""
    match = _SHAPE.fullmatch(sql)
    if match is None:
        return None
    columns = [c.strip() for c in match["columns"].split(",")]
    width = match["values"].count("?")
    if width != len(columns):
        return None
    key = [c.strip() for c in match["key"].split(",")] if match["key"] else []
    if any(k not in columns for k in key):
        return None
    return RowInsert(
        sql=sql,
        head=match["head"],
        tail=match["tail"],
        width=width,
        key_positions=tuple(columns.index(k) for k in key),
    )


def _chunk_size(remaining: int) -> int:
    for size in (MAX_ROWS, 16, 8):
        if remaining >= size:
            return size
    return remaining


@cache
def _many(head: str, tail: str, width: int, rows: int) -> str:
    row = "(" + ",".join("?" * width) + ")"
    return head + ",".join([row] * rows) + tail
