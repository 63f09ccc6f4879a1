"""The event log as readers see it: recent events from memory, older ones from the store.

Publishing never waits for readers. A reader that falls behind the in-memory window simply
reads from the store, so a slow subscriber costs the supervisor no memory and delays nobody;
there it reads only the events its filter may keep, since decoding every event it would then
drop was the larger part of its cost (a subscriber of job events among a farm's frame events,
docs/benchmarks.md, session 13).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator

from .core.errors import OutOfRange
from .core.events import Event, EventName
from .core.farm_summary import RECENT_FAILURES
from .core.filters import EventFilter
from .store.protocol import Store

#: How many batches' worth of seqs a reader behind the memory window scans in the store at
#: once (:meth:`EventLog.read_matching`).
STORE_SCAN_BATCHES = 20


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
        recent = self._remembered(after_seq, limit)
        return recent if recent is not None else self._store.read_events(after_seq, limit)

    def read_matching(
        self, after_seq: int, limit: int, matching: EventFilter
    ) -> tuple[list[Event], int]:
        """Events after ``after_seq`` for a reader that keeps only those ``matching`` lets
        through, and the seq it has then read through (its next cursor).

        From memory, the next ``limit`` events, all of them (the reader filters). From the
        store, for a reader behind the window: only the events the filter may let through
        (:func:`.store.event_log.narrowing`), up to ``limit`` of them among the next
        :data:`STORE_SCAN_BATCHES` times ``limit`` seqs, so that a reader of job events does not
        decode every frame's. Raises ``OutOfRange`` when the store no longer holds the events
        after ``after_seq`` (from 0: the oldest retained is where reading starts)."""
        if after_seq >= self.head_seq:
            return [], after_seq
        recent = self._remembered(after_seq, limit)
        if recent is not None:
            return recent, recent[-1].seq
        oldest = self._store.oldest_seq()
        if oldest > after_seq + 1:
            if after_seq > 0:
                raise OutOfRange(
                    f"events after seq {after_seq} are no longer retained; the oldest is {oldest}"
                )
            after_seq = oldest - 1
        through = min(self.head_seq, after_seq + limit * STORE_SCAN_BATCHES)
        events = self._store.read_events(after_seq, limit, through_seq=through, matching=matching)
        return events, (events[-1].seq if len(events) == limit else through)

    def _remembered(self, after_seq: int, limit: int) -> list[Event] | None:
        """Up to ``limit`` events after ``after_seq`` (< the head) from memory; None when
        the window no longer reaches back to it."""
        recent = self._recent
        if not recent or recent[0].seq > after_seq + 1:
            return None
        start = after_seq + 1 - recent[0].seq
        return [recent[i] for i in range(start, min(start + limit, len(recent)))]

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
