"""Qube-style job dictionaries to JobSpec messages.

A pipeline tool written for Qube passes dicts like ``{"name": ..., "prototype": "cmdrange",
"package": {"cmdline": ..., "range": "1-10"}, "agenda": qb.genframes("1-10")}``; this module
accepts them as they are and names any key it does not understand. A Qube attribute that
Latchwork does not implement is refused, naming it and why (:data:`UNSUPPORTED_QUBE_KEYS`):
none is ever dropped silently, so a job never runs without a condition its author set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from latchwork.v1 import job_pb2

from .errors import RequestError

UNSUPPORTED_QUBE_KEYS: Mapping[str, str] = {
    "kind": "job kinds (and host duties) are not modelled; route with requirements or groups",
    "flags": "Qube's job flags are not modelled",
    "account": "accounting is not modelled; put it in data",
    "notes": "put free text in data",
    "hostorder": "hosts are not ordered; route with requirements, hosts or groups",
    "cpustally": "an output of Qube, not an input",
    "retrywork_delay": "retries start as soon as a slot is free",
    "retrysubjob": "retries are counted per work item (retry)",
    "email": "use mailaddress, or a mail callback",
    "reason": "an output of Qube, not an input",
    "max_cpus": "use cpus",
    "hostname": "an output of Qube; to choose hosts use hosts",
}
"""Qube job attributes Latchwork does not implement, each refused with why (docs/routing.md)."""

QUBE_ALIASES = {"retrywork": "retry"}
"""Other Qube spellings of a JobSpec field (``package.frame_range`` is spelled in _package)."""


def _plain_fields(kinds: set[int]) -> frozenset[str]:
    """Top-level JobSpec fields of these kinds, read from the proto itself.

    A string, number, bool or string map the proto adds is taken from a Qube dict under its
    own name with no edit here; enums and messages (status, prototype, command, agenda,
    callbacks) have a shape of their own and are spelled out below.
    """
    return frozenset(
        field.name for field in job_pb2.JobSpec.DESCRIPTOR.fields if _kind(field) in kinds
    )


def _kind(field: FieldDescriptor) -> int | None:
    """A plain field's cpp_type, _MAP for a map; None for the shaped ones."""
    if field.message_type is not None:
        return _MAP if field.message_type.GetOptions().map_entry else None
    if field.enum_type is not None or field.is_repeated:
        return None
    return field.cpp_type


_MAP = -1  # not a cpp_type: the kind of string maps
_STRING_FIELDS = _plain_fields({FieldDescriptor.CPPTYPE_STRING})
_INT_FIELDS = _plain_fields(
    {
        FieldDescriptor.CPPTYPE_INT32,
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT32,
        FieldDescriptor.CPPTYPE_UINT64,
    }
)
_BOOL_FIELDS = _plain_fields({FieldDescriptor.CPPTYPE_BOOL})
_MAP_FIELDS = _plain_fields({_MAP})

PLAIN_FIELDS = _STRING_FIELDS | _INT_FIELDS | _BOOL_FIELDS | _MAP_FIELDS
"""JobSpec's plain fields: read from a Qube dict, and shown by ``qb.jobinfo``, by name."""


def plain_values(spec: job_pb2.JobSpec) -> dict[str, Any]:
    """Every plain field of ``spec`` as a Qube dict has it (maps as dicts), in proto order."""
    values: dict[str, Any] = {}
    for field in job_pb2.JobSpec.DESCRIPTOR.fields:
        if field.name in PLAIN_FIELDS:
            value = getattr(spec, field.name)
            values[field.name] = dict(value) if field.name in _MAP_FIELDS else value
    return values


_STATUS = {"pending": job_pb2.JOB_STATUS_PENDING, "blocked": job_pb2.JOB_STATUS_BLOCKED}
_WORK_STATUS = {"pending": job_pb2.WORK_STATUS_PENDING, "blocked": job_pb2.WORK_STATUS_BLOCKED}
_PROTOTYPE = {"cmdline": job_pb2.PROTOTYPE_CMDLINE, "cmdrange": job_pb2.PROTOTYPE_CMDRANGE}


class JobSpecError(RequestError):
    """A job dictionary that cannot be turned into a JobSpec; names the key (a ValueError too)."""


def submission_pgrp(jobs: Sequence[Any], pgrp: int = 0, path: str = "jobs") -> int:
    """The process group a submission joins: ``pgrp``, or the ``pgrp`` its job dicts name.

    Qube lets each job dict carry the group to join (``{"pgrp": 12, ...}``); Latchwork
    submits a list of jobs as one transaction into one group, so every dict that names a
    group must name the same one, and agree with a ``pgrp`` argument that is not 0. A dict
    without the key joins whatever the others name; 0 everywhere starts a new group.
    """
    chosen: tuple[str, int] | None = ("pgrp", pgrp) if pgrp else None
    for index, job in enumerate(jobs):
        if not isinstance(job, Mapping) or "pgrp" not in job:
            continue
        where = f"{path}[{index}].pgrp"
        value = _int(job["pgrp"], where)
        if value < 0:
            raise JobSpecError(f"{where}: {value} is not a process group id (0 starts a new one)")
        if chosen is None:
            chosen = (where, value)
        elif chosen[1] != value:
            raise JobSpecError(
                f"{where}: {value} differs from {chosen[0]} ({chosen[1]}): one submission joins "
                "one process group; submit the jobs of each group separately"
            )
    return chosen[1] if chosen is not None else 0


def without_pgrp(job: Mapping[str, Any]) -> Mapping[str, Any]:
    """``job`` without its ``pgrp`` key (the group belongs to the submission, not the spec)."""
    if "pgrp" not in job:
        return job
    return {key: value for key, value in job.items() if key != "pgrp"}


def job_spec_from_dict(job: Mapping[str, Any], path: str = "job") -> job_pb2.JobSpec:
    spec = job_pb2.JobSpec()
    for key, value in job.items():
        where = f"{path}.{key}"
        key = QUBE_ALIASES.get(key, key)
        if key in _STRING_FIELDS:
            setattr(spec, key, str(value))
        elif key in _INT_FIELDS:
            setattr(spec, key, _int(value, where))
        elif key in _BOOL_FIELDS:
            setattr(spec, key, _bool(value, where))
        elif key in _MAP_FIELDS:
            if not isinstance(value, Mapping):
                raise JobSpecError(f"{where}: expected a dictionary")
            getattr(spec, key).update({str(k): str(v) for k, v in value.items()})
        elif key == "status":
            if value not in _STATUS:
                raise JobSpecError(f"{where}: {value!r} is not 'pending' or 'blocked'")
            spec.status = _STATUS[value]
        elif key == "prototype":
            if value not in _PROTOTYPE:
                raise JobSpecError(f"{where}: {value!r} is not 'cmdline' or 'cmdrange'")
            spec.prototype = _PROTOTYPE[value]
        elif key == "package":
            _package(spec, value, where)
        elif key == "agenda":
            for index, item in enumerate(value or ()):
                spec.agenda.append(_work(item, f"{where}[{index}]"))
        elif key == "callbacks":
            for index, callback in enumerate(value or ()):
                spec.callbacks.append(callback_spec_from_dict(callback, f"{where}[{index}]"))
        elif key == "pgrp":
            raise JobSpecError(
                f"{where}: the process group is the submission's: pass the job to submit "
                "(which reads it), or pgrp= to submit"
            )
        elif key in UNSUPPORTED_QUBE_KEYS:
            raise JobSpecError(f"{where}: not supported by Latchwork: {UNSUPPORTED_QUBE_KEYS[key]}")
        else:
            raise JobSpecError(f"{where}: unknown job attribute")
    return spec


def _int(value: Any, where: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise JobSpecError(f"{where}: {value!r} is not a whole number") from None


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    raise JobSpecError(f"{where}: {value!r} is not true or false")


def _package(spec: job_pb2.JobSpec, package: Any, where: str) -> None:
    if not isinstance(package, Mapping):
        raise JobSpecError(f"{where}: expected a dictionary with 'cmdline'")
    for key, value in package.items():
        if key == "cmdline":
            spec.command.cmdline = str(value)
        elif key in ("range", "frame_range"):
            spec.command.frame_range = str(value)
        elif key == "padding":
            spec.command.padding = _int(value, f"{where}.padding")
        else:
            raise JobSpecError(f"{where}.{key}: unknown package key")


def _work(item: Any, where: str) -> job_pb2.WorkSpec:
    if isinstance(item, (str, int)):
        return job_pb2.WorkSpec(name=str(item))
    if isinstance(item, Mapping) and "name" in item:
        work = job_pb2.WorkSpec(name=str(item["name"]))
        status = item.get("status")
        if status is not None:
            if status not in _WORK_STATUS:
                raise JobSpecError(f"{where}.status: {status!r} is not 'pending' or 'blocked'")
            work.status = _WORK_STATUS[status]
        return work
    raise JobSpecError(f"{where}: expected a work name or a dictionary with 'name'")


def callback_spec_from_dict(callback: Any, where: str) -> job_pb2.CallbackSpec:
    if not isinstance(callback, Mapping):
        raise JobSpecError(f"{where}: expected a dictionary with 'triggers' and 'code'")
    spec = job_pb2.CallbackSpec(
        triggers=str(callback.get("triggers", "")),
        language=str(callback.get("language", "qube")),
        code=str(callback.get("code", "")),
        max=_int(callback.get("max", 0), f"{where}.max"),
        work=str(callback.get("work", "")),
    )
    if "catch_up" in callback:
        spec.catch_up = bool(callback["catch_up"])
    spec.criteria.update({str(k): str(v) for k, v in (callback.get("criteria") or {}).items()})
    spec.include_data.extend(str(k) for k in callback.get("include_data") or ())
    return spec
