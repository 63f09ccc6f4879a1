"""The form of one job spec's fields: a label, a command, numbers in range, an agenda, the
routing attributes.

Checked after the sizes (:mod:`.size_checks`), so nothing here meets a field too large to
look at; every problem is reported under its field path (and, for the routing attributes, the
character offset inside the text, as a trigger's).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from .errors import FieldError
from .frames import FrameRangeError, parse_frame_range
from .limits import Limits
from .model import JobSpec, Prototype
from .routing.routing import ROUTING_ATTRIBUTES, RoutingRejected, parse_routing
from .size_checks import NUL_MESSAGE, key_in_path
from .states import JobStatus, WorkStatus

LABEL_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
ENV_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_LABELS = frozenset({"self", "parent"})


def spec_problems(
    spec: JobSpec, path: str, limits: Limits, known_globals: Collection[str] | None = None
) -> list[FieldError]:
    """The problems of one job's fields, under ``path`` (``jobs[2]``); its sizes were
    checked before (a label too long, say, is not looked at again). ``known_globals``: the
    configured global resources a ``global.<name>`` reservation may name (None: any)."""
    errors: list[FieldError] = []

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(f"{path}.{field}", message))

    if spec.label and len(spec.label) <= limits.label_chars:  # else refused for its size
        if not LABEL_PATTERN.fullmatch(spec.label):
            bad("label", f"{spec.label!r} is not a label: use [A-Za-z_][A-Za-z0-9_.]*")
        elif spec.label in RESERVED_LABELS:
            bad("label", f"{spec.label!r} is reserved in trigger expressions")
    if spec.status not in (JobStatus.PENDING, JobStatus.BLOCKED):
        bad("status", f"a job is submitted pending or blocked, not {spec.status.value}")
    if not spec.cmdline.strip():
        bad("command.cmdline", "required: the command line to run")
    if spec.cpus < 0 or spec.cpus > limits.cpus_per_job:
        bad("cpus", f"must be between 1 and {limits.cpus_per_job}")
    if spec.priority < 0:
        bad("priority", "must not be negative")
    for name in ("timeout", "agenda_timeout", "retry", "padding"):
        if getattr(spec, name) < 0:
            bad(name, "must not be negative")
    if spec.prototype is Prototype.CMDRANGE:
        if not spec.agenda and not spec.frame_range:
            bad("agenda", "a cmdrange job needs an agenda or command.frame_range")
        elif spec.frame_range and not spec.agenda:
            try:
                parse_frame_range(spec.frame_range, limits.work_items_per_job)
            except FrameRangeError as error:
                bad("command.frame_range", str(error))
    elif spec.agenda:
        bad("agenda", "an agenda needs prototype 'cmdrange'")
    seen: dict[str, int] = {}
    for work_index, work in enumerate(spec.agenda):
        work_path = f"agenda[{work_index}]"
        if not work.name:
            bad(f"{work_path}.name", "required")
        elif "\x00" in work.name:
            bad(f"{work_path}.name", NUL_MESSAGE)
        elif any(ch.isspace() for ch in work.name) or len(work.name) > limits.name_chars:
            bad(
                f"{work_path}.name",
                f"a work name has no whitespace and at most {limits.name_chars} characters",
            )
        elif work.name in seen:
            bad(
                f"{work_path}.name",
                f"duplicate work name {work.name!r} (also agenda[{seen[work.name]}])",
            )
        else:
            seen[work.name] = work_index
        if work.status not in (WorkStatus.PENDING, WorkStatus.BLOCKED):
            bad(f"{work_path}.status", "work is submitted pending or blocked")
    for key in spec.env:
        if "\x00" not in key and not ENV_NAME_PATTERN.fullmatch(key):
            bad(f"env[{key_in_path(key)}]", "not a valid environment variable name")
    for key in spec.data:
        if not key:
            bad("data", "keys must not be empty")
    errors.extend(routing_problems(spec, path, known_globals))
    return errors


def routing_attributes(spec: JobSpec) -> dict[str, str]:
    """The job's Qube routing attributes by name, as :func:`parse_routing` reads them."""
    return {name: getattr(spec, name) for name in ROUTING_ATTRIBUTES}


def routing_problems(
    spec: JobSpec, path: str, known_globals: Collection[str] | None = None
) -> list[FieldError]:
    """Every routing attribute that cannot be read (docs/routing.md), each under its field
    path with the offset inside its text: ``jobs[3].requirements: ... (offset 12)``."""
    try:
        parse_routing(routing_attributes(spec), known_globals)
    except RoutingRejected as rejected:
        return [
            FieldError(
                f"{path}.{error.field}",
                f"{error.message} (offset {error.offset})"
                + (f"; {error.hint}" if error.hint else ""),
            )
            for error in rejected.errors
        ]
    return []


def work_count(spec: JobSpec, limits: Limits) -> int:
    """How many work items a job (whose sizes are valid) will have; 0 if it cannot tell."""
    if spec.agenda:
        return len(spec.agenda)
    if spec.prototype is Prototype.CMDRANGE:
        try:
            return len(parse_frame_range(spec.frame_range, limits.work_items_per_job))
        except FrameRangeError:
            return 0
    return max(spec.cpus, 1)
