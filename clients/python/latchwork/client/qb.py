"""Qube's Python API (``import qb``) over Latchwork: change the import, keep the pipeline tool.

    from latchwork.client import qb

    jobs = qb.submit([{"name": "A", "label": "A", "prototype": "cmdrange",
                       "package": {"cmdline": "render QB_FRAME_NUMBER", "range": "1-10"},
                       "agenda": qb.genframes("1-10")}])
    qb.waitfor(jobs)

Jobs come back as ``Job`` objects: dicts with Qube's keys (``id``, ``pgrp``, ``label``,
``name``, ``status``, ``todotally``, ``agenda``...) that also allow ``job.id``. The supervisor
is ``LATCHWORK_ADDRESS`` (default localhost:50051) unless ``connect`` names another.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import grpc

from latchwork.common.frames import parse_frame_range
from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2

from . import qb_hosts
from .aio import resume_sync
from .client import Client, LatchworkError
from .jobspec import plain_values

__all__ = [
    "Host",
    "Job",
    "LatchworkError",
    "Work",
    "block",
    "connect",
    "genframes",
    "hostinfo",
    "jobinfo",
    "kill",
    "modify",
    "remove",
    "resume",
    "retry",
    "submit",
    "submitcallback",
    "suspend",
    "unblock",
    "waitfor",
    "workblock",
    "workkill",
    "workretry",
    "workunblock",
]

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
_FINAL_EVENTS = frozenset(
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


class Job(_QbDict):
    """A job as ``qb.submit`` and ``qb.jobinfo`` return it."""


class Work(_QbDict):
    """A work item (agenda entry), as ``qb.genframes`` and ``jobinfo(agenda=True)`` give it."""


class Host(_QbDict):
    """A host as ``qb.hostinfo`` returns it (its keys: ``latchwork.client.qb_hosts``)."""


# --------------------------------------------------------------------------------------------
# The connection

_lock = threading.Lock()
_client: Client | None = None
_address: str | None = None


def connect(address: str | None = None, *, user: str | None = None) -> Client:
    """Use the supervisor at ``address`` from now on (None: ``LATCHWORK_ADDRESS``)."""
    global _client, _address
    with _lock:
        if _client is not None:
            _client.close()
        _address = address
        _client = Client(address, user=user)
        return _client


def _get_client() -> Client:
    global _client
    with _lock:
        if _client is None:
            _client = Client(_address)
        return _client


# --------------------------------------------------------------------------------------------
# Conversion


def _qube_time(stamp: Any) -> int:
    """A Timestamp as Qube time (seconds since 2000-01-01 EST); 0 when unset."""
    return int(stamp.seconds) - QUBE_EPOCH if stamp.seconds else 0


def _work_dict(work: job_pb2.Work) -> Work:
    return Work(
        id=work.index,
        name=work.name,
        status=WORK_STATUS_NAMES.get(work.status, "unknown"),
        subid=work.subjob_id,
        host=work.host,
        retry=work.retries,
        attempts=work.attempts,
        exitcode=work.exit_code,
        timestart=_qube_time(work.start_time),
        timecomplete=_qube_time(work.end_time),
        message=work.message,
    )


def _callback_dict(callback: job_pb2.Callback) -> dict[str, Any]:
    return {
        "id": callback.id,
        "triggers": callback.spec.triggers,
        "language": callback.spec.language,
        "code": callback.spec.code,
        "max": callback.spec.max,
        "fired": callback.fired,
        "from_dependency": callback.from_dependency,
    }


# The plain JobSpec fields _job_dict shows by name (label and user: the job's own values;
# retry as Qube's retrywork).
_SHOWN_BY_NAME = frozenset(
    {"name", "label", "pid", "user", "cpus", "priority", "dependency", "mailaddress"}
    | {"retry", "timeout", "agenda_timeout", "cwd", "data", "env"}
)


def _job_dict(job: job_pb2.Job, *, agenda: bool = True) -> Job:
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
        timesubmit=_qube_time(job.submit_time),
        timestart=_qube_time(job.start_time),
        timecomplete=_qube_time(job.end_time),
        todo=sum(todotally.values()),
        todotally=todotally,
        callbacks=[_callback_dict(c) for c in job.callbacks],
        children=list(job.child_ids),
    )
    # A plain JobSpec field with no line above (one added later) is shown under its own name.
    for name, value in plain_values(spec).items():
        if name not in _SHOWN_BY_NAME:
            result[name] = value
    if agenda:
        result["agenda"] = [_work_dict(w) for w in job.work]
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


def _job_ids(ids: Any) -> list[int]:
    """Job ids from an id, a "12" string, a job dict, or a list of those."""
    if isinstance(ids, (str, int, Mapping)) or not isinstance(ids, Iterable):
        ids = [ids]
    result: list[int] = []
    for item in ids:
        value = item.get("id") if isinstance(item, Mapping) else item
        if isinstance(value, str) and "," in value:
            result.extend(_job_ids(value.split(",")))
            continue
        try:
            result.append(int(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"{item!r} is not a job id") from None
    return result


def _work_refs(refs: Any) -> list[tuple[int, str]]:
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


# --------------------------------------------------------------------------------------------
# The API


def genframes(frame_range: str | int) -> list[Work]:
    """Work items for Qube's range syntax ("1-100x2", "1,3,5-9", "10-1"): ``[{"name": "1"}...]``.

    Raises ``ValueError`` (``FrameRangeError``) naming the offset of a part it cannot read.
    """
    return [Work(name=str(frame)) for frame in parse_frame_range(str(frame_range))]


def submit(jobs: Mapping[str, Any] | Sequence[Mapping[str, Any]], pgrp: int = 0) -> list[Job]:
    """Submit one job dict or a list of them (one process group); the stored jobs, in order."""
    if isinstance(jobs, Mapping):
        jobs = [jobs]
    response = _get_client().submit(list(jobs), pgrp=pgrp)
    return [_job_dict(job) for job in response.jobs]


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


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, Iterable):
        return list(value)
    return [value]


def jobinfo(*args: Any, **kwargs: Any) -> list[Job]:
    """Jobs as dicts, filtered as Qube's ``qb.jobinfo``.

    Filters: ``id`` (one or a list), ``pgrp``, ``status`` ("running" or a list), ``user``,
    ``name`` (a glob), ``pid``; ``agenda=True`` (or ``subjobs=True``) adds the work items.
    Both ``jobinfo(id=12)`` and ``jobinfo("-id", 12)`` work. Unknown ids are left out.
    """
    options = _options(args, kwargs)
    with_agenda = bool(options.pop("agenda", False)) | bool(options.pop("subjobs", False))
    options.pop("callbacks", None)  # always included
    ids = _job_ids(options.pop("id")) if options.get("id") is not None else None
    options.pop("id", None)
    statuses: list[int] = []
    for name in _list(options.pop("status", None)):
        if str(name).lower() not in STATUS_VALUES:
            raise ValueError(f"unknown status {name!r}; use one of {', '.join(STATUS_VALUES)}")
        statuses.append(STATUS_VALUES[str(name).lower()])
    pgrps = [int(p) for p in _list(options.pop("pgrp", None))]
    users = [str(u) for u in _list(options.pop("user", None))]
    name_glob = str(options.pop("name", "") or "")
    parent = int(options.pop("pid", 0) or 0)
    if options:
        raise TypeError(f"jobinfo: unknown option(s) {', '.join(sorted(options))}")
    client = _get_client()
    if ids is not None:
        found: list[job_pb2.Job] = []
        for job_id in ids:
            try:
                found.append(client.get_job(job_id))
            except LatchworkError as error:
                if error.code != grpc.StatusCode.NOT_FOUND:
                    raise
        wanted = [
            job
            for job in found
            if (not statuses or job.status in statuses)
            and (not pgrps or job.pgrp in pgrps)
            and (not users or job.user in users)
            and (not parent or job.spec.pid == parent)
        ]
        return [_job_dict(job, agenda=with_agenda) for job in wanted]
    listed = client.list_jobs(
        statuses=statuses, pgrps=pgrps, users=users, name_glob=name_glob, parent_id=parent
    )
    if with_agenda:
        return [_job_dict(client.get_job(job.id)) for job in listed]
    return [_job_dict(job, agenda=False) for job in listed]


def _control(action: str, ids: Any, reason: str = "") -> list[int]:
    job_ids = _job_ids(ids)
    response = _get_client().control(action, job_ids=job_ids, reason=reason)
    return list(dict.fromkeys(result.job_id for result in response.results))


def kill(ids: Any, reason: str = "") -> list[int]:
    """Kill jobs (an id, a list of ids, or job dicts); the ids acted on."""
    return _control("kill", ids, reason)


def block(ids: Any, reason: str = "") -> list[int]:
    """Hold jobs; the ids acted on."""
    return _control("block", ids, reason)


def unblock(ids: Any, reason: str = "") -> list[int]:
    """Release held jobs; the ids acted on."""
    return _control("unblock", ids, reason)


def retry(ids: Any, reason: str = "") -> list[int]:
    """Run the failed and killed work of jobs again; the ids acted on."""
    return _control("retry", ids, reason)


def remove(ids: Any, reason: str = "") -> list[int]:
    """Kill jobs and take them out of the queue; the ids acted on."""
    return _control("remove", ids, reason)


def suspend(ids: Any, reason: str = "") -> list[int]:
    """Stop the jobs' processes (SIGSTOP); the ids acted on."""
    return _control("suspend", ids, reason)


def resume(ids: Any, reason: str = "") -> list[int]:
    """Continue suspended jobs (SIGCONT); the ids acted on."""
    return _control("resume", ids, reason)


def _work_control(action: str, refs: Any, reason: str = "") -> list[str]:
    work = _work_refs(refs)
    response = _get_client().control(action, work=work, reason=reason)
    return [f"{r.job_id}:{r.work_name}" for r in response.results]


def workblock(refs: Any, reason: str = "") -> list[str]:
    """Hold work items ("jobid:work" or a list); the "jobid:work" acted on."""
    return _work_control("block", refs, reason)


def workunblock(refs: Any, reason: str = "") -> list[str]:
    """Release held work items; the "jobid:work" acted on."""
    return _work_control("unblock", refs, reason)


def workkill(refs: Any, reason: str = "") -> list[str]:
    """Kill work items; the "jobid:work" acted on."""
    return _work_control("kill", refs, reason)


def workretry(refs: Any, reason: str = "") -> list[str]:
    """Run work items again; the "jobid:work" acted on."""
    return _work_control("retry", refs, reason)


def submitcallback(
    jobid: Any, triggers: str, language: str = "qube", code: str = "", **extra: Any
) -> int:
    """Add a callback to an existing job (Qube's order: job, triggers, language, code).

    ``extra`` takes the other callback keys (``max``, ``catch_up``, ``criteria``...). Returns
    the callback's id.
    """
    (job_id,) = _job_ids(jobid)
    callback = {"triggers": triggers, "language": language, "code": code, **extra}
    return _get_client().add_callbacks(job_id, [callback])[0].id


def waitfor(ids: Any, timeout: float | None = None) -> list[Job]:
    """Block until every job is done (complete, failed, killed or removed); their final dicts.

    Follows the event stream (resuming across a supervisor restart) rather than polling.
    Raises ``TimeoutError`` after ``timeout`` seconds and ``LatchworkError`` for unknown ids.
    """
    job_ids = list(dict.fromkeys(_job_ids(ids)))
    if not job_ids:
        return []
    client = _get_client()
    for job_id in job_ids:
        client.get_job(job_id)  # unknown ids fail now, not after the timeout
    pending = set(job_ids)
    stream = resume_sync(
        client,
        snapshot=True,
        timeout=timeout,
        job_ids=job_ids,
        types=[event_pb2.EVENT_TYPE_JOB],
    )
    try:
        for item in stream:
            if not isinstance(item, supervisor_pb2.SubscribeResponse):
                continue  # with snapshot=True every item is a SubscribeResponse
            kind = item.WhichOneof("item")
            if kind == "snapshot_job":
                job = item.snapshot_job
                if STATUS_NAMES.get(job.status) in FINAL_STATUSES:
                    pending.discard(job.id)
                else:
                    pending.add(job.id)
            elif kind == "snapshot_end" or kind == "heartbeat":
                pass
            elif kind == "event":
                event = item.event
                if event.name in _FINAL_EVENTS:
                    pending.discard(event.job_id)
            if not pending and kind != "snapshot_job":
                break
    except LatchworkError as error:
        if error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise TimeoutError(f"jobs {sorted(pending)} not done after {timeout} s") from None
        raise
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return [_job_dict(client.get_job(job_id)) for job_id in job_ids]


def hostinfo(
    fields: Iterable[str] = (),
    filters: Mapping[str, Any] | None = None,
    name: str | Iterable[str] | None = None,
    state: str | Iterable[str] | None = None,
    subjobs: bool = False,
) -> list[Host]:
    """The farm's hosts as dicts, in Qube's shape and signature (PipelineFX's ``qb.hostinfo``).

    ``name``: one host or a list; ``state``: ``"active"`` (up) or ``"down"``, or a list;
    ``filters``: other keys that must equal a value (or be one of a list), e.g.
    ``{"cluster": "/farm/a"}``; ``subjobs=True`` (or ``fields=["subjobs"]``) adds the work
    running on each host. The keys, and how Qube's map, are in ``latchwork.client.qb_hosts``.
    """
    wanted_fields = set(_list(fields))
    unknown = wanted_fields - {"subjobs"}
    if unknown:
        raise ValueError(f"hostinfo: unknown field(s) {', '.join(sorted(unknown))}; use subjobs")
    with_work = subjobs or "subjobs" in wanted_fields
    conditions = dict(filters or {})
    if state is not None:
        states = [str(s).lower() for s in _list(state)]
        bad = [s for s in states if s not in qb_hosts.STATES]
        if bad:
            raise ValueError(f"hostinfo: unknown state(s) {', '.join(bad)}; use active or down")
        conditions["state"] = states
    names = [str(n) for n in _list(name)]
    client = _get_client()
    result: list[Host] = []
    for host in client.list_hosts(names).hosts:
        running = list(client.get_host(host.name).running) if with_work else None
        entry = qb_hosts.host_dict(host, running)
        if qb_hosts.matches(entry, conditions):
            result.append(Host(entry))
    return result


def modify(params: Mapping[str, Any], jobid: Any, *extrajobids: Any) -> list[int]:
    """Change jobs after submit, in Qube's shape: ``qb.modify({"priority": 10}, 250, 251)``.

    ``params`` takes Qube's modifiable parameters that Latchwork changes (``priority``,
    ``cpus``, ``retrywork``, ``reservations``, ``requirements``, ``hosts``, ``omithosts``,
    ``groups``, ``omitgroups``, ``cluster``, ``restrictions``, ``data``: keys to set, None
    removes one); any other is refused by name. All jobs change or none (``LatchworkError``).
    Returns the ids of the jobs that changed (those already as asked are left out).
    """
    job_ids = _job_ids(jobid) + _job_ids(list(extrajobids))
    changes = qb_hosts.modify_changes(params)
    response = _get_client().modify_jobs(job_ids, **changes)
    return list(response.changed_job_ids)
