"""Who may act on which jobs: the ownership rules every RPC that changes jobs applies.

Without tokens (open mode) anyone acts on anything; with tokens a user acts on their own jobs
and adds jobs only under their own process groups and parents, and admins act on anyone's.
"""

from __future__ import annotations

from latchwork.v1 import supervisor_pb2

from ..auth import caller_of
from ..core.errors import PermissionDenied
from ..core.model import Job
from ..supervisor import Supervisor
from .errors import Context


def caller_name(context: Context) -> str:
    return caller_of(context).user


def require_owner(context: Context, jobs: list[Job | None]) -> None:
    """With tokens, a user acts on their own jobs only; admins on anyone's."""
    caller = caller_of(context)
    if not caller.authenticated or caller.admin:
        return
    for job in jobs:
        if job is not None and job.user != caller.user:
            raise PermissionDenied(
                f"job {job.id} belongs to {job.user!r}; {caller.user!r} is not an admin"
            )


def require_tree_owner(
    context: Context, supervisor: Supervisor, request: supervisor_pb2.SubmitRequest
) -> None:
    """With tokens, only the owner of a process group (of its lead job) or of a parent job, or
    an admin, may add jobs to that group or below that job: another user's jobs there could
    take labels the owner's triggers resolve to, or decide when the owner's tree callbacks fire.
    """
    caller = caller_of(context)
    if not caller.authenticated or caller.admin:
        return
    if request.pgrp > 0:
        leader = supervisor.get_job(request.pgrp)
        if leader is not None and leader.pgrp == leader.id and leader.user != caller.user:
            raise PermissionDenied(
                f"pgrp: process group {leader.id} belongs to {leader.user!r} (the owner of "
                f"job {leader.id}); {caller.user!r} is not an admin"
            )
    for index, spec in enumerate(request.jobs):
        parent = supervisor.get_job(spec.pid) if spec.pid > 0 else None
        if parent is not None and parent.user != caller.user:
            raise PermissionDenied(
                f"jobs[{index}].pid: job {parent.id} belongs to {parent.user!r}; "
                f"{caller.user!r} is not an admin"
            )
