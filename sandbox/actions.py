"""Actions: what callback code asks the supervisor to do.

Callback code in any language never changes anything itself. It returns actions; the
supervisor checks each against the owner's rights and applies them all in one transaction, or
none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verb(StrEnum):
    BLOCK = "block"
    UNBLOCK = "unblock"
    KILL = "kill"
    RETRY = "retry"
    SUSPEND = "suspend"
    RESUME = "resume"
    REMOVE = "remove"
    FAIL = "fail"
    COMPLETE = "complete"
    REQUEUE = "requeue"
    MAIL = "mail"


class Scope(StrEnum):
    JOB = "job"
    WORK = "work"
    SUBJOB = "subjob"


@dataclass(frozen=True, slots=True)
class Action:
    """Apply ``verb`` to a job, one of its work items, or the work running in one subjob."""

    verb: Verb
    scope: Scope
    job_id: int
    work_name: str = ""
    subjob_id: int = -1
    text: str = ""  # the message of a MAIL action (sandboxed Python's qb.mail); "" otherwise

    def describe(self) -> str:
        if self.scope is Scope.WORK:
            return f"{self.verb.value} work {self.job_id}:{self.work_name}"
        if self.scope is Scope.SUBJOB:
            return f"{self.verb.value} subjob {self.job_id}/{self.subjob_id}"
        return f"{self.verb.value} job {self.job_id}"
