"""What ``qb`` hands back and takes: Qube's job, work and host dicts, and their conversions.

Qube's objects are dicts whose keys also read and write as attributes (``job.name``); a
``Job`` refuses a key no job has as soon as it is set, by item or by attribute alike, so a
misspelt attribute fails on the line that wrote it rather than vanishing or failing at submit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from latchwork.v1 import event_pb2, job_pb2

from .jobspec import PLAIN_FIELDS, QUBE_ALIASES, UNSUPPORTED_QUBE_KEYS, plain_values

QUBE_EPOCH = 946702800  # 2000-01-01 00:00 EST in Unix time: Qube's times count from here

STATUS_NAMES: dict[int, str] = {
    value: name.removeprefix("JOB_STATUS_").lower()
    for name, value in job_pb2.JobStatus.items()
    if value != job_pb2.JOB_STATUS_UNSPECIFIED
}
STATUS_VALUES = {name: value for value, name in STATUS_NAMES.items()}
WORK_STATUS_NAMES: dict[int, str] = {
    value: name.removeprefix("WORK_STATUS_").lower() for name, value in job_pb2.WorkStatus.items()
}
FINAL_STATUSES = frozenset({"complete", "failed", "killed", "removed"})
FINAL_EVENTS = frozenset(
    {
        event_pb2.EVENT_NAME_COMPLETE,
        event_pb2.EVENT_NAME_FAILED,
        event_pb2.EVENT_NAME_KILLED,
        event_pb2.EVENT_NAME_REMOVED,
    }
)
_PROTOTYPES = {job_pb2.PROTOTYPE_CMDRANGE: "cmdrange"}


class _QbDict(dict[str, Any]):
    """A dict whose keys also read and write as attributes, like Qube's job and work objects:
    ``job.priority = 10`` sets ``job["priority"]`` (a plain attribute would be lost when the
    dict is submitted again)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None


class JobAttributeError(AttributeError, KeyError):
    """A key no Qube job has, set on a ``Job`` (an ``AttributeError`` and a ``KeyError``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_JOB_INPUT_KEYS = (
    PLAIN_FIELDS
    | set(QUBE_ALIASES)
    | {
        "status",
        "prototype",
        "package",
        "agenda",
        "callbacks",
        "pgrp",
    }
)
_JOB_OUTPUT_KEYS = frozenset(
    {"id", "user", "todo", "todotally", "timesubmit", "timestart", "timecomplete"}
    | {"subjobs", "children"}
)
JOB_KEYS = frozenset(_JOB_INPUT_KEYS | _JOB_OUTPUT_KEYS)
"""The keys a ``Job`` may hold: what submit reads and what jobinfo shows."""


def check_job_key(key: str) -> None:
    """Raise ``JobAttributeError`` naming ``key`` if no Qube job has it."""
    if key in JOB_KEYS:
        return
    if key in UNSUPPORTED_QUBE_KEYS:
        raise JobAttributeError(
            f"job.{key}: not supported by Latchwork: {UNSUPPORTED_QUBE_KEYS[key]}"
        )
    raise JobAttributeError(
        f"job.{key}: unknown job attribute; a job has {', '.join(sorted(JOB_KEYS))}"
    )


class Job(_QbDict):
    """A job: what ``qb.submit`` takes and what it and ``qb.jobinfo`` return.

    ``job.name = "x"`` and ``job["name"] = "x"`` are one thing; a key no job has is refused
    either way (``JobAttributeError``), as is one that Latchwork does not implement.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.update(*args, **kwargs)

    def __setitem__(self, key: str, value: Any) -> None:
        check_job_key(key)
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> Job:  # type: ignore[override,misc]
        self.update(other)
        return self

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


class Work(_QbDict):
    """A work item (agenda entry), as ``qb.genframes`` and ``jobinfo(agenda=True)`` give it."""


class Host(_QbDict):
    """A host as ``qb.hostinfo`` returns it (its keys: ``latchwork.client.qb_hosts``)."""


def qube_time(stamp: Any) -> int:
    """A Timestamp as Qube time (seconds since 2000-01-01 EST); 0 when unset."""
    return int(stamp.seconds) - QUBE_EPOCH if stamp.seconds else 0


def work_dict(work: job_pb2.Work) -> Work:
    return Work(
        id=work.index,
        name=work.name,
        status=WORK_STATUS_NAMES.get(work.status, "unknown"),
        subid=work.subjob_id,
        host=work.host,
        retry=work.retries,
        attempts=work.attempts,
        exitcode=work.exit_code,
        timestart=qube_time(work.start_time),
        timecomplete=qube_time(work.end_time),
        message=work.message,
    )


def callback_dict(callback: job_pb2.Callback) -> dict[str, Any]:
    return {
        "id": callback.id,
        "triggers": callback.spec.triggers,
        "language": callback.spec.language,
        "code": callback.spec.code,
        "max": callback.spec.max,
        "fired": callback.fired,
        "from_dependency": callback.from_dependency,
    }


# The plain JobSpec fields job_dict shows by name (label and user: the job's own values;
# retry as Qube's retrywork).
_SHOWN_BY_NAME = frozenset(
    {"name", "label", "pid", "user", "cpus", "priority", "dependency", "mailaddress"}
    | {"retry", "timeout", "agenda_timeout", "cwd", "data", "env"}
)


def job_dict(job: job_pb2.Job, *, agenda: bool = True) -> Job:
    spec = job.spec
    counts = job.counts
    package: dict[str, Any] = {"cmdline": spec.command.cmdline}
    if spec.command.frame_range:
        package["range"] = spec.command.frame_range
    if spec.command.padding:
        package["padding"] = spec.command.padding
    todotally = {
        "pending": counts.pending,
        "blocked": counts.blocked,
        "running": counts.running,
        "complete": counts.complete,
        "failed": counts.failed,
        "killed": counts.killed,
    }
    result = Job(
        id=job.id,
        pgrp=job.pgrp,
        pid=spec.pid,
        label=job.label,
        name=spec.name,
        user=job.user,
        status=STATUS_NAMES.get(job.status, "unknown"),
        prototype=_PROTOTYPES.get(spec.prototype, "cmdline"),
        package=package,
        cpus=spec.cpus,
        priority=spec.priority,
        dependency=spec.dependency,
        mailaddress=spec.mailaddress,
        retrywork=spec.retry,
        timeout=spec.timeout,
        agenda_timeout=spec.agenda_timeout,
        cwd=spec.cwd,
        data=dict(spec.data),
        env=dict(spec.env),
        timesubmit=qube_time(job.submit_time),
        timestart=qube_time(job.start_time),
        timecomplete=qube_time(job.end_time),
        todo=sum(todotally.values()),
        todotally=todotally,
        callbacks=[callback_dict(c) for c in job.callbacks],
        children=list(job.child_ids),
    )
    # A plain JobSpec field with no line above (one added later) is shown under its own name.
    for name, value in plain_values(spec).items():
        if name not in _SHOWN_BY_NAME:
            result[name] = value
    if agenda:
        result["agenda"] = [work_dict(w) for w in job.work]
        result["subjobs"] = [
            {
                "id": s.id,
                "status": WORK_STATUS_NAMES.get(s.status, "unknown"),
                "host": s.host,
                "workname": s.work_name,
            }
            for s in job.subjobs
        ]
    return result


def job_ids(ids: Any) -> list[int]:
    """Job ids from an id, a "12" string, a job dict, or a list of those."""
    if isinstance(ids, (str, int, Mapping)) or not isinstance(ids, Iterable):
        ids = [ids]
    result: list[int] = []
    for item in ids:
        value = item.get("id") if isinstance(item, Mapping) else item
        if isinstance(value, str) and "," in value:
            result.extend(job_ids(value.split(",")))
            continue
        try:
            result.append(int(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"{item!r} is not a job id") from None
    return result


def work_refs(refs: Any) -> list[tuple[int, str]]:
    """(job id, work name) pairs from "jobid:work" strings, pairs, or a list of those."""
    if isinstance(refs, str) or (
        isinstance(refs, tuple) and len(refs) == 2 and not isinstance(refs[0], (str, tuple))
    ):
        refs = [refs]
    result: list[tuple[int, str]] = []
    for ref in refs:
        if isinstance(ref, tuple) and len(ref) == 2:
            job_id, name = ref
        else:
            job_id, sep, name = str(ref).partition(":")
            if not sep or not name:
                raise ValueError(f"{ref!r} is not 'jobid:work'")
        try:
            result.append((int(job_id), str(name)))
        except ValueError:
            raise ValueError(f"{ref!r} is not 'jobid:work'") from None
    return result


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, Iterable):
        return list(value)
    return [value]
