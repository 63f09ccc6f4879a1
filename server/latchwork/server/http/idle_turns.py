"""The dashboards' work at a lower priority than the supervisor's own, on their shared loop.

The HTTP side runs in the supervisor's one event loop (issue 15), so every step of a
dashboard's work (an event read into the feed, a write to a browser, an overview) is a step
some chain of the supervisor's may wait behind: a change on its way to its gRPC subscribers, a
dependency's complete → unblocked → running. asyncio has no priorities, and waiting a loop
turn (``asyncio.sleep(0)``) only lets go of what is ready at that moment: a chain's next step,
made ready by that very turn, then waits behind the dashboard's next one. Measured with 10
dashboards (docs/benchmarks.md, dashboard load), that was enough to move the Subscribe p99.

:func:`until_idle` waits until the loop has nothing else ready before the dashboard's next
step, for at most :data:`MAX_DEFER_SECONDS`, so that a loop that is never idle still serves its
dashboards. Steps waiting so do not count as work for each other (each would otherwise wait its
full time for the others). It reads the loop's queue of ready callbacks, which is not public
API: on a loop without one (another implementation), it waits one turn, as before.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sized

MAX_DEFER_SECONDS = 0.02
"""The longest a dashboard's step waits for the loop to be idle."""


_waiting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()
"""Per loop, the steps in :func:`until_idle` now: each has one turn in the ready queue."""


def _ready_queue(loop: asyncio.AbstractEventLoop) -> Sized | None:
    queue = getattr(loop, "_ready", None)
    return queue if isinstance(queue, Sized) else None


async def until_idle(max_defer: float = MAX_DEFER_SECONDS) -> None:
    """Return when nothing else is ready to run on the loop (at least one turn from now), or
    after ``max_defer`` seconds."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0)
    ready = _ready_queue(loop)
    if ready is None or not len(ready):
        return
    deadline = loop.time() + max_defer
    _waiting[loop] = _waiting.get(loop, 0) + 1
    try:
        # The others waiting here have a turn each in the queue; this one's was taken.
        while len(ready) > _waiting[loop] - 1 and loop.time() < deadline:
            await asyncio.sleep(0)
    finally:
        _waiting[loop] -= 1
