"""Recent events of a job (or of a kind), read through Subscribe as any client would.

Subscribe streams from a seq onwards and never ends, so the reader first learns the head of the
log (the caught-up heartbeat of a stream of new events only), then replays the last ``scan``
events with the filter and stops at the head, or at the heartbeat Subscribe sends as soon as it
has caught up (``caught_up_heartbeat``) when the filter's last event is older than the head.
Only the last ``limit`` are kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

import grpc
from aiohttp import web

from latchwork.v1 import event_pb2, supervisor_pb2

if TYPE_CHECKING:
    from latchwork.v1.supervisor_pb2_grpc import SupervisorServiceAsyncStub

from .calls import metadata, stub
from .json_bodies import int_param, path_id, to_json

NO_JOB = 2**62  # a job id no supervisor hands out: a stream of nothing, just its heartbeat
DEFAULT_SCAN = 50_000
MAX_LIMIT = 1000

Metadata = tuple[tuple[str, str], ...]


async def head_seq(service: SupervisorServiceAsyncStub, md: Metadata) -> int:
    """The seq of the newest event in the log: a stream of only new events is caught up at
    once, and its caught-up heartbeat says where (no snapshot, which would list every job)."""
    call = service.Subscribe(
        supervisor_pb2.SubscribeRequest(job_ids=[NO_JOB], after_seq=-1, caught_up_heartbeat=True),
        metadata=md,
    )
    try:
        async for item in call:
            if item.HasField("heartbeat"):
                return item.heartbeat.head_seq
    finally:
        call.cancel()
    return 0


async def recent_events(
    service: SupervisorServiceAsyncStub,
    md: Metadata,
    *,
    job_ids: Sequence[int] = (),
    names: Sequence[event_pb2.EventName.ValueType] = (),
    limit: int,
    scan: int = DEFAULT_SCAN,
) -> tuple[list[event_pb2.Event], int]:
    """The last ``limit`` matching events among the last ``scan`` of the log, and the head."""
    head = await head_seq(service, md)
    after = max(0, head - scan)
    try:
        return await _replay(service, md, job_ids, names, after, head, limit), head
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.OUT_OF_RANGE:
            raise
        # Trimmed below ``after`` meanwhile: from the start is always allowed.
        return await _replay(service, md, job_ids, names, 0, head, limit), head


async def _replay(
    service: SupervisorServiceAsyncStub,
    md: Metadata,
    job_ids: Sequence[int],
    names: Sequence[event_pb2.EventName.ValueType],
    after: int,
    head: int,
    limit: int,
) -> list[event_pb2.Event]:
    window: deque[event_pb2.Event] = deque(maxlen=limit)
    if head <= after:
        return []
    call = service.Subscribe(
        supervisor_pb2.SubscribeRequest(
            job_ids=job_ids, names=names, after_seq=after, caught_up_heartbeat=True
        ),
        metadata=md,
    )
    try:
        async for item in call:
            if item.HasField("heartbeat"):
                break
            if item.HasField("event"):
                if item.event.seq > head:
                    break
                window.append(item.event)
                if item.event.seq == head:
                    break
    finally:
        call.cancel()
    return list(window)


async def job_events(request: web.Request) -> web.Response:
    """``GET /api/jobs/{id}/events?limit=200``: the job's recent events, oldest first."""
    job_id = path_id(request)
    limit = int_param(request.query, "limit", 200, minimum=1, maximum=MAX_LIMIT)
    md = metadata(request)
    # GetJob first: an unknown or invisible job is the gRPC refusal, not an empty list.
    await stub(request).GetJob(supervisor_pb2.GetJobRequest(job_id=job_id), metadata=md)
    events, head = await recent_events(stub(request), md, job_ids=[job_id], limit=limit)
    return web.json_response({"events": [to_json(e) for e in events], "head_seq": head})
