"""The dashboards' work at a lower priority than the supervisor's own, on their shared loop.

The HTTP side runs in the supervisor's one event loop (issue 15), so every step of a
dashboard's work (an event read into the feed, a write to a browser, an overview) is a step
some chain of the supervisor's may wait behind: a change on its way to its gRPC subscribers, a
dependency's complete → unblocked → running. asyncio has no priorities, and waiting a loop
turn (``asyncio.sleep(0)``) only lets go of what is ready at that moment: a chain's next step,
made ready by that very turn, then waits behind the dashboard's next one. With 10 dashboards
the feed's steps take a few per cent of the loop's time (docs/benchmarks.md, dashboard load;
the benchmark could not tell this pacing from a plain turn within its noise).

:func:`until_idle` waits until the loop has nothing else ready before the dashboard's next
step, for at most :data:`MAX_DEFER_SECONDS`. Steps waiting so do not count as work for each
other (each would otherwise wait its full time for the others). :class:`IdleSteps` paces a
loop of such steps, so that a supervisor that is never idle still serves its dashboards, at a
bounded share of its time. It reads the loop's queue of ready callbacks, which is not public
API: on a loop without one (another implementation), it waits one turn, as before.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sized

MAX_DEFER_SECONDS = 0.02
"""The longest a dashboard's step waits for the loop to be idle."""
BUSY_STEP_SECONDS = 0.002
"""After a wait that found the loop still busy, how long :class:`IdleSteps` goes on without
waiting."""


_waiting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()
"""Per loop, the steps in :func:`until_idle` now: each has one turn in the ready queue."""


def _ready_queue(loop: asyncio.AbstractEventLoop) -> Sized | None:
    queue = getattr(loop, "_ready", None)
    return queue if isinstance(queue, Sized) else None


async def until_idle(max_defer: float = MAX_DEFER_SECONDS) -> bool:
    """Wait until nothing else is ready to run on the loop (at least one turn from now), or
    ``max_defer`` seconds; False if the loop was still busy then."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0)
    ready = _ready_queue(loop)
    if ready is None or not len(ready):
        return True
    deadline = loop.time() + max_defer
    _waiting[loop] = _waiting.get(loop, 0) + 1
    try:
        # The others waiting here have a turn each in the queue; this one's was taken.
        while len(ready) > _waiting[loop] - 1:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0)
        return True
    finally:
        _waiting[loop] -= 1


class IdleSteps:
    """Paces a loop of small steps (a feed's events, its writes) with :func:`until_idle`:
    one step per idle turn, and when the loop was still busy at the bound, the steps of the
    next :data:`BUSY_STEP_SECONDS` at once. So a supervisor busy without a pause still
    leaves its dashboards a tenth of its time or so, rather than one step per bound."""

    def __init__(self, max_defer: float = MAX_DEFER_SECONDS) -> None:
        self._max_defer = max_defer
        self._free_until = 0.0

    async def next(self) -> None:
        """Wait, if need be, before the next step."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._free_until:
            return
        if not await until_idle(self._max_defer):
            self._free_until = loop.time() + BUSY_STEP_SECONDS
