"""Read isolation on the wire: the caller's scope, and a hidden job made indistinguishable
from a missing one.

The rule is :class:`~..core.visibility.ReadPolicy`; every RPC of SupervisorService that reads
or names jobs takes the caller's scope from here. A job the caller may not see answers exactly
as a job that does not exist: ``NOT_FOUND`` with the same message where a missing job is
``NOT_FOUND``, nothing where a missing job gives nothing (a page, a stream), and the same
field error where a request that changes jobs names a missing one. ``PERMISSION_DENIED``
would confirm that the job exists and (as ownership errors do) name its owner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from latchwork.v1 import supervisor_pb2

from ..auth import caller_of
from ..core.errors import InvalidRequest, NotFound
from ..core.model import Job
from ..core.runs import CallbackRun
from ..core.submission import FieldError
from ..core.visibility import ReadPolicy, ReadScope
from ..supervisor import Supervisor
from .errors import Context

RUN_SCAN_BATCH = 1000
"""ListCallbackRuns of every job under ``visibility = "own"``: runs read per store query while
the caller's page fills (the store finds runs by job or callback, not by user)."""

Target = tuple[str, Job | None, str]
"""A job a request names: (its field, the job or None, the error a missing job gets)."""


def caller_scope(policy: ReadPolicy, context: Context) -> ReadScope:
    caller = caller_of(context)
    return policy.scope(caller.user, admin=caller.admin)


def visible_job(scope: ReadScope, job_id: int, job: Job | None) -> Job:
    """``job`` when the scope sees it; else NOT_FOUND, as for a job that does not exist."""
    if job is None or not scope.sees(job):
        raise NotFound(f"job {job_id} does not exist")
    return job


def visible_children(scope: ReadScope, job: Job, supervisor: Supervisor) -> list[int]:
    """The ids of ``job``'s children the scope sees (an admin may have put another user's job
    below one of yours)."""
    children = supervisor.children_of(job.id)
    if scope.everything:
        return children
    return [child for child in children if scope.sees(supervisor.get_job(child))]


def visible_users(scope: ReadScope, requested: Iterable[str]) -> frozenset[str] | None:
    """The ``users`` filter of a listing within the scope (empty: any user); None when the
    request asks only for users the caller may not see."""
    users = frozenset(requested)
    if scope.user is None:
        return users
    users = users & {scope.user} if users else frozenset({scope.user})
    return users or None


def hidden_as_missing(scope: ReadScope, targets: Iterable[Target]) -> None:
    """For the RPCs that change jobs: a target the caller may not see fails as a missing one
    does (INVALID_ARGUMENT at its field), before the ownership check could say whose it is."""
    errors = [
        FieldError(path, missing) for path, job, missing in targets if job and not scope.sees(job)
    ]
    if errors:
        raise InvalidRequest(errors)


def job_targets(path: str, job_ids: Iterable[int], supervisor: Supervisor) -> list[Target]:
    return [
        (f"{path}[{i}]", supervisor.get_job(job_id), f"job {job_id} does not exist")
        for i, job_id in enumerate(job_ids)
    ]


def control_targets(
    request: supervisor_pb2.ControlJobsRequest, supervisor: Supervisor
) -> list[Target]:
    return [
        *job_targets("job_ids", request.job_ids, supervisor),
        *(
            (f"work[{i}].job_id", supervisor.get_job(w.job_id), f"job {w.job_id} does not exist")
            for i, w in enumerate(request.work)
        ),
    ]


def submit_targets(request: supervisor_pb2.SubmitRequest, supervisor: Supervisor) -> list[Target]:
    """The process group joined (by its lead job) and the parents named, with the errors a
    missing group or parent gets from the submission checks."""
    targets: list[Target] = []
    leader = supervisor.get_job(request.pgrp) if request.pgrp > 0 else None
    if leader is not None and leader.pgrp == leader.id:
        targets.append(("pgrp", leader, f"process group {request.pgrp} does not exist"))
    for i, spec in enumerate(request.jobs):
        if spec.pid > 0:
            parent = supervisor.get_job(spec.pid)
            targets.append((f"jobs[{i}].pid", parent, f"parent job {spec.pid} does not exist"))
    return targets


async def visible_runs(
    supervisor: Supervisor,
    scope: ReadScope,
    job_id: int,
    callback_id: int,
    before_id: int,
    limit: int,
) -> list[CallbackRun]:
    """Up to ``limit`` runs the scope sees, newest first, older than ``before_id``; the runs of
    a job or callback the caller may not see are none, as a missing one's are."""
    if not scope.everything:
        if job_id and not scope.sees(supervisor.get_job(job_id)):
            return []
        if callback_id:
            callback = supervisor.get_callback(callback_id)
            if callback is None or not scope.sees(supervisor.get_job(callback.job_id)):
                return []
    if scope.everything or job_id or callback_id:
        return supervisor.list_runs(
            job_id=job_id, callback_id=callback_id, before_id=before_id, limit=limit
        )
    found: list[CallbackRun] = []
    owners: dict[int, Job | None] = {}
    while len(found) < limit:
        batch = supervisor.list_runs(before_id=before_id, limit=RUN_SCAN_BATCH)
        for run in batch:
            if run.job_id not in owners:
                owners[run.job_id] = supervisor.get_job(run.job_id)
            if scope.sees(owners[run.job_id]):
                found.append(run)
        if len(batch) < RUN_SCAN_BATCH:
            break
        before_id = batch[-1].id
        await asyncio.sleep(0)  # a long scan lets other requests in between its batches
    return found[:limit]
