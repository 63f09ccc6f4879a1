"""Many rows of one ``INSERT`` as one statement, for a commit sent to PostgreSQL.

A commit on PostgreSQL is one string of ``EXECUTE``s of prepared statements
(:mod:`.postgres_connection`). A worker's reports and leases write some 30 rows, most of them
through three statements (the work items' upserts, the instances' upserts, the events'
inserts), and a Submit thousands (a work row per frame): one ``EXECUTE`` a row cost the server
a statement's start and end, and the parsing of a row's literals, each time. Here the rows of
one such statement in one commit go as one
``INSERT … SELECT * FROM unnest(?::bigint[], ?::text[], …)``: an array per column, each one
text literal (:func:`.pg_literals.array_text`), one statement prepared once per shape whatever
the number of rows. On the server that is less than half the CPU of ``VALUES`` lists of 32
rows for 32 rows, and a quarter for a Submit's 3,000 (bench/pg_row_statements.py,
docs/benchmarks.md, session 15).

One rule keeps the result the same as a statement a row: an upsert
(``ON CONFLICT (key) DO UPDATE``) may not meet its key twice in one statement (PostgreSQL
refuses it), so rows are cut where a key comes again (:meth:`RowInsert.runs`): the later row
then updates what the earlier one wrote, as one statement a row did.

Only statements of the shape the store's :func:`~.database.insert` and :func:`~.database.put`
write are batched; any other statement goes a row at a time, as does a run of one row or of
values of a kind the arrays do not render.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

_QUOTE = '"'
_SHAPE = re.compile(
    r"INSERT INTO (?P<table>\S+) \((?P<columns>[^()]*)\) VALUES "
    r"\((?P<values>\?(?:, ?\?)*)\)"
    r"(?P<tail>(?: ON CONFLICT \((?P<key>[^()]*)\) DO UPDATE SET [^;]*)?)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class RowInsert:
    """An ``INSERT`` of one row (``VALUES (?, …)``), perhaps an upsert, taken apart."""

    sql: str
    table: str
    columns: tuple[str, ...]
    tail: str
    key_positions: tuple[int, ...]
    """Where the conflict key's columns are in a row (empty: a plain insert)."""

    @property
    def width(self) -> int:
        """Values in a row."""
        return len(self.columns)

    def unnest_sql(self, types: Mapping[str, str]) -> str:
        """The statement for any number of rows: a ``?`` parameter per column, the text of an
        array of that column's values, cast to its type (``types``: column → SQL type, as
        PostgreSQL's ``format_type`` names it; a quoted column, ``"user"``, under its name)."""
        arrays = ", ".join(f"?::{types[column.strip(_QUOTE)]}[]" for column in self.columns)
        names = ", ".join(self.columns)
        return f"INSERT INTO {self.table} ({names}) SELECT * FROM unnest({arrays}){self.tail}"

    def runs(self, rows: Sequence[Sequence[Any]]) -> Iterator[Sequence[Sequence[Any]]]:
        """``rows`` in order, cut where an upsert's key comes again (a plain insert: one
        run), never one key twice in a run."""
        if not self.key_positions:
            yield rows
            return
        key_of = itemgetter(*self.key_positions)
        if len(set(map(key_of, rows))) == len(rows):  # the usual case: every key once
            yield rows
            return
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
    columns = tuple(c.strip() for c in match["columns"].split(","))
    if match["values"].count("?") != len(columns):
        return None
    key = [c.strip() for c in match["key"].split(",")] if match["key"] else []
    if any(k not in columns for k in key):
        return None
    return RowInsert(
        sql=sql,
        table=match["table"],
        columns=columns,
        tail=match["tail"],
        key_positions=tuple(columns.index(k) for k in key),
    )
