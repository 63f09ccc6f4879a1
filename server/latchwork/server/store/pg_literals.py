"""SQL literals of the values a commit writes, as psycopg's ``ClientCursor`` renders them.

A commit on PostgreSQL is sent as one string of ``EXECUTE``s with their parameters rendered
in (:mod:`.postgres_connection`). psycopg's ``mogrify`` renders any value, through its
adapters, at a cost: a fifth of the event loop's time under a farm's reports (a ``py-spy``
profile, docs/benchmarks.md). A commit holds only a few kinds of value, each rendered here
in a line of Python, to the very same text (tests/unit/test_pg_literals.py checks it against
``mogrify``); any other kind is left to ``mogrify``.

Valid only where a string's backslashes are not escapes (``standard_conforming_strings``,
on by default since PostgreSQL 9.1) and the connection speaks UTF-8:
:func:`literals_apply` says whether a connection does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg


def _none(value: None) -> str:
    return "NULL"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _int(value: int) -> str:
    text = str(value)
    return " " + text if value < 0 else text  # (as psycopg: never "--", a comment)


def _float(value: float) -> str:
    if value != value:
        return "'NaN'::float8"
    if value in (float("inf"), float("-inf")):
        return "'Infinity'::float8" if value > 0 else "'-Infinity'::float8"
    text = repr(value)
    return " " + text if text[0] == "-" else text


def _str(value: str) -> str:
    if "\x00" in value:
        raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    quoted = value.replace("'", "''")
    if "\\" in value:
        return " E'" + quoted.replace("\\", "\\\\") + "'"
    return "'" + quoted + "'"


def _bytes(value: bytes | bytearray | memoryview) -> str:
    return "'\\x" + bytes(value).hex() + "'::bytea"


_RENDER: dict[type, Callable[[Any], str]] = {
    type(None): _none,
    bool: _bool,
    int: _int,
    float: _float,
    str: _str,
    bytes: _bytes,
    bytearray: _bytes,
    memoryview: _bytes,
}


def literals_apply(conn: psycopg.Connection[Any]) -> bool:
    """Whether :func:`render_call` renders as ``mogrify`` would on ``conn``."""
    info = conn.info
    return info.parameter_status("standard_conforming_strings") == "on" and info.encoding == "utf-8"


def render_call(prefix: str, parameters: Sequence[Any]) -> str | None:
    """``prefix`` (``EXECUTE name``) with ``parameters`` as literals in parentheses; None when
    one of them is of a kind not rendered here.

    The common kinds (text, integers, floats) are rendered in the loop itself, the rest by
    :data:`_RENDER`: a commit renders some 100 values per frame of a farm's reports, and a
    call per value was a tenth of the event loop's time there (the same text either way;
    tests/unit/test_pg_literals.py)."""
    if not parameters:
        return prefix
    parts: list[str] = []
    append = parts.append
    for value in parameters:
        kind = type(value)
        if kind is str:
            if "\\" in value or "\x00" in value:
                append(_str(value))
            elif "'" in value:
                append("'" + value.replace("'", "''") + "'")
            else:
                append("'" + value + "'")
        elif kind is int:
            append(str(value) if value >= 0 else " " + str(value))
        elif kind is float:
            text = repr(value)
            if text[-1] in "fn":  # inf, -inf, nan
                append(_float(value))
            else:
                append(" " + text if text[0] == "-" else text)
        else:
            render = _RENDER.get(kind)
            if render is None:
                return None
            append(render(value))
    return prefix + "(" + ", ".join(parts) + ")"


def _float_element(value: float) -> str:
    text = repr(value)
    if text[-1] in "fn":  # inf, -inf, nan: PostgreSQL's spellings
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    return text


def _str_element(value: str) -> str:
    if "\x00" in value:
        raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    if "\\" in value or '"' in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + value + '"'


def _bytes_element(value: bytes | bytearray | memoryview) -> str:
    return '"\\\\x' + bytes(value).hex() + '"'  # (bytea's hex text, its backslash escaped)


_ELEMENT: dict[type, Callable[[Any], str]] = {
    type(None): lambda value: "NULL",
    bool: lambda value: "t" if value else "f",
    int: str,
    float: _float_element,
    str: _str_element,
    bytes: _bytes_element,
    bytearray: _bytes_element,
    memoryview: _bytes_element,
}


def array_text(values: Sequence[Any]) -> str | None:
    """``values`` as the text of a PostgreSQL array (``{1,"a b",NULL}``), to be passed as one
    text parameter and cast to the column's array type; None when one of them is of a kind not
    rendered here. Every element but NULL is quoted, so a text that reads as a number, as
    ``NULL`` or holds a brace or comma stays the text it is (tests/unit/test_postgres_batched.py
    reads them back from a real server). A column of one kind, the usual case, is joined at
    once (a commit renders a dozen columns of a few rows each)."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = next(iter(kinds))
        if kind is int:
            return "{" + ",".join(map(str, values)) + "}"
        if kind is str:
            joined = '","'.join(values)  # (no quote, backslash or NUL in any: as it is)
            plain = "\\" not in joined and "\x00" not in joined
            if plain and joined.count('"') == 2 * (len(values) - 1):
                return '{"' + joined + '"}'
        elif kind is float:
            joined = ",".join(map(repr, values))
            if "n" not in joined:  # (no inf, nan)
                return "{" + joined + "}"
    element = _ELEMENT.get
    parts: list[str] = []
    for value in values:
        render = element(type(value))
        if render is None:
            return None
        parts.append(render(value))
    return "{" + ",".join(parts) + "}"
