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
from typing import Any, ParamSpec, TypedDict, TypeVar

from latchwork.v1 import job_pb2, supervisor_pb2

from .errors import LatchworkError, RequestError
from .jobspec import (
    callback_spec_from_dict,
    job_spec_from_dict,
    submission_pgrp,
    without_pgrp,
)

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
    "requeue": supervisor_pb2.ACTION_REQUEUE,
}

HOST_ACTIONS = {
    "lock": supervisor_pb2.HOST_ACTION_LOCK,
    "unlock": supervisor_pb2.HOST_ACTION_UNLOCK,
}


class JobChanges(TypedDict, total=False):
    """What ``modify_jobs`` may change (``JobChanges`` in supervisor.proto); a key left out is
    left as it is, and an empty routing string clears that attribute."""

    priority: int
    cpus: int
    retry: int
    reservations: str
    requirements: str
    hosts: str
    omithosts: str
    groups: str
    omitgroups: str
    cluster: str
    restrictions: str
    data: Mapping[str, str]
    remove_data: Iterable[str]


@_builder
def submit(
    jobs: Iterable[JobInput], pgrp: int, request_id: str | None
) -> supervisor_pb2.SubmitRequest:
    """Dicts (Qube's job dict) or JobSpecs; a request id is always sent, so retries are safe.

    A dict may name the process group to join (``"pgrp"``, as in Qube); every one that does
    must agree with the others and with ``pgrp`` (``submission_pgrp``).
    """
    jobs = list(jobs)
    group = submission_pgrp(jobs, pgrp)
    specs = [
        job
        if isinstance(job, job_pb2.JobSpec)
        else job_spec_from_dict(without_pgrp(job), f"jobs[{i}]")
        for i, job in enumerate(jobs)
    ]
    return supervisor_pb2.SubmitRequest(
        jobs=specs, pgrp=group, request_id=request_id or uuid.uuid4().hex
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
def explain_job(job_id: int) -> supervisor_pb2.ExplainJobRequest:
    return supervisor_pb2.ExplainJobRequest(job_id=job_id)


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


def _names(names: str | Iterable[str]) -> list[str]:
    """Host names: one name, or any iterable of them (a lone string is one name, not letters)."""
    return [names] if isinstance(names, str) else list(names)


@_builder
def list_hosts(names: str | Iterable[str]) -> supervisor_pb2.ListHostsRequest:
    return supervisor_pb2.ListHostsRequest(names=_names(names))


@_builder
def get_host(name: str) -> supervisor_pb2.GetHostRequest:
    return supervisor_pb2.GetHostRequest(name=name)


@_builder
def control_hosts(
    action: str, names: str | Iterable[str], reason: str
) -> supervisor_pb2.ControlHostsRequest:
    if action not in HOST_ACTIONS:
        raise RequestError(f"unknown host action {action!r}; use one of {', '.join(HOST_ACTIONS)}")
    return supervisor_pb2.ControlHostsRequest(
        action=HOST_ACTIONS[action], names=_names(names), reason=reason
    )


@_builder
def modify_jobs(
    job_ids: int | Iterable[int], changes: Mapping[str, Any], reason: str
) -> supervisor_pb2.ModifyJobsRequest:
    """``changes`` holds only what changes: a value of None is left out, so ``priority=None``
    means "keep the priority", as an absent proto3 ``optional`` field does."""
    given = {key: value for key, value in changes.items() if value is not None}
    unknown = sorted(set(given) - set(JobChanges.__annotations__))
    if unknown:
        raise RequestError(
            f"cannot change {', '.join(unknown)}; "
            f"use one of {', '.join(JobChanges.__annotations__)}"
        )
    data = dict(given.pop("data", {}))
    remove_data = _names(given.pop("remove_data", ()))
    if not (given or data or remove_data):
        raise RequestError("nothing to change: name at least one attribute")
    for key in ("priority", "cpus", "retry"):
        value = given.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise RequestError(f"{key} must be a whole number, not {value!r}")
    ids = [job_ids] if isinstance(job_ids, int) else list(job_ids)
    return supervisor_pb2.ModifyJobsRequest(
        job_ids=ids,
        changes=supervisor_pb2.JobChanges(data=data, remove_data=remove_data, **given),
        reason=reason,
    )
