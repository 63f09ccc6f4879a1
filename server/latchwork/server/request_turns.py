"""Copies of one Submit take turns: a client's retry waits until the first copy is done.

A client that timed out sends its Submit again with the same request id, and the first copy
may still be on its way: its Python code in the checker, its rows being staged, its commit in
flight to PostgreSQL. Nothing is stored yet, so the store cannot tell the second copy it is
one. Instead each copy holds its request id from its look-up in the store to its answer, and a
copy that finds the id held waits for the turn to end, then looks it up: it finds the first
copy stored (and answers as it did) or not (the first failed, and this one is applied).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class RequestTurns:
    """The request ids held by Submits in progress, and the turns of their copies."""

    def __init__(self) -> None:
        self._held: dict[str, asyncio.Event] = {}

    def held(self, request_id: str) -> bool:
        """Whether a Submit with this request id is in progress."""
        return request_id in self._held

    @asynccontextmanager
    async def turn(self, request_id: str) -> AsyncIterator[None]:
        """Hold ``request_id`` for the body, once the copies before this one are done; an
        empty request id (no idempotence asked) holds nothing."""
        if not request_id:
            yield
            return
        while (current := self._held.get(request_id)) is not None:
            await current.wait()
        mine = self._held[request_id] = asyncio.Event()
        try:
            yield
        finally:
            del self._held[request_id]
            mine.set()
