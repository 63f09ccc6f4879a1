"""Waiting on a live supervisor without sleeping blindly: follow its event stream."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TypedDict, Unpack

from latchwork.client import Client
from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2

FINAL = {
    job_pb2.JOB_STATUS_COMPLETE,
    job_pb2.JOB_STATUS_FAILED,
    job_pb2.JOB_STATUS_KILLED,
    job_pb2.JOB_STATUS_REMOVED,
}


class SubscribeFilters(TypedDict, total=False):
    """The filter fields of a SubscribeRequest (what ``events_until`` passes on)."""

    job_ids: Iterable[int]
    pgrps: Iterable[int]
    labels: Iterable[str]
    users: Iterable[str]
    names: Iterable[event_pb2.EventName.ValueType]
    types: Iterable[event_pb2.EventType.ValueType]
    include_callback_runs: bool


def events_until(
    client: Client,
    stop: Callable[[event_pb2.Event], bool],
    *,
    after_seq: int = 0,
    timeout: float = 60.0,
    **filters: Unpack[SubscribeFilters],
) -> list[event_pb2.Event]:
    """Every event (matching ``filters``) up to and including the first where ``stop`` holds."""
    seen: list[event_pb2.Event] = []
    done = threading.Event()
    stream = client._stub.Subscribe(  # noqa: SLF001 - tests reach the raw stream to cancel it
        supervisor_pb2.SubscribeRequest(after_seq=after_seq, **filters),
        timeout=timeout,
    )
    for item in stream:
        if item.HasField("event"):
            seen.append(item.event)
            if stop(item.event):
                done.set()
                stream.cancel()
                break
    if not done.is_set():
        raise AssertionError(f"condition not reached; saw {len(seen)} events")
    return seen


def job_final(job_id: int) -> Callable[[event_pb2.Event], bool]:
    final_names = {
        event_pb2.EVENT_NAME_COMPLETE,
        event_pb2.EVENT_NAME_FAILED,
        event_pb2.EVENT_NAME_KILLED,
        event_pb2.EVENT_NAME_REMOVED,
    }
    return lambda e: (
        e.job_id == job_id and e.event_type == event_pb2.EVENT_TYPE_JOB and e.name in final_names
    )


def wait_job(client: Client, job_id: int, timeout: float = 60.0) -> job_pb2.Job:
    """The job once it is in a final state. A final event read from the log may be an older
    run's (a job retried after it ended): then its state is read again and the wait goes on
    after that event."""
    deadline = time.monotonic() + timeout
    job = client.get_job(job_id)
    after = 0
    while job.status not in FINAL:
        seen = events_until(
            client,
            job_final(job_id),
            after_seq=after,
            job_ids=[job_id],
            timeout=max(deadline - time.monotonic(), 0.1),
        )
        after = seen[-1].seq
        job = client.get_job(job_id)
    return job
