"""Qube's ``dependency`` attribute, desugared into holds plus callbacks.

``"12, complete-job-7, link-complete-job-comp, link-done-work-render"`` means: wait for all of
them. Whole-job links hold the job and release it with ``unblock-self``; work links
(frame-to-frame) hold every work item and release each with ``unblock-work-self`` once the
same-named item of every linked job is done. A mix holds the work only and folds the job links
into the frame-to-frame trigger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import FieldError
from ..model import CallbackLanguage, CallbackSpec, Job
from ..states import WorkStatus
from .syntax import TriggerSyntaxError, is_number

_LINK = re.compile(r"^link-(complete|done|failed|killed)-(job|work|subjob)-(.+)$")
_COMPLETE_JOB = re.compile(r"^complete-job-(.+)$")


@dataclass(frozen=True, slots=True)
class Desugared:
    """What a dependency adds to a job: a hold on the job or on its work, and a callback."""

    hold_job: bool
    hold_work: bool
    callback: CallbackSpec
    # (offset of an atom in the callback's trigger, offset of its entry in the dependency)
    origins: tuple[tuple[int, int], ...]

    def origin_of(self, trigger_offset: int) -> int:
        """Where, in the dependency text, the trigger text at ``trigger_offset`` came from."""
        best = 0
        for generated, original in self.origins:
            if generated <= trigger_offset:
                best = original
        return best


def desugar_dependency(text: str) -> Desugared:
    job_atoms: list[tuple[str, int]] = []
    work_atoms: list[tuple[str, int]] = []
    position = 0
    for piece in text.split(","):
        item = piece.strip()
        offset = position + len(piece) - len(piece.lstrip())
        position += len(piece) + 1
        if not item:
            raise TriggerSyntaxError("empty entry in the dependency list", offset)
        if is_number(item):
            job_atoms.append((f"complete-job-{item}", offset))
        elif _COMPLETE_JOB.match(item):
            job_atoms.append((item, offset))
        elif link := _LINK.match(item):
            name, kind, target = link.groups()
            if kind == "subjob":
                raise TriggerSyntaxError(
                    "subjob links are not supported: use link-NAME-work-X or link-NAME-job-X",
                    offset,
                )
            if kind == "job":
                job_atoms.append((f"{name}-job-{target}", offset))
            else:
                work_atoms.append((f"{name}-work-{target}-*", offset))
        else:
            raise TriggerSyntaxError(
                f"cannot read dependency {item!r}: use a job id, complete-job-X or "
                "link-(complete|done|failed|killed)-(job|work)-X",
                offset,
            )
    entries = work_atoms + job_atoms
    origins: list[tuple[int, int]] = []
    cursor = 0
    for atom, offset in entries:
        origins.append((cursor, offset))
        cursor += len(atom) + len(" && ")
    trigger = " && ".join(atom for atom, _ in entries)
    code = "unblock-work-self" if work_atoms else "unblock-self"
    return Desugared(
        hold_job=not work_atoms,
        hold_work=bool(work_atoms),
        callback=CallbackSpec(trigger, CallbackLanguage.QUBE, code),
        origins=tuple(origins),
    )


def read_dependency(text: str, path: str) -> tuple[Desugared | None, list[FieldError]]:
    """Desugar a job's ``dependency`` attribute, or say where in it the problem is.

    ``path`` is the job's field path (``jobs[3]``); an error names ``<path>.dependency`` and
    the offset inside the text.
    """
    if not text.strip():
        return None, []
    try:
        return desugar_dependency(text), []
    except TriggerSyntaxError as error:
        return None, [FieldError(f"{path}.dependency", f"{error.message} (offset {error.offset})")]


def hold(job: Job, desugared: Desugared) -> None:
    """Put the holds a dependency asks for on a job that is not yet stored."""
    if desugared.hold_job:
        job.blocked = True
    if desugared.hold_work:
        for work in job.work:
            if work.status is WorkStatus.PENDING:
                job.set_work_status(work, WorkStatus.BLOCKED)
    job.status = job.derived_status()
