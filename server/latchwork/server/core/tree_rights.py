"""Who may add jobs where in the job tree: one rule for the Submit RPC and for callbacks.

Only the owner of a process group (of its lead job) or of a parent job, or an admin, may add
jobs to that group or below that job: another user's jobs there could take labels the owner's
triggers resolve to, or decide when the owner's tree callbacks fire. A group or parent the
submitter may not even read (``visibility = "own"``) is refused as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .model import Job
from .visibility import EVERYTHING, ReadScope


@dataclass(frozen=True, slots=True)
class TreeRefusal:
    """The first place a submission may not add jobs: its field path and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def tree_refusal(
    user: str,
    pgrp: int,
    parent_ids: Sequence[int],
    get_job: Callable[[int], Job | None],
    *,
    not_admin: str,
    scope: ReadScope = EVERYTHING,
) -> TreeRefusal | None:
    """Why ``user`` (not an admin) may not add jobs to ``pgrp`` and below ``parent_ids`` (one per
    job, 0 for none), or None. ``not_admin`` ends the message (``"'ana' is not an admin"``)."""
    if pgrp > 0:
        leader = get_job(pgrp)
        if leader is not None and leader.pgrp == leader.id and leader.user != user:
            if not scope.sees(leader):
                return TreeRefusal("pgrp", f"process group {pgrp} does not exist")
            return TreeRefusal(
                "pgrp",
                f"process group {leader.id} belongs to {leader.user!r} (the owner of job "
                f"{leader.id}); {not_admin}",
            )
    for index, parent_id in enumerate(parent_ids):
        parent = get_job(parent_id) if parent_id > 0 else None
        if parent is not None and parent.user != user:
            path = f"jobs[{index}].pid"
            if not scope.sees(parent):
                return TreeRefusal(path, f"parent job {parent_id} does not exist")
            return TreeRefusal(path, f"job {parent.id} belongs to {parent.user!r}; {not_admin}")
    return None
