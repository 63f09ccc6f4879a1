"""Qube's ``dependency`` attribute, desugared into holds plus callbacks.

``"12, complete-job-7, link-complete-job-comp, link-done-work-render"`` means: wait for all of
them. Whole-job links hold the job and release it with ``unblock-self``; work links
(frame-to-frame) hold every work item and release each with ``unblock-work-self`` once the
same-named item of every linked job is done. A mix holds the work only and folds the job links
into the frame-to-frame trigger.

Qube's fourth form, ``info-<state>-{"1": ["540:3"], "*": ["600:*"], "": ["700"]}``, says per
frame what it waits for (``"*"``: each frame, ``""``: the whole job, ``"1"``: frame 1; values
``"JOB"``, ``"JOB:*"``, the corresponding frame, or ``"JOB:FRAME"``). It adds one callback per
named frame, acting on that frame through ``CallbackSpec.work``. A frame named in it waits for
its own entries *and* every ``*`` and whole-job entry: its callback folds them in, with ``*``
replaced by its name, and the callback for the other frames skips it
(``DependencyCallback.skip_work``): the ``*`` callback ignores its binding, and a whole-job
``unblock-self`` blocks it again in the same step. So nothing releases it before all hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import FieldError
from ..model import CallbackLanguage, CallbackSpec, Job, WorkItem
from ..states import WorkStatus
from .info_dict import InfoEntry, read_info_dict
from .syntax import TriggerSyntaxError, is_number

_STATES = "complete|done|failed|killed"
_LINK = re.compile(rf"^link-({_STATES})-(job|work|subjob)-(.+)$")
_COMPLETE_JOB = re.compile(r"^complete-job-(.+)$")
_INFO = re.compile(rf"^info-({_STATES})-(?=\{{)", re.DOTALL)
MAX_FRAME_ENTRIES = 100
"""Frame-specific keys of an info dependency (each becomes a callback, as callbacks_per_job)."""

Atoms = list[tuple[str, int]]  # (trigger atom, offset of what it came from in the dependency)


# No frames skipped: one empty set shared by every callback (each set is 216 bytes).
NO_WORK: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DependencyCallback:
    """One callback a dependency adds, and where each part of its trigger came from."""

    callback: CallbackSpec
    # (offset of an atom in the callback's trigger, offset of its entry in the dependency)
    origins: tuple[tuple[int, int], ...]
    # Work items its ``*`` binding must not act on: they wait under callbacks of their own.
    skip_work: frozenset[str] = frozenset()
    # Where the frame named by ``callback.work`` is written in the dependency.
    work_origin: int = 0

    def origin_of(self, trigger_offset: int) -> int:
        """Where, in the dependency text, the trigger text at ``trigger_offset`` came from."""
        best = 0
        for generated, original in self.origins:
            if generated <= trigger_offset:
                best = original
        return best


@dataclass(frozen=True, slots=True)
class Desugared:
    """What a dependency adds to a job: holds on the job or its work, and callbacks."""

    hold_job: bool
    hold_work: bool
    callbacks: tuple[DependencyCallback, ...]
    # Work items held one by one (an info dependency's named frames, when not all are held).
    hold_frames: tuple[str, ...] = field(default=())


@dataclass(slots=True)
class _Needs:
    job: Atoms = field(default_factory=list)  # no '*': the whole job waits for them
    star: Atoms = field(default_factory=list)  # '*': each frame waits for its namesake
    frames: dict[str, tuple[int, Atoms]] = field(default_factory=dict)  # frame -> its own


def desugar_dependency(text: str) -> Desugared:
    needs = _Needs()
    for item, offset in _entries(text):
        if is_number(item):
            needs.job.append((f"complete-job-{item}", offset))
        elif _COMPLETE_JOB.match(item):
            needs.job.append((item, offset))
        elif link := _LINK.match(item):
            name, kind, target = link.groups()
            if kind == "subjob":
                raise TriggerSyntaxError(
                    "subjob links are not supported: use link-NAME-work-X or link-NAME-job-X",
                    offset,
                )
            if kind == "job":
                needs.job.append((f"{name}-job-{target}", offset))
            else:
                needs.star.append((f"{name}-work-{target}-*", offset))
        elif info := _INFO.match(item):
            _add_info(needs, info.group(1), read_info_dict(item[info.end() :], offset + info.end()))
        else:
            raise TriggerSyntaxError(
                f"cannot read dependency {item[:80]!r}: use a job id, complete-job-X, "
                "link-(complete|done|failed|killed)-(job|work)-X or info-STATE-{...}",
                offset,
            )
    return _callbacks(needs)


def _entries(text: str) -> Iterable[tuple[str, int]]:
    """The comma-separated entries and their offsets; commas inside ``{...}`` do not count."""
    depth, quoted, begin = 0, False, 0
    for at, char in enumerate(text):
        if char == '"' and depth:
            quoted = not quoted
        elif quoted:
            continue
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth = max(depth - 1, 0)
        elif char == "," and not depth:
            yield _entry(text, begin, at)
            begin = at + 1
    yield _entry(text, begin, len(text))  # the last one, unclosed braces and all


def _entry(text: str, begin: int, end: int) -> tuple[str, int]:
    piece = text[begin:end]
    offset = begin + len(piece) - len(piece.lstrip())
    if not piece.strip():
        raise TriggerSyntaxError("empty entry in the dependency list", offset)
    return piece.strip(), offset


def _add_info(needs: _Needs, state: str, entries: list[InfoEntry]) -> None:
    named = [e for e in entries if e.key not in ("", "*")]
    if len(named) + len(needs.frames) > MAX_FRAME_ENTRIES:
        raise TriggerSyntaxError(
            f"at most {MAX_FRAME_ENTRIES} frame-specific entries", named[-1].offset
        )
    for entry in entries:
        atoms: Atoms = []
        for value in entry.values:
            if value.frame == "*" and entry.key == "":
                raise TriggerSyntaxError(
                    f'{value.job}:* under the key "" (the whole job) has no frame to '
                    'correspond to: put it under "*"',
                    value.offset,
                )
            if value.frame == "*":
                frame = "*" if entry.key == "*" else entry.key
                atoms.append((f"{state}-work-{value.job}-{frame}", value.offset))
            elif value.frame:
                atoms.append((f"{state}-work-{value.job}-{value.frame}", value.offset))
            else:
                atoms.append((f"{state}-job-{value.job}", value.offset))
        if entry.key == "*":
            for atom in atoms:  # a '*' entry that names no frame: the whole job waits for it
                (needs.star if atom[0].endswith("-*") else needs.job).append(atom)
        elif entry.key == "":
            needs.job.extend(atoms)
        else:
            if entry.key in needs.frames:
                raise TriggerSyntaxError(
                    f"frame {entry.key!r} has entries in two info dependencies: use one",
                    entry.offset,
                )
            needs.frames[entry.key] = (entry.offset, atoms)


def _callbacks(needs: _Needs) -> Desugared:
    if not needs.frames:
        code = "unblock-work-self" if needs.star else "unblock-self"
        return Desugared(
            hold_job=not needs.star,
            hold_work=bool(needs.star),
            callbacks=(_callback(needs.star + needs.job, code),),
        )
    # The first callback releases the frames no key names: each as its namesakes are done
    # ('*' entries), or all at once (whole-job entries only; the named frames are blocked in
    # the same step, see callbacks.qube_run_actions). Each named frame is then released by its
    # own callback alone, which folds in everything else it waits for ('*' read as its name).
    skip = frozenset(needs.frames) or NO_WORK
    callbacks: list[DependencyCallback] = []
    if needs.star:
        callbacks.append(_callback(needs.star + needs.job, "unblock-work-self", skip_work=skip))
    elif needs.job:
        callbacks.append(_callback(needs.job, "unblock-self", skip_work=skip))
    for frame, (key_offset, own) in needs.frames.items():
        folded = [(atom[:-1] + frame, at) for atom, at in needs.star]
        callbacks.append(
            _callback(
                own + folded + needs.job, "unblock-work-self", work=frame, work_origin=key_offset
            )
        )
    return Desugared(
        hold_job=not needs.star and bool(needs.job),
        hold_work=bool(needs.star),
        callbacks=tuple(callbacks),
        hold_frames=() if needs.star or needs.job else tuple(needs.frames),
    )


def _callback(
    entries: Atoms,
    code: str,
    *,
    work: str = "",
    work_origin: int = 0,
    skip_work: frozenset[str] = frozenset(),
) -> DependencyCallback:
    origins: list[tuple[int, int]] = []
    cursor = 0
    for atom, offset in entries:
        origins.append((cursor, offset))
        cursor += len(atom) + len(" && ")
    trigger = " && ".join(atom for atom, _ in entries)
    return DependencyCallback(
        callback=CallbackSpec(trigger, CallbackLanguage.QUBE, code, work=work),
        origins=tuple(origins),
        skip_work=skip_work,
        work_origin=work_origin,
    )


def skipped_work(specs: Iterable[CallbackSpec]) -> frozenset[str]:
    """The frames a dependency's ``*`` callback skips, found again from its callbacks' specs
    (after a restart): those its frame-specific callbacks act on."""
    return frozenset(spec.work for spec in specs if spec.work) or NO_WORK


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
    held = job.work if desugared.hold_work else _named(job, desugared.hold_frames)
    for work in held:
        if work.status is WorkStatus.PENDING:
            job.set_work_status(work, WorkStatus.BLOCKED)
    job.status = job.derived_status()


def _named(job: Job, names: tuple[str, ...]) -> list[WorkItem]:
    return [w for w in (job.work_named(name) for name in names) if w is not None]
