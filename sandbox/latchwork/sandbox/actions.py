"""Actions: what callback code asks the supervisor to do.

Callback code in any language never changes anything itself. It returns actions; the
supervisor checks each against the owner's rights and applies them all in one transaction, or
none of them.

:data:`VERBS` is the one table of which verb applies to a job, a work item or a subjob and how
each language spells it (a verb with no qube spelling, such as ``submit``, is ``qb``'s only).
The wire check (``python/protocol.py``), the qube command table
(``qube.py``) and the ``qb`` functions (``python/api.py``) are derived from it, and the server
maps each verb to the transition that carries it out in one dict checked against it
(``latchwork.server.core.actions.TRANSITIONS``). To add a verb or a spelling, edit this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


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
    SUBMIT = "submit"


class Scope(StrEnum):
    JOB = "job"
    WORK = "work"
    SUBJOB = "subjob"


@dataclass(frozen=True, slots=True)
class Spelling:
    """How the languages name one verb acting on one scope.

    ``qube``: the qube commands (``unblock-work-self``). ``qb``: the ``qb`` functions of
    sandboxed Python. A subjob has no ``qb`` function of its own: the job functions of a verb
    that applies to subjobs also take ``"12.3"`` (job 12, subjob 3).
    """

    qube: tuple[str, ...] = ()
    qb: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VerbSpec:
    """The scopes one verb applies to (those with a spelling), and their spellings."""

    job: Spelling | None = None
    work: Spelling | None = None
    subjob: Spelling | None = None

    def spellings(self) -> dict[Scope, Spelling]:
        found = {Scope.JOB: self.job, Scope.WORK: self.work, Scope.SUBJOB: self.subjob}
        return {scope: spelling for scope, spelling in found.items() if spelling is not None}

    @property
    def scopes(self) -> frozenset[Scope]:
        return frozenset(self.spellings())


# Interrupt, migrate and preempt all take a running instance off its host and put its work
# back in the queue; on Latchwork that is one thing: requeue.
VERBS: Mapping[Verb, VerbSpec] = MappingProxyType(
    {
        Verb.UNBLOCK: VerbSpec(
            job=Spelling(("unblock-self",), ("unblock",)),
            work=Spelling(("unblock-work-self",), ("workunblock",)),
        ),
        Verb.BLOCK: VerbSpec(
            job=Spelling(("block-self",), ("block",)),
            work=Spelling(("block-work-self",), ("workblock",)),
        ),
        Verb.FAIL: VerbSpec(
            job=Spelling(("fail-self",), ("fail",)),
            work=Spelling(("fail-work-self",), ("workfail",)),
        ),
        Verb.KILL: VerbSpec(
            job=Spelling(("kill-self",), ("kill",)),
            work=Spelling(("kill-work-self",), ("workkill",)),
            subjob=Spelling(("kill-subjob-self",)),
        ),
        Verb.SUSPEND: VerbSpec(job=Spelling(("suspend-self",), ("suspend",))),
        Verb.RESUME: VerbSpec(job=Spelling(("resume-self",), ("resume",))),
        Verb.RETRY: VerbSpec(
            job=Spelling(("retry-self",), ("retry",)),
            work=Spelling(("retry-work-self",), ("workretry",)),
            subjob=Spelling(("retry-subjob-self",)),
        ),
        Verb.REMOVE: VerbSpec(job=Spelling(("remove-self",), ("remove",))),
        Verb.REQUEUE: VerbSpec(
            job=Spelling(
                ("interrupt-self", "migrate-self", "preempt-self"),
                ("requeue", "interrupt", "migrate", "preempt"),
            ),
            work=Spelling(("requeue-work-self",), ("workrequeue",)),
            subjob=Spelling(
                (
                    "requeue-subjob-self",
                    "interrupt-subjob-self",
                    "migrate-subjob-self",
                    "preempt-subjob-self",
                )
            ),
        ),
        Verb.COMPLETE: VerbSpec(work=Spelling(("complete-work-self",), ("workcomplete",))),
        # qb.mail(text) records the text too; qube's mail-status sends the status mail.
        Verb.MAIL: VerbSpec(job=Spelling(("mail-status",), ("mail",))),
        # qb.submit(jobs) asks for new jobs, owned by the callback's owner: the sanctioned way
        # to run a script on an event (``submission.py``). It acts on no existing job (its
        # job_id is the owner's) and has no qube spelling: a qube command carries no job dict.
        Verb.SUBMIT: VerbSpec(job=Spelling((), ("submit",))),
    }
)


def verbs_for(scope: Scope) -> frozenset[Verb]:
    """The verbs that apply to ``scope``."""
    return frozenset(verb for verb, spec in VERBS.items() if scope in spec.scopes)


@dataclass(frozen=True, slots=True)
class CallbackAction:
    """Apply ``verb`` to a job, one of its work items, or the work running in one subjob."""

    verb: Verb
    scope: Scope
    job_id: int
    work_name: str = ""
    subjob_id: int = -1
    # The message of a MAIL action (sandboxed Python's qb.mail); the jobs of a SUBMIT action
    # (JSON, ``submission.encode_submission``); "" otherwise.
    text: str = ""

    def describe(self) -> str:
        if self.verb is Verb.SUBMIT:
            return "submit jobs"
        if self.scope is Scope.WORK:
            return f"{self.verb.value} work {self.job_id}:{self.work_name}"
        if self.scope is Scope.SUBJOB:
            return f"{self.verb.value} subjob {self.job_id}/{self.subjob_id}"
        return f"{self.verb.value} job {self.job_id}"
