"""A filtered reader behind the memory window: the store returns only what may match, the
cursor moves past the rest, nothing that matches is skipped, a trimmed resume point is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from latchwork.server.core.changes import Changes
from latchwork.server.core.errors import OutOfRange
from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.filters import EventFilter
from latchwork.server.eventlog import STORE_SCAN_BATCHES, EventLog
from latchwork.server.store.event_log import MAX_NARROWING_VALUES, narrowing
from latchwork.server.store.opening import open_store
from latchwork.server.store.protocol import Store

LIMIT = 7


def _publish_mixed(store: Store, log: EventLog) -> list[Event]:
    """600 events: mostly work events of five jobs, a job event every 25th (24 of them, the
    last seq 576), a callback run's event every 40th, two users, three labels."""
    changes = Changes(now=1.0)
    for i in range(600):
        if i % 40 == 39:
            kind, name = EventType.CALLBACK, EventName.COMPLETE
        elif i % 25 == 0:
            kind, name = EventType.JOB, EventName.COMPLETE
        else:
            kind, name = EventType.WORK, EventName.RUNNING
        changes.emit(
            Event(
                name,
                kind,
                job_id=i % 5 + 1,
                pgrp=i % 5 + 1,
                label=f"l{i % 3}",
                user="carol" if i % 7 == 0 else "tester",
            )
        )
    store.write(changes)
    log.publish(changes.events)
    return changes.events


def _read_all(log: EventLog, matching: EventFilter, after: int = 0) -> tuple[list[int], int]:
    """The seqs ``matching`` keeps, read batch by batch as Subscribe does; the batches."""
    cursor, batches = after, 0
    kept: list[int] = []
    while True:
        batch, through = log.read_matching(cursor, LIMIT, matching)
        if through == cursor:
            return kept, batches
        assert through > cursor and through - cursor <= LIMIT * STORE_SCAN_BATCHES
        assert all(cursor < e.seq <= through for e in batch)
        kept.extend(e.seq for e in batch if matching.matches(e))
        cursor, batches = through, batches + 1


FILTERS = [
    EventFilter(),
    EventFilter(types=frozenset({EventType.JOB})),
    EventFilter(names=frozenset({EventName.COMPLETE}), users=frozenset({"carol"})),
    EventFilter(job_ids=frozenset({2, 4})),
    EventFilter(pgrps=frozenset({3}), labels=frozenset({"l1"})),
    EventFilter(include_callback_runs=True),
    EventFilter(types=frozenset({EventType.CALLBACK}), include_callback_runs=True),
    EventFilter(types=frozenset({EventType.CALLBACK})),  # never let through
    EventFilter(job_ids=frozenset(range(1, MAX_NARROWING_VALUES + 2))),  # too many: not sent
]


@pytest.mark.parametrize("matching", FILTERS, ids=lambda f: repr(f)[:60])
def test_a_reader_behind_the_window_misses_nothing_its_filter_keeps(
    store_location: str | Path, matching: EventFilter
) -> None:
    store = open_store(store_location)
    log = EventLog(store, window=4)
    events = _publish_mixed(store, log)
    expected = [e.seq for e in events if matching.matches(e)]
    for after in (0, 1, 333):
        kept, _ = _read_all(log, matching, after)
        assert kept == [seq for seq in expected if seq > after]
    store.close()


def test_behind_the_window_only_what_may_match_is_read(store_location: str | Path) -> None:
    store = open_store(store_location)
    log = EventLog(store, window=4)
    _publish_mixed(store, log)
    job_events = EventFilter(types=frozenset({EventType.JOB}))
    batch, through = log.read_matching(0, LIMIT, job_events)
    assert [e.seq for e in batch] == [1, 26, 51, 76, 101, 126]
    assert through == LIMIT * STORE_SCAN_BATCHES  # fewer than LIMIT: the whole span read
    batch, through = log.read_matching(0, 3, job_events)
    assert [e.seq for e in batch] == [1, 26, 51] and through == 51  # LIMIT reached
    batch, through = log.read_matching(590, LIMIT, job_events)
    assert batch == [] and through == 600  # none left: read through to the head
    batch, through = log.read_matching(596, LIMIT, job_events)
    assert [e.seq for e in batch] == [597, 598, 599, 600] and through == 600  # memory: all
    # Unfiltered, the store is read a batch at a time.
    batch, through = log.read_matching(0, LIMIT, EventFilter(include_callback_runs=True))
    assert [e.seq for e in batch] == list(range(1, LIMIT + 1)) and through == LIMIT
    # The 24 job events in 5 reads (of 140 seqs), not the 86 reads of every event.
    kept, batches = _read_all(log, job_events)
    assert len(kept) == 24 and batches == 5
    store.close()


def test_a_reader_behind_trimmed_events_is_told(store_location: str | Path) -> None:
    store = open_store(store_location)
    log = EventLog(store, window=4)
    _publish_mixed(store, log)
    assert store.trim_events(keep_last=100) == 500
    log.forget_before(store.oldest_seq())
    with pytest.raises(
        OutOfRange, match="events after seq 1 are no longer retained; the oldest is 501"
    ):
        log.read_matching(1, LIMIT, EventFilter(types=frozenset({EventType.JOB})))
    batch, _ = log.read_matching(0, LIMIT, EventFilter())
    assert batch[0].seq == 501  # from 0: the oldest retained is where reading starts
    assert log.read_matching(500, LIMIT, EventFilter())[0][0].seq == 501
    store.close()


def test_narrowing_sends_only_what_sql_can_check_exactly() -> None:
    assert narrowing(EventFilter()) == [
        ("type", sorted(t.value for t in EventType if t is not EventType.CALLBACK))
    ]
    assert narrowing(EventFilter(include_callback_runs=True)) == []
    assert narrowing(
        EventFilter(job_ids=frozenset({3, 1}), users=frozenset({"u"}), include_callback_runs=True)
    ) == [("job_id", [1, 3]), ('"user"', ["u"])]
    too_many = EventFilter(labels=frozenset(str(i) for i in range(MAX_NARROWING_VALUES + 1)))
    assert [column for column, _ in narrowing(too_many)] == ["type"]
