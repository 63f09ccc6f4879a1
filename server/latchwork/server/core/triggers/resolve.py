"""Resolving a parsed trigger against its owner job: who ``self``, ``parent`` and labels are.

Everything that would make a trigger never fire is an error here, at submit: a label or job id
that does not exist, an event that never happens to that type of object, a work item the job
does not have. The resolved form, ``Watch``, is what the engine indexes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..events import EventName, EventType
from ..model import Job
from .syntax import DONE, GLOBAL_TYPES, Atom, Expr, TriggerSyntaxError, atoms, is_number

DONE_NAMES = frozenset({EventName.COMPLETE, EventName.FAILED, EventName.KILLED})

_E = EventName
# The events the supervisor produces for each type; anything else could never fire. Callback
# events may not be watched.
PRODUCED: dict[EventType, frozenset[EventName]] = {
    EventType.JOB: frozenset(
        {
            _E.SUBMIT, _E.RUNNING, _E.COMPLETE, _E.FAILED, _E.KILLED, _E.BLOCKED, _E.WAITING,
            _E.REMOVED, _E.MODIFIED, _E.UNBLOCKED, _E.SUSPENDED, _E.RESUMED, _E.RETRIED,
        }
    ),
    EventType.WORK: frozenset(
        {
            _E.RUNNING, _E.COMPLETE, _E.FAILED, _E.KILLED, _E.BLOCKED, _E.UNBLOCKED, _E.RETRIED,
            _E.TIMEOUT,
        }
    ),
    EventType.SUBJOB: frozenset({_E.RUNNING, _E.COMPLETE, _E.FAILED, _E.KILLED}),
    EventType.HOST: frozenset({_E.UP, _E.DOWN, _E.LOCKED, _E.UNLOCKED}),
    EventType.TREE: DONE_NAMES,
    EventType.TIME: frozenset({_E.DUMMY}),
    EventType.REPEAT: frozenset({_E.DUMMY}),
    EventType.GLOBALTIME: frozenset({_E.DUMMY}),
    EventType.GLOBALREPEAT: frozenset({_E.DUMMY}),
}  # fmt: skip

# The trigger words valid for each type: the produced names, and "done" wherever all three
# endings it stands for can happen.
VALID_NAMES: dict[str, frozenset[str]] = {
    type_.value: frozenset(name.value for name in names)
    | (frozenset({DONE}) if names >= DONE_NAMES else frozenset())
    for type_, names in PRODUCED.items()
}


@dataclass(frozen=True, slots=True)
class Watch:
    """A resolved atom: which events (by name, type and job) make it true."""

    atom: Atom
    names: frozenset[EventName]
    type: EventType
    job_id: int
    extra: str

    @property
    def wildcard(self) -> bool:
        return self.extra == "*"

    def matches_extra(self, work_name: str, subjob_id: int, host: str = "") -> str | None:
        """The binding this event gives the atom ("" for none), or None if it does not match."""
        if self.type is EventType.WORK:
            value = work_name
        elif self.type is EventType.SUBJOB:
            value = str(subjob_id)
        elif self.type is EventType.HOST:
            value = host
        else:
            return ""
        if self.extra == "*":
            return value
        if not self.extra or self.extra == value:
            return ""
        return None


JobFinder = Callable[[str], Job | None]


@dataclass(frozen=True, slots=True)
class ResolveContext:
    """What resolution may look at: the owner, and how to find jobs by id or label."""

    owner: Job
    job_by_id: Callable[[int], Job | None]
    job_by_label: Callable[[str], Job | None]
    allow_global: bool = False


def resolve(expr: Expr, context: ResolveContext) -> list[Watch]:
    """One Watch per atom of ``expr`` (same order); raises TriggerSyntaxError on any problem."""
    return [_resolve_atom(atom, context) for atom in atoms(expr)]


def _resolve_atom(atom: Atom, ctx: ResolveContext) -> Watch:
    if atom.type in GLOBAL_TYPES:
        if not ctx.allow_global:
            raise TriggerSyntaxError(
                f"{atom.type} triggers apply to the whole farm and need admin rights",
                atom.offset,
            )
        return Watch(atom, frozenset({EventName.DUMMY}), EventType(atom.type), 0, "")
    if atom.name not in VALID_NAMES[atom.type]:
        raise TriggerSyntaxError(
            f"'{atom.name}' never happens to a {atom.type}",
            atom.offset,
            f"{atom.type} events are: {', '.join(sorted(VALID_NAMES[atom.type]))}",
        )
    if atom.type == "host":
        # Farm-wide, like Subscribe's host events (anyone may read them): no job, no admin.
        return Watch(atom, frozenset({EventName(atom.name)}), EventType.HOST, 0, atom.extra)
    context_offset = atom.offset + len(atom.name) + len(atom.type) + 2
    job = _context_job(atom.context, ctx, context_offset)
    extra_offset = context_offset + len(atom.context) + 1
    if atom.type in ("job", "tree") and atom.extra:
        raise TriggerSyntaxError(
            f"a {atom.type} atom takes no extra part; remove '-{atom.extra}'", extra_offset - 1
        )
    if atom.type == "work" and atom.extra not in ("", "*") and job.work_named(atom.extra) is None:
        raise TriggerSyntaxError(
            f"job {job.id} ({job.label}) has no work item {atom.extra!r}", extra_offset
        )
    if (
        atom.type == "subjob"
        and atom.extra not in ("", "*")
        and (not is_number(atom.extra) or int(atom.extra) >= len(job.subjobs))
    ):
        raise TriggerSyntaxError(
            f"job {job.id} has subjobs 0 to {len(job.subjobs) - 1}, not {atom.extra!r}",
            extra_offset,
        )
    names = DONE_NAMES if atom.name == DONE else _ONE_NAME[EventName(atom.name)]
    return Watch(atom, names, EventType(atom.type), job.id, atom.extra)


# One frozenset per event name, shared by every watch of it: a set is 216 bytes, and every
# job with a callback or a dependency holds a few watches.
_ONE_NAME: dict[EventName, frozenset[EventName]] = {name: frozenset({name}) for name in EventName}


def _context_job(context: str, ctx: ResolveContext, offset: int) -> Job:
    if context == "self":
        return ctx.owner
    if context == "parent":
        if not ctx.owner.pid:
            raise TriggerSyntaxError("'parent' used in a job that has no parent (pid)", offset)
        parent = ctx.job_by_id(ctx.owner.pid)
        if parent is None:
            raise TriggerSyntaxError(f"parent job {ctx.owner.pid} does not exist", offset)
        return parent
    if is_number(context):
        job = ctx.job_by_id(int(context))
        if job is None:
            raise TriggerSyntaxError(f"job {context} does not exist", offset)
        return job
    job = ctx.job_by_label(context)
    if job is None:
        raise TriggerSyntaxError(
            f"no job labelled {context!r} in process group {ctx.owner.pgrp}", offset
        )
    return job
