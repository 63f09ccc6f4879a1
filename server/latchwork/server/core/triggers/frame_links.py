"""Frame-to-frame links that could never hold, refused at submit (fail fast).

A dependency's ``*`` atom (``link-complete-work-A``, or ``"*": ["A:*"]`` of an info
dependency) waits, for each of the job's work items, for A's item of the same name. When the
two jobs have no name in common (``0001``..``0008`` against ``1``..``8``), no frame is ever
released and the job waits forever without a word: this finds that at submit, for every linked
job known then (an existing job, or one of the same submission or process group).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..model import Job
from .resolve import Watch
from .syntax import TriggerSyntaxError

_SHOWN = 3  # names shown on each side


def check_frame_links(
    watches: Sequence[Watch],
    owner: Job,
    job_by_id: Callable[[int], Job | None],
    skip: frozenset[str] = frozenset(),
) -> None:
    """Raise, at the offending atom's offset, if a ``*`` work watch can never match a name.

    ``skip``: the owner's work items that wait under callbacks of their own.
    """
    links = [w for w in watches if w.type.value == "work" and w.wildcard and w.job_id != owner.id]
    if not links:
        return  # the common case (no '*'): no pass over the owner's work
    own = [w.name for w in owner.work if w.name not in skip]
    mine = set(own)
    for watch in links:
        target = job_by_id(watch.job_id)
        if not own or target is None or not target.work:
            continue
        if any(item.name in mine for item in target.work):
            continue
        theirs = [item.name for item in target.work]
        raise TriggerSyntaxError(
            f"frame-to-frame link to job {target.id} ({target.label}) can never hold: its "
            f"work items are {_some(theirs)}, this job's are {_some(own)}, and no name is in "
            "both (work items are matched by name; padding changes only the number the "
            "command sees)",
            watch.atom.offset,
        )


def _some(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n[:40]) for n in names[:_SHOWN])
    more = len(names) - _SHOWN
    return f"{shown} and {more} more" if more > 0 else shown
