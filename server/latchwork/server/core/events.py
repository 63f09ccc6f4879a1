"""Events: one per state change, the currency of the log, the stream and the triggers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .states import JobStatus


class EventName(StrEnum):
    SUBMIT = "submit"
    ASSIGNED = "assigned"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    KILLED = "killed"
    BLOCKED = "blocked"
    WAITING = "waiting"
    REMOVED = "removed"
    MODIFIED = "modified"
    DUMMY = "dummy"
    TIMEOUT = "timeout"
    UNBLOCKED = "unblocked"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    RETRIED = "retried"
    UP = "up"
    DOWN = "down"
    LOCKED = "locked"
    UNLOCKED = "unlocked"


class EventType(StrEnum):
    JOB = "job"
    SUBJOB = "subjob"
    WORK = "work"
    HOST = "host"
    TIME = "time"
    REPEAT = "repeat"
    GLOBALTIME = "globaltime"
    GLOBALREPEAT = "globalrepeat"
    TREE = "tree"
    CALLBACK = "callback"


@dataclass(slots=True)
class Event:
    """A state change. ``seq`` and ``time`` are given by the log when the event is stored."""

    name: EventName
    type: EventType
    job_id: int = 0
    pgrp: int = 0
    label: str = ""
    user: str = ""
    subjob_id: int = -1
    work_name: str = ""
    host: str = ""
    status: str = ""
    previous_status: str = ""
    message: str = ""
    callback_run_id: int = 0
    seq: int = 0
    time: float = field(default=0.0)


def job_event_name(previous: JobStatus, current: JobStatus) -> EventName:
    """Which event announces a job moving from ``previous`` to ``current``.

    Most states name their own event; a return to ``pending`` is named after what ended: a
    hold (unblocked, resumed) or a run (retried).
    """
    direct = {
        JobStatus.RUNNING: EventName.RUNNING,
        JobStatus.COMPLETE: EventName.COMPLETE,
        JobStatus.FAILED: EventName.FAILED,
        JobStatus.KILLED: EventName.KILLED,
        JobStatus.BLOCKED: EventName.BLOCKED,
        JobStatus.WAITING: EventName.WAITING,
        JobStatus.SUSPENDED: EventName.SUSPENDED,
        JobStatus.REMOVED: EventName.REMOVED,
    }
    if previous is JobStatus.SUSPENDED and not current.is_final:
        return EventName.RESUMED
    if current in direct:
        return direct[current]
    if previous in (JobStatus.BLOCKED, JobStatus.WAITING):
        return EventName.UNBLOCKED
    return EventName.RETRIED
