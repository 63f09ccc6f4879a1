"""Unguessable ids (lease ids), drawn from the operating system's random source in bulk.

A lease id is a capability: only the worker that runs a lease may report it or re-attach it
(:mod:`.leases`). ``secrets.token_hex(16)`` makes one with a ``getrandom`` call of its own,
3 % of the supervisor's CPU at 3,500 frames a second (bench/farm_throughput.py under py-spy).
The same bytes from the same source, read 256 ids at a time, cost a slice and a hex encoding.
"""

from __future__ import annotations

import os

ID_BYTES = 16
_BATCH = 256


class UnguessableIds:
    """Hex ids of :data:`ID_BYTES` random bytes each (``os.urandom``), as ``secrets`` makes
    them; the bytes are read :data:`_BATCH` ids at a time and each used once."""

    def __init__(self) -> None:
        self._pool = b""
        self._offset = 0

    def next(self) -> str:
        if self._offset >= len(self._pool):
            self._pool = os.urandom(ID_BYTES * _BATCH)
            self._offset = 0
        start = self._offset
        self._offset = start + ID_BYTES
        return self._pool[start : start + ID_BYTES].hex()
