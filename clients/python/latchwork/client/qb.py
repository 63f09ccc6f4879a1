"""Qube's Python API (``import qb``) over Latchwork: change the import, keep the pipeline tool.

    from latchwork.client import qb

    jobs = qb.submit([{"name": "A", "label": "A", "prototype": "cmdrange",
                       "package": {"cmdline": "render QB_FRAME_NUMBER", "range": "1-10"},
                       "agenda": qb.genframes("1-10")}])
    qb.waitfor(jobs)

Jobs come back as ``Job`` objects: dicts with Qube's keys (``id``, ``pgrp``, ``label``,
``name``, ``status``, ``todotally``, ``agenda``...) that also allow ``job.id``. The supervisor
is ``LATCHWORK_ADDRESS`` (default localhost:50051) unless ``connect`` names another.

This module holds submission, the job actions, ``waitfor``, ``hostinfo`` and ``modify``; the
rest lives by concept behind it (``qb_objects``: the dicts; ``qb_jobinfo``; ``qb_work``: agendas
and work actions; ``qb_connection``) and is importable from here under its Qube name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import grpc

from latchwork.v1 import event_pb2, supervisor_pb2

from . import qb_hosts
from .aio import resume_sync
from .client import LatchworkError
from .qb_connection import connect, get_client
from .qb_jobinfo import jobinfo
from .qb_objects import (
    FINAL_EVENTS,
    FINAL_STATUSES,
    STATUS_NAMES,
    Host,
    Job,
    JobAttributeError,
    Work,
)
from .qb_objects import as_list as _list
from .qb_objects import job_dict as _job_dict
from .qb_objects import job_ids as _job_ids
from .qb_work import (
    blockwork,
    genchunks,
    genframes,
    killwork,
    requeuework,
    retrywork,
    unblockwork,
    workblock,
    workinfo,
    workkill,
    workrequeue,
    workretry,
    workunblock,
)

__all__ = [
    "Host",
    "Job",
    "JobAttributeError",
    "LatchworkError",
    "Work",
    "block",
    "blockwork",
    "connect",
    "genchunks",
    "genframes",
    "hostinfo",
    "interrupt",
    "jobinfo",
    "kill",
    "killwork",
    "modify",
    "remove",
    "requeue",
    "requeuework",
    "resume",
    "retry",
    "retrywork",
    "submit",
    "submitcallback",
    "suspend",
    "unblock",
    "unblockwork",
    "waitfor",
    "workblock",
    "workinfo",
    "workkill",
    "workrequeue",
    "workretry",
    "workunblock",
]


# --------------------------------------------------------------------------------------------
# The API


def submit(jobs: Mapping[str, Any] | Sequence[Mapping[str, Any]], pgrp: int = 0) -> list[Job]:
    """Submit one job dict or a list of them (one process group); the stored jobs, in order.

    ``pgrp`` (the argument, or the ``"pgrp"`` of the job dicts, as in Qube) joins an existing
    process group, whose labels the new jobs' triggers then name; the dicts and the argument
    must agree (one submission is one transaction into one group).
    """
    if isinstance(jobs, Mapping):
        jobs = [jobs]
    response = get_client().submit(list(jobs), pgrp=pgrp)
    return [_job_dict(job) for job in response.jobs]


def _control(action: str, ids: Any, reason: str = "") -> list[int]:
    job_ids = _job_ids(ids)
    response = get_client().control(action, job_ids=job_ids, reason=reason)
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


def requeue(ids: Any, reason: str = "") -> list[int]:
    """Take the jobs' running frames off their hosts and back to pending, counting no failure
    and no retry (Qube's requeue); the ids acted on."""
    return _control("requeue", ids, reason)


def interrupt(ids: Any, reason: str = "") -> list[int]:
    """Qube's interrupt: the same as :func:`requeue` (the running frames go back to pending and
    run again when a slot frees, as when a host is preempted)."""
    return _control("requeue", ids, reason or "interrupted")


def submitcallback(
    jobid: Any, triggers: str, language: str = "qube", code: str = "", **extra: Any
) -> int:
    """Add a callback to an existing job (Qube's order: job, triggers, language, code).

    ``extra`` takes the other callback keys (``max``, ``catch_up``, ``criteria``...). Returns
    the callback's id.
    """
    (job_id,) = _job_ids(jobid)
    callback = {"triggers": triggers, "language": language, "code": code, **extra}
    return get_client().add_callbacks(job_id, [callback])[0].id


def waitfor(ids: Any, timeout: float | None = None) -> list[Job]:
    """Block until every job is done (complete, failed, killed or removed); their final dicts.

    Follows the event stream (resuming across a supervisor restart) rather than polling.
    Raises ``TimeoutError`` after ``timeout`` seconds and ``LatchworkError`` for unknown ids.
    """
    job_ids = list(dict.fromkeys(_job_ids(ids)))
    if not job_ids:
        return []
    client = get_client()
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
                if event.name in FINAL_EVENTS:
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
    client = get_client()
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
    response = get_client().modify_jobs(job_ids, **changes)
    return list(response.changed_job_ids)
