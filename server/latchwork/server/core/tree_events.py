"""Job-tree events: a parent/child tree announces when all of it is done (Lasernet's levels).

A tree is a job with its descendants. When the last job of a tree reaches a final state, the
tree's root gets a ``tree`` event named for the whole: ``complete`` if every job completed,
``failed`` if any failed, ``killed`` otherwise. One job finishing can close several nested
trees at once (its parent's, its grandparent's…), so the walk goes up until a tree still has
work in flight. Pure: jobs are read through the two functions passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .events import Event, EventName, EventType
from .model import Job
from .states import JobStatus
from .triggers.resolve import DONE_NAMES


def tree_events(
    events: Iterable[Event],
    job: Callable[[int], Job | None],
    children: Callable[[int], list[int]],
) -> list[Event]:
    """The tree events that ``events`` (one commit's, in order) complete.

    Only final job events can close a tree; each tree is announced at most once per call.
    """
    announced: set[int] = set()
    found: list[Event] = []
    for event in events:
        if event.type is not EventType.JOB or event.name not in DONE_NAMES:
            continue
        node = job(event.job_id)
        while node is not None and node.id not in announced:
            statuses = subtree_statuses(node, job, children)
            if not all(status.is_final for status in statuses):
                break
            announced.add(node.id)
            found.append(_tree_event(node, statuses))
            node = job(node.pid) if node.pid else None
    return found


def subtree_statuses(
    root: Job, job: Callable[[int], Job | None], children: Callable[[int], list[int]]
) -> list[JobStatus]:
    """The status of every job of the tree rooted at ``root`` (removed jobs left out)."""
    statuses: list[JobStatus] = []
    stack = [root.id]
    while stack:
        node = job(stack.pop())
        if node is None or node.removed:
            continue
        statuses.append(node.status)
        stack.extend(children(node.id))
    return statuses


def _tree_event(root: Job, statuses: list[JobStatus]) -> Event:
    if all(status is JobStatus.COMPLETE for status in statuses):
        name = EventName.COMPLETE
    elif JobStatus.FAILED in statuses:
        name = EventName.FAILED
    else:
        name = EventName.KILLED
    return Event(
        name=name,
        type=EventType.TREE,
        job_id=root.id,
        pgrp=root.pgrp,
        label=root.label,
        user=root.user,
        status=name.value,
        message=f"{len(statuses)} jobs in the tree",
    )
