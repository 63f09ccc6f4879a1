"""The latch inspector: why a job is where it is, read from the trigger engine's latches.

A wrangler's most frequent question is "why is this job still waiting?". Every answer is
already in the supervisor: which atoms of each callback's trigger are latched (and by which
event), which are awaited, per ``*`` binding, and why routing keeps the pending work from
running. This module puts those together, pure (no I/O): the caller hands it the job, the
engine's callbacks of the job and routing's :class:`~.routing.routing.WaitExplanation`.

Reading of the tree (docs/why.md): an atom is *latched* when its event happened since the
callback last fired; a ``*`` atom, in the tree of the callback as a whole, is latched when
some binding latched it (the earliest such event's seq is shown), and each binding's own view
is listed apart, the first :data:`MAX_BINDINGS` of them by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .model import Job
from .routing.routing import WaitExplanation
from .states import FINAL_JOB_STATUSES, JobStatus, WorkStatus
from .triggers.engine import Callback
from .triggers.syntax import AllOf, Atom, Expr, atoms, evaluate

MAX_BINDINGS = 100
"""Bindings listed per callback; the rest are only counted (``more_bindings``)."""


@dataclass(frozen=True, slots=True)
class Node:
    """A node of a trigger's tree: "and", "or" or "atom" (the grammar has no "not" yet)."""

    kind: str
    text: str
    offset: int
    latched: bool
    latched_seq: int = 0
    watches_job_id: int = 0
    children: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class BindingView:
    """The atoms of a ``*`` trigger as one binding (a frame, subjob or host name) sees them."""

    binding: str
    satisfied: bool
    atoms: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class CallbackView:
    callback_id: int
    triggers: str
    code: str
    from_dependency: bool
    fired: int
    satisfied: bool  # it can fire no more: its ``max`` reached (see ``suspended``)
    suspended: str
    root: Node
    bindings: tuple[BindingView, ...] = ()
    more_bindings: int = 0

    @property
    def awaited(self) -> list[Node]:
        """The atoms of the whole-callback tree not latched, left to right."""
        return [node for node in _leaves(self.root) if not node.latched]


@dataclass(frozen=True, slots=True)
class JobExplanation:
    job_id: int
    status_reason: str
    callbacks: tuple[CallbackView, ...] = ()
    routing_reasons: tuple[str, ...] = field(default=())


def explain_job(
    job: Job, callbacks: Sequence[Callback], wait: WaitExplanation | None = None
) -> JobExplanation:
    """Explain ``job``: its callbacks' latches and, when routing is why its pending work is
    not running (``wait`` not runnable), the reasons."""
    views = tuple(explain_callback(callback) for callback in callbacks)
    routing = tuple(wait.reasons) if wait is not None and not wait.runnable else ()
    return JobExplanation(job.id, status_reason(job, views, wait), views, routing)


def explain_callback(callback: Callback) -> CallbackView:
    positions = _Positions()
    root = _tree(callback.expr, callback, positions)
    bindings = sorted(callback.bound, key=_natural) if callback.has_wildcard else []
    shown = [_binding_view(callback, b) for b in bindings[:MAX_BINDINGS]]
    return CallbackView(
        callback_id=callback.id,
        triggers=callback.spec.triggers,  # as written: the offsets index into it
        code=callback.spec.code,
        from_dependency=callback.from_dependency,
        fired=callback.fired,
        satisfied=callback.exhausted,
        suspended=callback.suspended,
        root=root,
        bindings=tuple(shown),
        more_bindings=max(len(bindings) - MAX_BINDINGS, 0),
    )


class _Positions:
    """Numbers the atoms left to right as the tree is walked: the engine's positions."""

    def __init__(self) -> None:
        self.next = 0

    def take(self) -> int:
        self.next += 1
        return self.next - 1


def _tree(expr: Expr, callback: Callback, positions: _Positions) -> Node:
    if isinstance(expr, Atom):
        return _atom_node(callback, expr, positions.take(), binding=None)
    children = tuple(_tree(op, callback, positions) for op in expr.operands)
    if isinstance(expr, AllOf):
        kind, latched = "and", all(c.latched for c in children)
    else:
        kind, latched = "or", any(c.latched for c in children)
    return Node(kind, expr.format(), children[0].offset, latched, children=children)


def _atom_node(callback: Callback, atom: Atom, position: int, binding: str | None) -> Node:
    """One atom, for the callback as a whole (``binding`` None) or for one binding."""
    watch = callback.watches[position]
    if position in callback.shared:
        latched, seq = True, callback.latched_seq(None, position)
    elif not watch.wildcard:
        latched, seq = False, 0
    elif binding is not None:
        latched = position in callback.bound.get(binding, ())
        seq = callback.latched_seq(binding, position) if latched else 0
    else:  # a '*' atom, for the whole callback: latched by some binding (the earliest)
        holders = [
            b for b, latched_positions in callback.bound.items() if position in latched_positions
        ]
        latched = bool(holders)
        seqs = [s for b in holders if (s := callback.latched_seq(b, position))]
        seq = min(seqs, default=0)
    return Node("atom", atom.format(), atom.offset, latched, seq, watch.job_id)


def _binding_view(callback: Callback, binding: str) -> BindingView:
    nodes = tuple(
        _atom_node(callback, atom, position, binding)
        for position, atom in enumerate(atoms(callback.expr))
    )
    latched = callback.shared | callback.bound.get(binding, set())
    all_atoms = atoms(callback.expr)
    holds = {all_atoms[i] for i in latched}
    return BindingView(binding, evaluate(callback.expr, holds), nodes)


def _leaves(node: Node) -> Iterable[Node]:
    if node.kind == "atom":
        yield node
    for child in node.children:
        yield from _leaves(child)


_DIGITS = re.compile(r"(\d+)")


def _natural(name: str) -> tuple[tuple[int, int | str], ...]:
    """Frame "2" before "10": numbers compare as numbers."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(name) if part
    )


# --- the one-sentence status reason -----------------------------------------------------


def status_reason(
    job: Job, views: Sequence[CallbackView], wait: WaitExplanation | None = None
) -> str:
    """Why the job is where it is, in one sentence for people."""
    status = job.status
    if status in FINAL_JOB_STATUSES:
        return f"{status.value}: the job is finished; nothing is awaited"
    if status is JobStatus.SUSPENDED:
        return "suspended: its work waits until someone resumes the job"
    if status is JobStatus.RUNNING:
        done = job.tally[WorkStatus.COMPLETE] + job.tally[WorkStatus.FAILED]
        return (
            f"running: {job.tally[WorkStatus.RUNNING]} running, {done} of {len(job.work)} "
            "work items done"
        )
    if status is JobStatus.BLOCKED or job.blocked:
        return "blocked: " + _blocked_reason(job, views)
    if wait is not None and not wait.runnable:
        return f"{status.value}: {wait}"
    pending = job.tally[WorkStatus.PENDING]
    return f"{status.value}: {pending} work item{'s' if pending != 1 else ''} wait for a worker"


def _blocked_reason(job: Job, views: Sequence[CallbackView]) -> str:
    waiting = [v for v in views if not v.satisfied and not v.suspended and v.awaited]
    if not waiting:
        if job.blocked:
            return "held until unblocked (by an operator, or by a callback's action)"
        return "its work items are held until unblocked"
    if len(waiting) == 1:
        awaited = waiting[0].awaited
        total = len(list(_leaves(waiting[0].root)))
        names = ", ".join(node.text for node in awaited[:3])
        more = f" and {len(awaited) - 3} more" if len(awaited) > 3 else ""
        return (
            f"waits for {len(awaited)} of {total} trigger atom{'s' if total != 1 else ''} "
            f"of callback {waiting[0].callback_id}: {names}{more}"
        )
    return f"waits for {len(waiting)} of {len(views)} callbacks' triggers"
