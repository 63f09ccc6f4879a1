"""Checking a submission and turning job specs into jobs.

A submission is checked whole before anything is created, and every problem is reported with
its field path (``jobs[2].label``), so a client can fix all of them in one go and a rejected
submission changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from .frames import FrameRangeError, parse_frame_range
from .model import DEFAULT_PRIORITY, Job, JobSpec, Prototype, Subjob, WorkItem, WorkSpec
from .states import JobStatus, WorkStatus

LABEL_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
ENV_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_LABELS = frozenset({"self", "parent"})
MAX_JOBS_PER_SUBMIT = 100_000
MAX_CPUS = 10_000
MAX_NAME_LENGTH = 256


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem in a request: where it is and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SubmissionRejected(Exception):
    """A request that cannot be applied; carries every problem found."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


class JobLookup(Protocol):
    """What validation needs to know about jobs already stored."""

    def get_job(self, job_id: int) -> Job | None: ...

    def labels_in_pgrp(self, pgrp: int) -> set[str]: ...


def normalize(spec: JobSpec) -> JobSpec:
    """Fill in the defaults that proto3 zero values stand for."""
    return replace(
        spec,
        cpus=spec.cpus or 1,
        priority=spec.priority or DEFAULT_PRIORITY,
        status=spec.status if spec.status is JobStatus.BLOCKED else JobStatus.PENDING,
    )


def work_names_for(spec: JobSpec) -> list[WorkSpec]:
    """The job's work items: its agenda, its frame range, or one item per instance.

    A cmdline job has no agenda in Qube; each instance runs the command once. Modelling those
    runs as work items named ``0`` .. ``cpus-1`` gives every job the same shape.
    """
    if spec.agenda:
        return list(spec.agenda)
    if spec.prototype is Prototype.CMDRANGE:
        return [
            WorkSpec(_pad(frame, spec.padding)) for frame in parse_frame_range(spec.frame_range)
        ]
    return [WorkSpec(str(i)) for i in range(max(spec.cpus, 1))]


def _pad(frame: int, padding: int) -> str:
    return str(frame).zfill(padding) if padding > 0 else str(frame)


def validate_submission(specs: Sequence[JobSpec], pgrp: int, lookup: JobLookup) -> list[FieldError]:
    """Every problem of a submission; an empty list means it can be applied as a whole."""
    errors: list[FieldError] = []
    if not specs:
        errors.append(FieldError("jobs", "a submission needs at least one job"))
    if len(specs) > MAX_JOBS_PER_SUBMIT:
        errors.append(FieldError("jobs", f"at most {MAX_JOBS_PER_SUBMIT} jobs per submission"))
    existing_labels: set[str] = set()
    if pgrp < 0:
        errors.append(FieldError("pgrp", "must not be negative"))
    elif pgrp:
        group_leader = lookup.get_job(pgrp)
        if group_leader is None or group_leader.pgrp != pgrp:
            errors.append(FieldError("pgrp", f"process group {pgrp} does not exist"))
        else:
            existing_labels = lookup.labels_in_pgrp(pgrp)
    first_use: dict[str, int] = {}
    for index, spec in enumerate(specs):
        path = f"jobs[{index}]"
        errors.extend(_validate_job(spec, path, lookup))
        if spec.label:
            if spec.label in existing_labels:
                errors.append(
                    FieldError(
                        f"{path}.label",
                        f"label {spec.label!r} is already used in process group {pgrp}",
                    )
                )
            elif spec.label in first_use:
                errors.append(
                    FieldError(
                        f"{path}.label",
                        f"duplicate label {spec.label!r} (also jobs[{first_use[spec.label]}]); "
                        "labels are unique within a process group",
                    )
                )
            else:
                first_use[spec.label] = index
    return errors


def _validate_job(spec: JobSpec, path: str, lookup: JobLookup) -> list[FieldError]:
    errors: list[FieldError] = []

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(f"{path}.{field}", message))

    if spec.label:
        if not LABEL_PATTERN.fullmatch(spec.label):
            bad("label", f"{spec.label!r} is not a label: use [A-Za-z_][A-Za-z0-9_.]*")
        elif spec.label in RESERVED_LABELS:
            bad("label", f"{spec.label!r} is reserved in trigger expressions")
    if len(spec.name) > MAX_NAME_LENGTH:
        bad("name", f"longer than {MAX_NAME_LENGTH} characters")
    if spec.pid < 0:
        bad("pid", "must not be negative")
    elif spec.pid:
        parent = lookup.get_job(spec.pid)
        if parent is None:
            bad("pid", f"parent job {spec.pid} does not exist")
        elif parent.removed:
            bad("pid", f"parent job {spec.pid} was removed")
    if spec.status not in (JobStatus.PENDING, JobStatus.BLOCKED):
        bad("status", f"a job is submitted pending or blocked, not {spec.status.value}")
    if not spec.cmdline.strip():
        bad("command.cmdline", "required: the command line to run")
    if spec.cpus < 0 or spec.cpus > MAX_CPUS:
        bad("cpus", f"must be between 1 and {MAX_CPUS}")
    if spec.priority < 0:
        bad("priority", "must not be negative")
    for name in ("timeout", "agenda_timeout", "retry", "padding"):
        if getattr(spec, name) < 0:
            bad(name, "must not be negative")
    if spec.prototype is Prototype.CMDRANGE:
        if not spec.agenda and not spec.frame_range:
            bad("agenda", "a cmdrange job needs an agenda or command.frame_range")
        elif spec.frame_range:
            try:
                parse_frame_range(spec.frame_range)
            except FrameRangeError as error:
                bad("command.frame_range", str(error))
    elif spec.agenda:
        bad("agenda", "an agenda needs prototype 'cmdrange'")
    seen: dict[str, int] = {}
    for work_index, work in enumerate(spec.agenda):
        work_path = f"agenda[{work_index}]"
        if not work.name:
            bad(f"{work_path}.name", "required")
        elif any(ch.isspace() for ch in work.name) or len(work.name) > MAX_NAME_LENGTH:
            bad(f"{work_path}.name", "a work name has no whitespace and at most 256 characters")
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
        if not ENV_NAME_PATTERN.fullmatch(key):
            bad(f"env[{key!r}]", "not a valid environment variable name")
    for key in spec.data:
        if not key:
            bad("data", "keys must not be empty")
    return errors


def make_job(spec: JobSpec, job_id: int, pgrp: int, label: str, user: str, now: float) -> Job:
    """A new job from a validated, normalized spec."""
    work = [
        WorkItem(index=i, name=w.name, status=w.status) for i, w in enumerate(work_names_for(spec))
    ]
    job = Job(
        id=job_id,
        pgrp=pgrp,
        label=label,
        spec=spec,
        user=user,
        submit_time=now,
        work=work,
        subjobs=[Subjob(i) for i in range(spec.cpus)],
        blocked=spec.status is JobStatus.BLOCKED,
    )
    job.status = job.derived_status()
    return job
