"""The JSON endpoints that map one-to-one onto a gRPC call: jobs, a job, its runs, its
explanation, a work item's output, hosts, and the actions (control, modify).

Each handler reads and checks its parameters (a bad one is a 400 naming it), makes the gRPC
call with the caller's metadata (:mod:`.calls`) and returns the answer as JSON; a refusal is the
gRPC one (:mod:`.errors`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from latchwork.v1 import job_pb2, supervisor_pb2

from .calls import metadata, stub
from .errors import invalid
from .json_bodies import flag_param, int_param, path_id, read_object, to_json

# The proto's actions by their lower-case names ("block", "kill", ...): one list, the .proto's.
ACTIONS = {
    name.removeprefix("ACTION_").lower(): value
    for name, value in supervisor_pb2.Action.items()
    if value != supervisor_pb2.ACTION_UNSPECIFIED
}
MODIFIABLE_INTS = ("priority", "cpus", "retry")
MAX_PAGE_SIZE = 1000
MAX_OUTPUT_CHUNK = 1024 * 1024
MAX_REASON = 1000


def job_statuses(text: str) -> list[job_pb2.JobStatus.ValueType]:
    """``JOB_STATUS_RUNNING,failed`` as JobStatus values (either spelling)."""
    statuses = []
    for word in (w.strip() for w in text.split(",") if w.strip()):
        name = word.upper() if word.upper().startswith("JOB_STATUS_") else f"JOB_STATUS_{word}"
        try:
            statuses.append(job_pb2.JobStatus.Value(name.upper()))
        except ValueError:
            raise invalid("status", f"unknown job status {word[:40]!r}") from None
    return statuses


async def list_jobs(request: web.Request) -> web.Response:
    query = request.query
    pgrp = int_param(query, "pgrp", 0, minimum=0)
    listing = supervisor_pb2.ListJobsRequest(
        statuses=job_statuses(query.get("status", "")),
        users=[u.strip() for u in query.get("user", "").split(",") if u.strip()],
        pgrps=[pgrp] if pgrp else [],
        name_glob=query.get("name", ""),
        parent_id=int_param(query, "parent", 0, minimum=0),
        page_size=int_param(query, "page_size", 100, minimum=1, maximum=MAX_PAGE_SIZE),
        page_token=query.get("page_token", ""),
    )
    page = await stub(request).ListJobs(listing, metadata=metadata(request))
    return web.json_response(
        {"jobs": [to_json(job) for job in page.jobs], "next_page_token": page.next_page_token}
    )


async def get_job(request: web.Request) -> web.Response:
    answer = await stub(request).GetJob(
        supervisor_pb2.GetJobRequest(job_id=path_id(request)), metadata=metadata(request)
    )
    return web.json_response(to_json(answer.job))


async def explain_job(request: web.Request) -> web.Response:
    answer = await stub(request).ExplainJob(
        supervisor_pb2.ExplainJobRequest(job_id=path_id(request)), metadata=metadata(request)
    )
    return web.json_response(to_json(answer))


async def list_runs(request: web.Request) -> web.Response:
    query = request.query
    answer = await stub(request).ListCallbackRuns(
        supervisor_pb2.ListCallbackRunsRequest(
            job_id=path_id(request),
            callback_id=int_param(query, "callback", 0, minimum=0),
            page_size=int_param(query, "page_size", 100, minimum=1, maximum=MAX_PAGE_SIZE),
            page_token=query.get("page_token", ""),
        ),
        metadata=metadata(request),
    )
    return web.json_response(
        {"runs": [to_json(run) for run in answer.runs], "next_page_token": answer.next_page_token}
    )


async def work_output(request: web.Request) -> web.Response:
    query = request.query
    stream = (
        job_pb2.OUTPUT_STREAM_STDERR
        if flag_param(query, "stderr")
        else job_pb2.OUTPUT_STREAM_STDOUT
    )
    answer = await stub(request).GetWorkOutput(
        supervisor_pb2.GetWorkOutputRequest(
            job_id=path_id(request),
            work_name=request.match_info["name"],
            stream=stream,
            attempt=int_param(query, "attempt", 0, minimum=0, maximum=2**31 - 1),
            offset=int_param(query, "offset", 0, minimum=0),
            limit=int_param(query, "limit", 0, minimum=0, maximum=MAX_OUTPUT_CHUNK),
        ),
        metadata=metadata(request),
    )
    return web.json_response(
        {
            "data": answer.data.decode("utf-8", errors="replace"),
            "next_offset": answer.next_offset,
            "size": answer.size,
            "eof": answer.eof,
            "attempt": answer.attempt,
        }
    )


async def list_hosts(request: web.Request) -> web.Response:
    answer = await stub(request).ListHosts(
        supervisor_pb2.ListHostsRequest(), metadata=metadata(request)
    )
    return web.json_response(to_json(answer))


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise invalid("reason", f"a string of at most {MAX_REASON} characters")
    return reason


async def control_job(request: web.Request) -> web.Response:
    job_id = path_id(request)
    body = await read_object(request)
    action = ACTIONS.get(str(body.get("action", "")))
    if action is None:
        raise invalid("action", f"one of {', '.join(ACTIONS)}")
    work = body.get("work") or []
    if not isinstance(work, list) or not all(isinstance(w, str | int) for w in work):
        raise invalid("work", "a list of work item names")
    control = supervisor_pb2.ControlJobsRequest(action=action, reason=_reason(body))
    if work:
        control.work.extend(supervisor_pb2.WorkRef(job_id=job_id, work_name=str(w)) for w in work)
    else:
        control.job_ids.append(job_id)
    answer = await stub(request).ControlJobs(control, metadata=metadata(request))
    return web.json_response(to_json(answer))


async def modify_job(request: web.Request) -> web.Response:
    body = await read_object(request)
    changes = job_pb2_changes(body)
    answer = await stub(request).ModifyJobs(
        supervisor_pb2.ModifyJobsRequest(
            job_ids=[path_id(request)], changes=changes, reason=_reason(body)
        ),
        metadata=metadata(request),
    )
    return web.json_response(to_json(answer))


def job_pb2_changes(body: dict[str, Any]) -> supervisor_pb2.JobChanges:
    """``{"priority": N, "cpus": N, "retry": N}`` as JobChanges; other keys are refused."""
    changes = supervisor_pb2.JobChanges()
    for key, value in body.items():
        if key == "reason":
            continue
        if key not in MODIFIABLE_INTS:
            raise invalid(key, f"cannot be changed here; use one of {', '.join(MODIFIABLE_INTS)}")
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**31:
            raise invalid(key, "a whole number")
        setattr(changes, key, value)
    if not changes.ListFields():
        raise invalid("priority", "nothing to change: give priority, cpus or retry")
    return changes
