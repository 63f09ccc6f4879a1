"""The request messages ``Client`` and ``AsyncClient`` send, built in one place.

The two clients differ only in how they wait (blocking calls or ``await``); what they ask the
supervisor for, and how a dict becomes a message, must never drift apart, so both build their
requests here and keep nothing but the call itself.

Values protobuf cannot hold (an id beyond 64 bits, a filter that is not a field, a string with
a lone surrogate) raise ``RequestError``, a ``LatchworkError`` (and ``ValueError``): the clients
raise nothing else.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

from latchwork.v1 import job_pb2, supervisor_pb2

from .errors import LatchworkError, RequestError
from .jobspec import callback_spec_from_dict, job_spec_from_dict

P = ParamSpec("P")
R = TypeVar("R")


def _builder(build: Callable[P, R]) -> Callable[P, R]:
    """Turns protobuf's ValueError/TypeError for a value it cannot hold into ``RequestError``."""

    @functools.wraps(build)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return build(*args, **kwargs)
        except LatchworkError:
            raise
        except (ValueError, TypeError, AttributeError) as error:
            raise RequestError(f"cannot build the {build.__name__} request: {error}") from None

    return guarded


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


@_builder
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


@_builder
def control(
    action: str, job_ids: Iterable[int], work: Iterable[tuple[int, str]], reason: str
) -> supervisor_pb2.ControlJobsRequest:
    if action not in ACTIONS:
        raise RequestError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    return supervisor_pb2.ControlJobsRequest(
        action=ACTIONS[action],
        job_ids=list(job_ids),
        work=[supervisor_pb2.WorkRef(job_id=j, work_name=w) for j, w in work],
        reason=reason,
    )


@_builder
def add_callbacks(
    job_id: int, callbacks: Iterable[Mapping[str, Any]]
) -> supervisor_pb2.AddCallbacksRequest:
    return supervisor_pb2.AddCallbacksRequest(
        job_id=job_id,
        callbacks=[callback_spec_from_dict(c, f"callbacks[{i}]") for i, c in enumerate(callbacks)],
    )


@_builder
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


@_builder
def get_job(job_id: int) -> supervisor_pb2.GetJobRequest:
    return supervisor_pb2.GetJobRequest(job_id=job_id)


@_builder
def list_jobs(token: str, filters: Mapping[str, Any]) -> supervisor_pb2.ListJobsRequest:
    return supervisor_pb2.ListJobsRequest(page_token=token, **filters)


@_builder
def callback_runs(
    job_id: int, callback_id: int, token: str
) -> supervisor_pb2.ListCallbackRunsRequest:
    return supervisor_pb2.ListCallbackRunsRequest(
        job_id=job_id, callback_id=callback_id, page_token=token
    )


@_builder
def validate_trigger(triggers: str, job_id: int) -> supervisor_pb2.ValidateTriggerRequest:
    return supervisor_pb2.ValidateTriggerRequest(triggers=triggers, job_id=job_id)


@_builder
def subscribe(after_seq: int, filters: Mapping[str, Any]) -> supervisor_pb2.SubscribeRequest:
    return supervisor_pb2.SubscribeRequest(after_seq=after_seq, **filters)
