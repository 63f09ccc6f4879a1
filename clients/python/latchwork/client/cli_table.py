"""How the ``latchwork`` command lays text out: aligned tables, clipped cells, times, durations.

Every listing of the command (``jobs``, ``job``, ``hosts``, ``watch``) is read by a wrangler in
a terminal and cut up by scripts (``awk``, ``column``), so they share one layout: columns two
spaces apart, sized to their content, numbers right-aligned, and a cell that may be long (a
label, a job name, a host) clipped with an ellipsis rather than pushing its row out of line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

ELLIPSIS = "…"


def clip(text: str, width: int) -> str:
    """``text``, cut to ``width`` characters with an ellipsis when it is longer."""
    if width <= 0 or len(text) <= width:
        return text
    return text[: width - 1] + ELLIPSIS


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: set[int],
    limits: Mapping[int, int] | None = None,
) -> list[str]:
    """Aligned columns, two spaces apart; the columns in ``right`` (numbers) right-aligned.

    Each column is as wide as its widest cell; a column in ``limits`` (index: width) is at
    most that wide, its longer cells clipped with an ellipsis. Trailing blanks are dropped, so
    the last column may stay unlimited without padding every line.
    """
    limits = limits or {}
    clipped = [[clip(str(cell), limits.get(i, 0)) for i, cell in enumerate(row)] for row in rows]
    columns = zip(headers, *clipped, strict=False)
    widths = [max(len(cell) for cell in column) for column in columns]
    lines = []
    for row in (list(headers), *clipped):
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def clock(stamp: Any) -> str:
    """A Timestamp as ``HH:MM:SS`` UTC (as ``watch`` prints event times); ``-`` when unset."""
    if not stamp.seconds:
        return "-"
    return datetime.fromtimestamp(stamp.seconds, UTC).strftime("%H:%M:%S")


def duration(seconds: float) -> str:
    """A span for a table: ``0.4s``, ``12s``, ``3m04s``, ``2h05m``, ``3d04h``."""
    if seconds < 10:
        return f"{max(seconds, 0.0):.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def span(start: Any, end: Any, now: float) -> str:
    """How long from the ``start`` Timestamp to ``end`` (or to ``now`` while it runs); ``-``
    when it never started."""
    if not start.seconds:
        return "-"
    began = start.seconds + start.nanos / 1e9
    ended = end.seconds + end.nanos / 1e9 if end.seconds else now
    return duration(ended - began)
