"""``qb.jobinfo``: jobs as Qube's dicts, chosen the ways Qube's ``jobinfo`` chooses them.

Qube takes the filters as keywords (``id``, ``pgrp``, ``status``, ``user``, ``name``, ``pid``,
``label``), as ``filters={...}`` (the same names, and any other key of a job dict compared for
equality), or as ``"-id", 12`` pairs; ``fields=[...]`` asks for more than the summary
(``agenda``, ``subjobs``). What the supervisor can filter (ListJobs) it filters; the rest is
compared here, after the fetch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

import grpc

from latchwork.v1 import job_pb2

from .client import LatchworkError
from .qb_connection import get_client
from .qb_objects import JOB_KEYS, STATUS_VALUES, Job, as_list, job_dict, job_ids

_FILTER_KEYS = ("id", "pgrp", "status", "user", "name", "pid", "label")
_WITH_AGENDA = frozenset({"agenda", "subjobs", "work"})


def _options(args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Qube's two spellings: ``jobinfo(id=12)`` and ``jobinfo("-id", 12, "-agenda")``."""
    options: dict[str, Any] = {}
    key: str | None = None
    for arg in args:
        if isinstance(arg, str) and arg.startswith("-") and not arg[1:].lstrip("-").isdigit():
            if key is not None:
                options[key] = True
            key = arg.lstrip("-")
        elif key is not None:
            options[key] = arg
            key = None
        else:
            raise TypeError(f"jobinfo: {arg!r} follows no '-option'")
    if key is not None:
        options[key] = True
    options.update(kwargs)
    return options


def _wants_agenda(options: dict[str, Any]) -> bool:
    """Pops ``agenda``, ``subjobs``, ``callbacks`` and ``fields``; whether work is asked for."""
    wanted = bool(options.pop("agenda", False)) | bool(options.pop("subjobs", False))
    options.pop("callbacks", None)  # always included
    fields = {str(f) for f in as_list(options.pop("fields", None))}
    unknown = fields - _WITH_AGENDA - JOB_KEYS
    if unknown:
        raise ValueError(
            f"jobinfo: unknown field(s) {', '.join(sorted(unknown))}; "
            "use agenda or subjobs (the other keys of a job are always there)"
        )
    return wanted or bool(fields & _WITH_AGENDA)


def _merge_filters(options: dict[str, Any]) -> dict[str, Any]:
    """``filters={...}`` merged into the keyword filters; a key given both ways is refused."""
    filters = options.pop("filters", None) or {}
    if not isinstance(filters, Mapping):
        raise TypeError(f"jobinfo: filters must be a dict, not {type(filters).__name__}")
    for key, value in filters.items():
        if key in options:
            raise ValueError(f"jobinfo: {key!r} is given both as a keyword and in filters")
        options[str(key)] = value
    return options


def _statuses(value: Any) -> list[int]:
    statuses: list[int] = []
    for name in as_list(value):
        if str(name).lower() not in STATUS_VALUES:
            raise ValueError(f"unknown status {name!r}; use one of {', '.join(STATUS_VALUES)}")
        statuses.append(STATUS_VALUES[str(name).lower()])
    return statuses


def jobinfo(*args: Any, **kwargs: Any) -> list[Job]:
    """Jobs as dicts, filtered as Qube's ``qb.jobinfo``.

    Filters: ``id`` (one or a list), ``pgrp``, ``status`` ("running" or a list), ``user``,
    ``name`` (a glob), ``pid``, ``label`` (one or a list); ``filters={...}`` takes the same
    names and any other job key (``{"priority": 10}``: equal, or one of a list).
    ``fields=["agenda"]`` (or ``agenda=True``, ``subjobs=True``) adds the work items.
    Both ``jobinfo(id=12)`` and ``jobinfo("-id", 12)`` work. Unknown ids are left out.
    """
    options = _options(args, kwargs)
    with_agenda = _wants_agenda(options)
    options = _merge_filters(options)
    ids = job_ids(options.pop("id")) if options.get("id") is not None else None
    options.pop("id", None)
    statuses = _statuses(options.pop("status", None))
    pgrps = [int(p) for p in as_list(options.pop("pgrp", None))]
    users = [str(u) for u in as_list(options.pop("user", None))]
    labels = [str(label) for label in as_list(options.pop("label", None))]
    name_glob = str(options.pop("name", "") or "")
    parent = int(options.pop("pid", 0) or 0)
    unknown = sorted(key for key in options if key not in JOB_KEYS)
    if unknown:
        raise TypeError(
            f"jobinfo: unknown option(s) {', '.join(unknown)}; "
            f"filter on {', '.join(_FILTER_KEYS)} or any job key in filters"
        )
    client = get_client()
    if ids is not None:
        found = _by_id(ids)
        listed = [
            job
            for job in found
            if (not statuses or job.status in statuses)
            and (not pgrps or job.pgrp in pgrps)
            and (not users or job.user in users)
            and (not parent or job.spec.pid == parent)
            and (not name_glob or _glob(name_glob, job.spec.name))
        ]
    else:
        listed = list(
            client.list_jobs(
                statuses=statuses, pgrps=pgrps, users=users, name_glob=name_glob, parent_id=parent
            )
        )
    listed = [job for job in listed if not labels or job.label in labels]
    result: list[Job] = []
    for job in listed:
        full = client.get_job(job.id) if with_agenda and ids is None else job
        entry = job_dict(full, agenda=with_agenda)
        if _matches(entry, options):
            result.append(entry)
    return result


def _by_id(ids: Iterable[int]) -> list[job_pb2.Job]:
    client = get_client()
    found: list[job_pb2.Job] = []
    for job_id in ids:
        try:
            found.append(client.get_job(job_id))
        except LatchworkError as error:
            if error.code != grpc.StatusCode.NOT_FOUND:
                raise
    return found


def _glob(pattern: str, name: str) -> bool:
    return fnmatchcase(name, pattern)


def _matches(job: Mapping[str, Any], conditions: Mapping[str, Any]) -> bool:
    """Each key equals the value, or is one of a list of values (Qube's ``filters``)."""
    for key, wanted in conditions.items():
        single = isinstance(wanted, (str, bytes, Mapping)) or not isinstance(wanted, Iterable)
        values = [wanted] if single else list(wanted)
        if job.get(key) not in values:
            return False
    return True
