"""Which transition carries out each verb, on a job or on a work item; and the operator's actions.

:data:`TRANSITIONS` is the server's one table from verb to transition. It is keyed by the verb's
name, the way ``latchwork.sandbox.actions.VERBS`` spells it, because the core imports the
standard library only; ``tests/unit/test_verb_registry.py`` checks that the two tables cover
the same verbs and scopes. Operator actions (:class:`OperatorAction`, from the RPC API) and callback
actions (``server/latchwork/server/callbacks.py``) both look their transitions up here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from . import verb_transitions as verbs
from .changes import Changes
from .model import Job, WorkItem

JobTransition = Callable[[Changes, Job, str], bool]
WorkTransition = Callable[[Changes, Job, WorkItem, str], bool]


@dataclass(frozen=True, slots=True)
class Carriers:
    """The transitions that carry out one verb: on a job, and on a work item.

    A subjob action is carried out by ``work``, on the work item running in that subjob.
    """

    job: JobTransition | None = None
    work: WorkTransition | None = None


TRANSITIONS: Mapping[str, Carriers] = MappingProxyType(
    {
        "block": Carriers(verbs.block_job, verbs.block_work),
        "unblock": Carriers(verbs.unblock_job, verbs.unblock_work),
        "kill": Carriers(verbs.kill_job, verbs.kill_work),
        "retry": Carriers(verbs.retry_job, verbs.retry_work),
        "suspend": Carriers(job=verbs.suspend_job),
        "resume": Carriers(job=verbs.resume_job),
        "remove": Carriers(job=verbs.remove_job),
        "fail": Carriers(verbs.fail_job, verbs.fail_work),
        "requeue": Carriers(verbs.requeue_job, verbs.requeue_work_action),
        "complete": Carriers(work=verbs.complete_work),
        # "mail" changes no state: whoever applies the actions sends the mail first.
        # "submit" adds jobs, as a Submit does (server/latchwork/server/callback_submit.py).
    }
)
"""verb name -> the transitions that carry it out."""

NO_TRANSITION = frozenset({"mail", "submit"})
"""Verbs that no transition carries out."""


class OperatorAction(StrEnum):
    """What an operator may do to a job or a work item over the RPC API."""

    BLOCK = "block"
    UNBLOCK = "unblock"
    KILL = "kill"
    RETRY = "retry"
    SUSPEND = "suspend"
    RESUME = "resume"
    REMOVE = "remove"
    REQUEUE = "requeue"


def _job_transition(verb: str) -> JobTransition:
    carrier = TRANSITIONS[verb].job
    if carrier is None:
        raise LookupError(f"no transition carries out {verb!r} on a job")
    return carrier


JOB_ACTIONS: dict[OperatorAction, JobTransition] = {
    action: _job_transition(action) for action in OperatorAction
}
WORK_ACTIONS: dict[OperatorAction, WorkTransition] = {
    action: carrier
    for action in OperatorAction
    if (carrier := TRANSITIONS[action].work) is not None
}
"""The operator's actions and their transitions, derived from :data:`TRANSITIONS`."""
