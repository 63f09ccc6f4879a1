"""The event log as readers see it: recent events from memory, older ones from the store.

Publishing never waits for readers. A reader that falls behind the in-memory window simply
reads from SQLite, so a slow subscriber costs the supervisor no memory and delays nobody.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator

from .core.events import Event, EventName
from .core.farm_summary import RECENT_FAILURES
from .store.protocol import Store


class EventLog:
    def __init__(self, store: Store, *, window: int = 50_000) -> None:
        self._store = store
        self._recent: deque[Event] = deque(maxlen=window)
        # The newest ``failed`` events of jobs, so that the overview need not search for them.
        self._failures: deque[Event] = deque(maxlen=RECENT_FAILURES)
        self.head_seq = store.head_seq
        self._advanced = asyncio.Event()
        # For the metrics (server/metrics.py): events published since the start, and the
        # Subscribe streams following the log now (api/subscribe.py counts them).
        self.published = 0
        self.subscribers = 0

    def publish(self, events: list[Event]) -> None:
        """Make stored events visible to readers (they must be numbered and committed)."""
        if not events:
            return
        self._recent.extend(events)
        for event in events:
            if event.name is EventName.FAILED and event.job_id:
                self._failures.append(event)
        self.published += len(events)
        self.head_seq = events[-1].seq
        self._advanced.set()
        self._advanced = asyncio.Event()

    def read(self, after_seq: int, limit: int) -> list[Event]:
        """Up to ``limit`` events with seq > ``after_seq``, in order."""
        if after_seq >= self.head_seq:
            return []
        if self._recent and self._recent[0].seq <= after_seq + 1:
            start = after_seq + 1 - self._recent[0].seq
            stop = min(start + limit, len(self._recent))
            return [self._recent[i] for i in range(start, stop)]
        return self._store.read_events(after_seq, limit)

    def newest_first(self) -> Iterator[Event]:
        """The remembered events, newest first (the in-memory window only)."""
        return reversed(self._recent)

    def recent_failures(self) -> list[Event]:
        """The newest ``failed`` events of jobs still in the window, newest first: what
        :func:`.core.farm_summary.recent_failures` finds there for a reader who sees all."""
        oldest = self._recent[0].seq if self._recent else 0
        return [event for event in reversed(self._failures) if event.seq >= oldest]

    def forget_before(self, oldest: int) -> None:
        """Drop remembered events the store no longer retains, so both tell the same story."""
        while self._recent and self._recent[0].seq < oldest:
            self._recent.popleft()

    def oldest_seq(self) -> int:
        return self._store.oldest_seq()

    async def wait_beyond(self, seq: int, timeout: float) -> bool:
        """Wait until the head passes ``seq``; False on timeout."""
        if self.head_seq > seq:
            return True
        try:
            await asyncio.wait_for(self._advanced.wait(), timeout)
        except TimeoutError:
            return self.head_seq > seq
        return True
