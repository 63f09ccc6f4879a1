"""Subscribe: the event stream, optionally after a snapshot of the jobs, with heartbeats.

A subscriber reads the event log from its cursor in batches and then waits for the head to
move; one that lags behind what the store retains is told so (OUT_OF_RANGE), never skipped
silently. A caller's :class:`~..core.visibility.ReadScope` applies to the snapshot, the
catch-up and the live events alike (after the request's own filter). Events go out
pre-encoded (:class:`~.encoded_events.EncodedEvents`): each is encoded once for every
subscriber that receives it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from typing import TypeVar

from latchwork.v1 import supervisor_pb2

from ..core.errors import OutOfRange
from ..core.events import Event
from ..core.filters import EventFilter
from ..core.model import Job
from ..core.visibility import EVERYTHING, ReadScope
from ..eventlog import EventLog
from ..retired_jobs import Narrowing
from ..store.history import JobsWhere
from ..supervisor import Supervisor
from . import convert
from .snapshot_jobs import snapshot_jobs

STREAM_BATCH = 500

Encoded = TypeVar("Encoded")
"""What ``encode`` makes of an event: the gRPC stream's bytes, the HTTP side's SSE frame."""


async def subscription(
    supervisor: Supervisor,
    request: supervisor_pb2.SubscribeRequest,
    *,
    heartbeat_seconds: int,
    encode: Callable[[Event], Encoded],
    scope: ReadScope = EVERYTHING,
    gather_seconds: float = 0.0,
) -> AsyncGenerator[supervisor_pb2.SubscribeResponse | Encoded, None]:
    """The messages of one Subscribe call (the request already checked), until cancelled.

    ``heartbeat_seconds``: the default period of heartbeats while no event comes; ``scope``:
    what the caller may see (``visibility``); ``gather_seconds``: once caught up, how long new
    events gather before they are read, in one batch (0, gRPC's: each at once; the dashboard's
    feed gathers, so it wakes once per batch and not in the middle of every chain of events)."""
    log = supervisor.event_log
    event_filter = EventFilter(
        job_ids=frozenset(request.job_ids),
        pgrps=frozenset(request.pgrps),
        labels=frozenset(request.labels),
        users=frozenset(request.users),
        names=frozenset(
            convert.EVENT_NAME_FROM_PB[n] for n in request.names if n in convert.EVENT_NAME_FROM_PB
        ),
        types=frozenset(
            convert.EVENT_TYPE_FROM_PB[t] for t in request.types if t in convert.EVENT_TYPE_FROM_PB
        ),
        include_callback_runs=request.include_callback_runs,
    )
    cursor = request.after_seq
    if request.snapshot:
        supervisor.settle()  # (the model then matches the published events)
        cursor = log.head_seq

        def wanted(job: Job) -> bool:
            return scope.sees(job) and _job_matches(
                event_filter, job.id, job.pgrp, job.label, job.user
            )

        # The state at ``cursor``: nothing awaited between here and the generator's start.
        narrowed = Narrowing(
            event_filter.job_ids,
            JobsWhere(event_filter.pgrps, event_filter.labels, event_filter.users),
        )
        async for job_pb in snapshot_jobs(supervisor, wanted, narrowed):
            yield supervisor_pb2.SubscribeResponse(snapshot_job=job_pb)
        yield supervisor_pb2.SubscribeResponse(snapshot_end=supervisor_pb2.SnapshotEnd(seq=cursor))
    elif cursor < 0:
        cursor = log.head_seq
    elif cursor > log.head_seq:
        raise OutOfRange(f"after_seq {cursor} is beyond the log's head {log.head_seq}")
    else:
        oldest = log.oldest_seq()
        if cursor > 0 and oldest and cursor + 1 < oldest:
            raise OutOfRange(
                f"events after seq {cursor} are no longer retained; the oldest is {oldest}"
            )
    heartbeat = request.heartbeat_seconds or heartbeat_seconds
    # Counted while it follows the log (the metrics' latchwork_subscribers).
    counted = log if isinstance(log, EventLog) else None
    if counted is not None:
        counted.subscribers += 1
    # Whether the caught-up heartbeat (request.caught_up_heartbeat) is still to be sent.
    announce = request.caught_up_heartbeat
    try:
        while True:
            # (OutOfRange when the events after the cursor were trimmed while this
            # subscriber lagged: it is told, never skipped past them silently.)
            batch, through = log.read_matching(cursor, STREAM_BATCH, event_filter)
            if through > cursor:
                sent = False
                for event in batch:
                    if event_filter.matches(event) and scope.sees_event(event):
                        sent = True
                        yield encode(event)
                cursor = through
                if not sent:
                    # Nothing sent, so nothing awaited: let the loop serve others before
                    # the next batch, however far behind this subscriber is.
                    await asyncio.sleep(0)
                continue
            if not announce and await log.wait_beyond(cursor, heartbeat):
                if gather_seconds:
                    await asyncio.sleep(gather_seconds)
            else:
                announce = False
                yield supervisor_pb2.SubscribeResponse(
                    heartbeat=supervisor_pb2.Heartbeat(
                        head_seq=log.head_seq, time=convert.timestamp(time.time())
                    )
                )
    finally:
        if counted is not None:
            counted.subscribers -= 1


def _job_matches(event_filter: EventFilter, job_id: int, pgrp: int, label: str, user: str) -> bool:
    return (
        (not event_filter.job_ids or job_id in event_filter.job_ids)
        and (not event_filter.pgrps or pgrp in event_filter.pgrps)
        and (not event_filter.labels or label in event_filter.labels)
        and (not event_filter.users or user in event_filter.users)
    )
