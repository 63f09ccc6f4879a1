"""Operator actions (block, kill, retry, ...) on jobs and work items."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from . import transitions as t
from .changes import Changes
from .model import Job, WorkItem


class Action(StrEnum):
    BLOCK = "block"
    UNBLOCK = "unblock"
    KILL = "kill"
    RETRY = "retry"
    SUSPEND = "suspend"
    RESUME = "resume"
    REMOVE = "remove"


JobTransition = Callable[[Changes, Job, str], bool]
WorkTransition = Callable[[Changes, Job, WorkItem, str], bool]

JOB_ACTIONS: dict[Action, JobTransition] = {
    Action.BLOCK: t.block_job,
    Action.UNBLOCK: t.unblock_job,
    Action.KILL: t.kill_job,
    Action.RETRY: t.retry_job,
    Action.SUSPEND: t.suspend_job,
    Action.RESUME: t.resume_job,
    Action.REMOVE: t.remove_job,
}

WORK_ACTIONS: dict[Action, WorkTransition] = {
    Action.BLOCK: t.block_work,
    Action.UNBLOCK: t.unblock_work,
    Action.KILL: t.kill_work,
    Action.RETRY: t.retry_work,
}
