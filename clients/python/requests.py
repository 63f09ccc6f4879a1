"""The request messages ``Client`` and ``AsyncClient`` send, built in one place.

The two clients differ only in how they wait (blocking calls or ``await``); what they ask the
supervisor for, and how a dict becomes a message, must never drift apart, so both build their
requests here and keep nothing but the call itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from latchwork.v1 import job_pb2, supervisor_pb2

from .jobspec import callback_spec_from_dict, job_spec_from_dict

# A job as the clients accept it: Qube's job dict, or a JobSpec message.
JobInput = Mapping[str, Any] | job_pb2.JobSpec

ACTIONS = {
    "block": supervisor_pb2.ACTION_BLOCK,
    "unblock": supervisor_pb2.ACTION_UNBLOCK,
    "kill": supervisor_pb2.ACTION_KILL,
    "retry": supervisor_pb2.ACTION_RETRY,
    "suspend": supervisor_pb2.ACTION_SUSPEND,
    "resume": supervisor_pb2.ACTION_RESUME,
    "remove": supervisor_pb2.ACTION_REMOVE,
}


def submit(
    jobs: Iterable[JobInput], pgrp: int, request_id: str | None
) -> supervisor_pb2.SubmitRequest:
    """Dicts (Qube's job dict) or JobSpecs; a request id is always sent, so retries are safe."""
    specs = [
        job if isinstance(job, job_pb2.JobSpec) else job_spec_from_dict(job, f"jobs[{i}]")
        for i, job in enumerate(jobs)
    ]
    return supervisor_pb2.SubmitRequest(
        jobs=specs, pgrp=pgrp, request_id=request_id or uuid.uuid4().hex
    )


def control(
    action: str, job_ids: Iterable[int], work: Iterable[tuple[int, str]], reason: str
) -> supervisor_pb2.ControlJobsRequest:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    return supervisor_pb2.ControlJobsRequest(
        action=ACTIONS[action],
        job_ids=list(job_ids),
        work=[supervisor_pb2.WorkRef(job_id=j, work_name=w) for j, w in work],
        reason=reason,
    )


def add_callbacks(
    job_id: int, callbacks: Iterable[Mapping[str, Any]]
) -> supervisor_pb2.AddCallbacksRequest:
    return supervisor_pb2.AddCallbacksRequest(
        job_id=job_id,
        callbacks=[callback_spec_from_dict(c, f"callbacks[{i}]") for i, c in enumerate(callbacks)],
    )


def work_output(
    job_id: int, work_name: str, stderr: bool, attempt: int, offset: int
) -> supervisor_pb2.GetWorkOutputRequest:
    return supervisor_pb2.GetWorkOutputRequest(
        job_id=job_id,
        work_name=work_name,
        stream=job_pb2.OUTPUT_STREAM_STDERR if stderr else job_pb2.OUTPUT_STREAM_STDOUT,
        attempt=attempt,
        offset=offset,
    )
