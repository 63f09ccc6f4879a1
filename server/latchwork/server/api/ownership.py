"""Who may act on which jobs: the ownership rules every RPC that changes jobs applies.

Without tokens (open mode) anyone acts on anything; with tokens a user acts on their own jobs
and adds jobs only under their own process groups and parents, and admins act on anyone's.
"""

from __future__ import annotations

from latchwork.v1 import supervisor_pb2

from ..auth import caller_of
from ..core.errors import PermissionDenied
from ..core.model import Job
from ..core.tree_rights import tree_refusal
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
    """With tokens, the tree rule (:mod:`..core.tree_rights`) for the caller; admins pass."""
    caller = caller_of(context)
    if not caller.authenticated or caller.admin:
        return
    refusal = tree_refusal(
        caller.user,
        request.pgrp,
        [spec.pid for spec in request.jobs],
        supervisor.get_job,
        not_admin=f"{caller.user!r} is not an admin",
    )
    if refusal is not None:
        raise PermissionDenied(str(refusal))
