"""Checks every request field the core does not: enum values and numeric ranges.

proto3 enums are open: a client may send any number, and protobuf hands it over as an int. Left
alone, an unknown value fell through to a default (``JobSpec.status=99`` became pending) or
was dropped from a filter (``Subscribe(names=[999])`` matched every event). ``unknown_enums``
walks a request and names each such field by its path; the ``check_*`` functions add the ranges
of numeric fields (documented in docs/errors.md). Each returns a list of ``FieldError`` (empty:
fine) for ``abort_invalid``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from latchwork.v1 import supervisor_pb2, worker_pb2

from ..core.submission import FieldError

MIN_HEARTBEAT_SECONDS = 1
MAX_HEARTBEAT_SECONDS = 3600
MAX_REASON_CHARS = 1024


@cache
def _has_enums(descriptor: Any, outer: frozenset[str] = frozenset()) -> bool:
    """Whether messages of this type contain an enum field anywhere (maps hold none here).

    ``outer`` holds the types being looked into already, so recursive types end.
    """
    inside = outer | {descriptor.full_name}
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_ENUM:
            return True
        nested = field.message_type if _is_message(field) else None
        if nested is not None and nested.full_name not in inside and _has_enums(nested, inside):
            return True
    return False


def _is_message(field: Any) -> bool:
    """A message field that is not a map (map values here are strings)."""
    return bool(
        field.type == FieldDescriptor.TYPE_MESSAGE and not field.message_type.GetOptions().map_entry
    )


def unknown_enums(message: Message, path: str = "") -> Iterator[FieldError]:
    """Every enum field of ``message`` (recursively) holding a number its enum does not define."""
    for name, repeated, known in _enum_fields(message.DESCRIPTOR):
        if known is None:  # a message field with enums inside
            if repeated:
                for index, item in enumerate(getattr(message, name)):
                    yield from unknown_enums(item, f"{_path(path, name)}[{index}]")
            elif message.HasField(name):
                yield from unknown_enums(getattr(message, name), _path(path, name))
        elif repeated:
            for index, value in enumerate(getattr(message, name)):
                if value not in known:
                    yield FieldError(f"{_path(path, name)}[{index}]", f"unknown value {value}")
        elif (value := getattr(message, name)) not in known:
            yield FieldError(_path(path, name), f"unknown value {value}")


@cache
def _enum_fields(descriptor: Any) -> tuple[tuple[str, bool, frozenset[int] | None], ...]:
    """The fields of a message type :func:`unknown_enums` looks at, in order: each enum field
    with the numbers its enum defines, each message field with enums inside (None). Worked
    out once per type: walking every field of every request cost the farm benchmark's
    supervisor 2 % of its time (a worker's reports are checked at each ``ReportWork``)."""
    fields: list[tuple[str, bool, frozenset[int] | None]] = []
    for field in descriptor.fields:
        repeated = bool(field.is_repeated)
        if field.type == FieldDescriptor.TYPE_ENUM:
            fields.append((field.name, repeated, frozenset(field.enum_type.values_by_number)))
        elif _is_message(field) and _has_enums(field.message_type):
            fields.append((field.name, repeated, None))
    return tuple(fields)


def _path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _not_negative(errors: list[FieldError], path: str, value: int) -> None:
    if value < 0:
        errors.append(FieldError(path, f"must not be negative (got {value})"))


def _ids(errors: list[FieldError], path: str, values: Iterable[int]) -> None:
    for index, value in enumerate(values):
        if value < 0:
            errors.append(FieldError(f"{path}[{index}]", f"must not be negative (got {value})"))


def check_submit(request: supervisor_pb2.SubmitRequest) -> list[FieldError]:
    return list(unknown_enums(request))


def check_subscribe(request: supervisor_pb2.SubscribeRequest) -> list[FieldError]:
    errors = list(unknown_enums(request))
    _ids(errors, "job_ids", request.job_ids)
    _ids(errors, "pgrps", request.pgrps)
    if request.after_seq < -1:
        errors.append(
            FieldError(
                "after_seq", f"must be -1 (only new events) or more (got {request.after_seq})"
            )
        )
    beat = request.heartbeat_seconds
    if beat and not MIN_HEARTBEAT_SECONDS <= beat <= MAX_HEARTBEAT_SECONDS:
        errors.append(
            FieldError(
                "heartbeat_seconds",
                f"must be 0 (the server's default) or between {MIN_HEARTBEAT_SECONDS} and "
                f"{MAX_HEARTBEAT_SECONDS} (got {beat})",
            )
        )
    return errors


def check_get_job(request: supervisor_pb2.GetJobRequest) -> list[FieldError]:
    errors: list[FieldError] = []
    _not_negative(errors, "job_id", request.job_id)
    return errors


def check_list_jobs(request: supervisor_pb2.ListJobsRequest) -> list[FieldError]:
    errors = list(unknown_enums(request))
    _ids(errors, "pgrps", request.pgrps)
    _not_negative(errors, "parent_id", request.parent_id)
    _not_negative(errors, "page_size", request.page_size)
    return errors


def check_control(request: supervisor_pb2.ControlJobsRequest) -> list[FieldError]:
    errors = list(unknown_enums(request))
    if len(request.reason) > MAX_REASON_CHARS:
        errors.append(FieldError("reason", f"at most {MAX_REASON_CHARS} characters"))
    return errors


def check_add_callbacks(request: supervisor_pb2.AddCallbacksRequest) -> list[FieldError]:
    errors: list[FieldError] = []
    _not_negative(errors, "job_id", request.job_id)
    return errors


def check_list_runs(request: supervisor_pb2.ListCallbackRunsRequest) -> list[FieldError]:
    errors: list[FieldError] = []
    _not_negative(errors, "job_id", request.job_id)
    _not_negative(errors, "callback_id", request.callback_id)
    _not_negative(errors, "page_size", request.page_size)
    return errors


def check_validate_trigger(request: supervisor_pb2.ValidateTriggerRequest) -> list[FieldError]:
    errors: list[FieldError] = []
    _not_negative(errors, "job_id", request.job_id)
    return errors


def check_work_output(request: supervisor_pb2.GetWorkOutputRequest) -> list[FieldError]:
    errors = list(unknown_enums(request))
    _not_negative(errors, "job_id", request.job_id)
    _not_negative(errors, "attempt", request.attempt)
    _not_negative(errors, "offset", request.offset)
    _not_negative(errors, "limit", request.limit)
    return errors


MAX_HELD_LEASES = 10_000
"""Lease ids a worker may name in one RegisterWorker or Heartbeat: it runs at most its slots
at once, and this leaves room for runs ended while the supervisor was away; each id is looked
up on the event loop, so the list is bounded like every other list a client sends."""


def check_register_worker(request: worker_pb2.RegisterWorkerRequest) -> list[FieldError]:
    errors: list[FieldError] = []
    if not request.host:
        errors.append(FieldError("host", "required"))
    _not_negative(errors, "slots", request.slots)
    _held_leases(errors, request.lease_ids)
    return errors


def check_heartbeat(request: worker_pb2.HeartbeatRequest) -> list[FieldError]:
    errors: list[FieldError] = []
    _held_leases(errors, request.lease_ids)
    return errors


def _held_leases(errors: list[FieldError], lease_ids: Sequence[str]) -> None:
    if len(lease_ids) > MAX_HELD_LEASES:
        errors.append(
            FieldError("lease_ids", f"{len(lease_ids)} lease ids, at most {MAX_HELD_LEASES}")
        )


def check_lease(request: worker_pb2.LeaseWorkRequest) -> list[FieldError]:
    errors: list[FieldError] = []
    _not_negative(errors, "max_leases", request.max_leases)
    _not_negative(errors, "wait_seconds", request.wait_seconds)
    return errors


def check_append(request: worker_pb2.AppendOutputRequest) -> list[FieldError]:
    return list(unknown_enums(request))
