"""Checking a submission and turning job specs into jobs.

A submission is checked whole before anything is created, and every problem is reported with
its field path (``jobs[2].label``), so a client can fix all of them in one go and a rejected
submission changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import replace
from typing import Protocol

from .errors import FieldError as FieldError
from .errors import InvalidRequest
from .frames import FrameRangeError, parse_frame_range
from .limits import DEFAULT_LIMITS, Limits
from .model import (
    DEFAULT_PRIORITY,
    CallbackSpec,
    Job,
    JobSpec,
    Prototype,
    Subjob,
    WorkItem,
    WorkSpec,
)
from .states import JobStatus, WorkStatus

LABEL_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
ENV_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_LABELS = frozenset({"self", "parent"})
MAX_JOBS_PER_SUBMIT = DEFAULT_LIMITS.jobs_per_submit
MAX_CPUS = DEFAULT_LIMITS.cpus_per_job
MAX_NAME_LENGTH = DEFAULT_LIMITS.name_chars
NUL_MESSAGE = "contains a NUL byte"


class SubmissionRejected(InvalidRequest):
    """A request the core's validation refuses; carries every problem found."""


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


def work_names_for(spec: JobSpec, limits: Limits = DEFAULT_LIMITS) -> list[WorkSpec]:
    """The job's work items: its agenda, its frame range, or one item per instance.

    A cmdline job has no agenda in Qube; each instance runs the command once. Modelling those
    runs as work items named ``0`` .. ``cpus-1`` gives every job the same shape.
    """
    if spec.agenda:
        return list(spec.agenda)
    if spec.prototype is Prototype.CMDRANGE:
        frames = parse_frame_range(spec.frame_range, limits.work_items_per_job)
        return [WorkSpec(_pad(frame, spec.padding)) for frame in frames]
    return [WorkSpec(str(i)) for i in range(max(spec.cpus, 1))]


def work_items_for(spec: JobSpec, limits: Limits = DEFAULT_LIMITS) -> list[WorkItem]:
    """A validated, normalized spec's work items; pure, so it may run off the event loop."""
    return [
        WorkItem(index=i, name=w.name, status=w.status)
        for i, w in enumerate(work_names_for(spec, limits))
    ]


def _pad(frame: int, padding: int) -> str:
    return str(frame).zfill(padding) if padding > 0 else str(frame)


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _key(key: str) -> str:
    """A map key as it appears in a field path: quoted, and cut short when it is long."""
    return repr(key if len(key) <= 40 else key[:40] + "...")


class _JobCounts(Protocol):
    """The containers of a job as a request carries them (a protobuf JobSpec, or a JobSpec)."""

    @property
    def agenda(self) -> Sized: ...

    @property
    def env(self) -> Sized: ...

    @property
    def data(self) -> Sized: ...

    @property
    def callbacks(self) -> Sequence[_CallbackCounts]: ...


class _CallbackCounts(Protocol):
    @property
    def criteria(self) -> Sized: ...

    @property
    def include_data(self) -> Sized: ...


def container_problems(
    jobs: Sequence[_JobCounts], request_bytes: int = 0, limits: Limits = DEFAULT_LIMITS
) -> list[FieldError]:
    """The count limits of a request's lists and maps, checked before anything is converted.

    Converting a request costs time in proportion to its entries, on the event loop; counting
    them costs nothing. A request refused here is refused before any other work.
    """
    errors: list[FieldError] = []
    if request_bytes > limits.request_bytes:
        errors.append(
            FieldError(
                "request",
                f"the request is {request_bytes} bytes; a Submit is at most "
                f"{limits.request_bytes} bytes (split it into several)",
            )
        )
    if len(jobs) > limits.jobs_per_submit:
        errors.append(
            FieldError(
                "jobs",
                f"{len(jobs)} jobs; a Submit has at most {limits.jobs_per_submit} "
                "(split it into several, in the same pgrp)",
            )
        )
    if errors:
        return errors
    for index, job in enumerate(jobs):
        path = f"jobs[{index}]"
        for field, count, limit in (
            ("agenda", len(job.agenda), limits.work_items_per_job),
            ("env", len(job.env), limits.env_vars),
            ("data", len(job.data), limits.data_entries),
            ("callbacks", len(job.callbacks), limits.callbacks_per_job),
        ):
            if count > limit:
                errors.append(FieldError(f"{path}.{field}", f"{count} entries; at most {limit}"))
        if len(job.callbacks) > limits.callbacks_per_job:
            continue
        for number, callback in enumerate(job.callbacks):
            where = f"{path}.callbacks[{number}]"
            for field, count, limit in (
                ("criteria", len(callback.criteria), limits.criteria_entries),
                ("include_data", len(callback.include_data), limits.include_data_entries),
            ):
                if count > limit:
                    errors.append(
                        FieldError(f"{where}.{field}", f"{count} entries; at most {limit}")
                    )
    return errors


class _Checker:
    """Collects size and NUL problems of one job's fields under their paths."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[FieldError] = []

    def bad(self, field: str, message: str) -> None:
        self.errors.append(FieldError(f"{self.path}.{field}" if field else self.path, message))

    def text(self, field: str, value: str, limit: int, *, unit: str = "bytes") -> None:
        """``value`` has no NUL and is within ``limit`` (characters or bytes)."""
        if "\x00" in value:
            self.bad(field, NUL_MESSAGE)
        size = _bytes(value) if unit == "bytes" else len(value)
        if size > limit:
            self.bad(field, f"{size} {unit}; at most {limit}")

    def mapping(
        self,
        field: str,
        values: Mapping[str, str],
        *,
        entries: int,
        key_bytes: int,
        value_bytes: int,
        total_bytes: int,
    ) -> None:
        if len(values) > entries:
            self.bad(field, f"{len(values)} entries; at most {entries}")
            return
        total = 0
        for key, value in values.items():
            where = f"{field}[{_key(key)}]"
            if "\x00" in key:
                self.bad(where, "the name " + NUL_MESSAGE)
            elif _bytes(key) > key_bytes:
                self.bad(where, f"the name is {_bytes(key)} bytes; at most {key_bytes}")
            self.text(where, value, value_bytes)
            total += _bytes(key) + _bytes(value) + 2
        if total > total_bytes:
            self.bad(field, f"{total} bytes in all; at most {total_bytes}")

    def names(self, field: str, values: Iterable[str], entries: int, key_bytes: int) -> None:
        names = list(values)
        if len(names) > entries:
            self.bad(field, f"{len(names)} entries; at most {entries}")
            return
        for index, name in enumerate(names):
            self.text(f"{field}[{index}]", name, key_bytes)


def check_callback_sizes(
    spec: CallbackSpec, path: str, limits: Limits = DEFAULT_LIMITS
) -> list[FieldError]:
    """A callback's size limits and NUL bytes, checked before anything is compiled."""
    check = _Checker(path)
    check.text("triggers", spec.triggers, limits.trigger_chars, unit="characters")
    check.text("language", spec.language, limits.language_chars, unit="characters")
    check.text("code", spec.code, limits.code_bytes)
    check.mapping(
        "criteria",
        spec.criteria,
        entries=limits.criteria_entries,
        key_bytes=limits.criteria_key_bytes,
        value_bytes=limits.criteria_value_bytes,
        total_bytes=limits.criteria_entries * limits.criteria_value_bytes,
    )
    check.names(
        "include_data", spec.include_data, limits.include_data_entries, limits.data_key_bytes
    )
    return check.errors


def _size_problems(spec: JobSpec, path: str, limits: Limits) -> list[FieldError]:
    """Every size limit and NUL byte of one job (its counts were checked before)."""
    check = _Checker(path)
    check.text("name", spec.name, limits.name_chars, unit="characters")
    check.text("label", spec.label, limits.label_chars, unit="characters")
    check.text("user", spec.user, limits.name_chars, unit="characters")
    check.text("command.cmdline", spec.cmdline, limits.cmdline_bytes)
    check.text("command.frame_range", spec.frame_range, limits.frame_range_chars, unit="characters")
    if spec.padding > limits.padding:
        check.bad("command.padding", f"{spec.padding}; at most {limits.padding}")
    check.text("cwd", spec.cwd, limits.cwd_bytes)
    check.text("mailaddress", spec.mailaddress, limits.mailaddress_bytes)
    check.text("dependency", spec.dependency, limits.dependency_chars, unit="characters")
    check.mapping(
        "env",
        spec.env,
        entries=limits.env_vars,
        key_bytes=limits.env_name_bytes,
        value_bytes=limits.env_value_bytes,
        total_bytes=limits.env_total_bytes,
    )
    check.mapping(
        "data",
        spec.data,
        entries=limits.data_entries,
        key_bytes=limits.data_key_bytes,
        value_bytes=limits.data_value_bytes,
        total_bytes=limits.data_total_bytes,
    )
    # The agenda's and the callbacks' counts: container_problems, before this.
    for index, callback in enumerate(spec.callbacks):
        check.errors.extend(check_callback_sizes(callback, f"{path}.callbacks[{index}]", limits))
    return check.errors


def _work_count(spec: JobSpec, limits: Limits) -> int:
    """How many work items a job (whose sizes are valid) will have; 0 if it cannot tell."""
    if spec.agenda:
        return len(spec.agenda)
    if spec.prototype is Prototype.CMDRANGE:
        try:
            return len(parse_frame_range(spec.frame_range, limits.work_items_per_job))
        except FrameRangeError:
            return 0
    return max(spec.cpus, 1)


def validate_submission(
    specs: Sequence[JobSpec],
    pgrp: int,
    lookup: JobLookup,
    limits: Limits = DEFAULT_LIMITS,
    *,
    request_bytes: int = 0,
) -> list[FieldError]:
    """Every problem of a submission; an empty list means it can be applied as a whole."""
    errors = container_problems(specs, request_bytes, limits)
    if errors:
        return errors
    errors = intrinsic_problems(specs, limits, request_bytes=request_bytes)
    return errors + context_problems(specs, pgrp, lookup)


def intrinsic_problems(
    specs: Sequence[JobSpec], limits: Limits = DEFAULT_LIMITS, *, request_bytes: int = 0
) -> list[FieldError]:
    """The problems a submission has by itself, whatever is stored: limits, NUL bytes,
    malformed fields, labels used twice. Pure, so it may run off the event loop.

    The counts are checked first: a submission with too many entries is refused before any
    work that grows with its size.
    """
    errors: list[FieldError] = container_problems(specs, request_bytes, limits)
    if errors:
        return errors
    if not specs:
        errors.append(FieldError("jobs", "a submission needs at least one job"))
    for index, spec in enumerate(specs):
        errors.extend(_size_problems(spec, f"jobs[{index}]", limits))
    work_items = instances = callbacks = code_bytes = 0
    for spec in specs:
        if not 0 <= spec.cpus <= limits.cpus_per_job:
            continue  # refused on its own; counting it would only repeat that
        work_items += _work_count(spec, limits)
        instances += max(spec.cpus, 1)
        # A dependency becomes a callback, compiled on the loop like the others.
        callbacks += len(spec.callbacks) + bool(spec.dependency.strip())
        code_bytes += sum(_bytes(c.code) for c in spec.callbacks)
    for count, limit, what in (
        (work_items, limits.work_items_per_submit, "work items"),
        (instances, limits.instances_per_submit, "instances (cpus)"),
        (callbacks, limits.callbacks_per_submit, "callbacks (dependencies included)"),
        (code_bytes, limits.code_bytes_per_submit, "bytes of callback code"),
    ):
        if count > limit:
            errors.append(
                FieldError("jobs", f"{count} {what} in all; a Submit has at most {limit}")
            )
    first_use: dict[str, int] = {}
    for index, spec in enumerate(specs):
        path = f"jobs[{index}]"
        errors.extend(_validate_job(spec, path, limits))
        if len(spec.label) > limits.label_chars:
            continue
        if spec.label and spec.label in first_use:
            errors.append(
                FieldError(
                    f"{path}.label",
                    f"duplicate label {spec.label!r} (also jobs[{first_use[spec.label]}]); "
                    "labels are unique within a process group",
                )
            )
        elif spec.label:
            first_use[spec.label] = index
    return errors


def context_problems(specs: Sequence[JobSpec], pgrp: int, lookup: JobLookup) -> list[FieldError]:
    """The problems a submission has against what is stored: its group, parents, labels.

    Cheap (a lookup per job); checked on the event loop right before the submission is
    applied, so that nothing can change in between.
    """
    errors: list[FieldError] = []
    existing_labels: set[str] = set()
    if pgrp < 0:
        errors.append(FieldError("pgrp", "must not be negative"))
    elif pgrp:
        group_leader = lookup.get_job(pgrp)
        if group_leader is None or group_leader.pgrp != pgrp:
            errors.append(FieldError("pgrp", f"process group {pgrp} does not exist"))
        else:
            existing_labels = lookup.labels_in_pgrp(pgrp)
    for index, spec in enumerate(specs):
        path = f"jobs[{index}]"
        if spec.pid < 0:
            errors.append(FieldError(f"{path}.pid", "must not be negative"))
        elif spec.pid:
            parent = lookup.get_job(spec.pid)
            if parent is None:
                errors.append(FieldError(f"{path}.pid", f"parent job {spec.pid} does not exist"))
            elif parent.removed:
                errors.append(FieldError(f"{path}.pid", f"parent job {spec.pid} was removed"))
        if spec.label and spec.label in existing_labels:
            errors.append(
                FieldError(
                    f"{path}.label",
                    f"label {spec.label!r} is already used in process group {pgrp}",
                )
            )
    return errors


def _validate_job(spec: JobSpec, path: str, limits: Limits) -> list[FieldError]:
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
            bad(f"env[{_key(key)}]", "not a valid environment variable name")
    for key in spec.data:
        if not key:
            bad("data", "keys must not be empty")
    return errors


def unplaced_job(spec: JobSpec, limits: Limits = DEFAULT_LIMITS) -> Job:
    """A validated, normalized spec's job before it has an id, group, label or owner.

    Pure, and what grows with the job (work items, instances) is built here: so it may run
    off the event loop, and :func:`place_job` finish it there in constant time.
    """
    return make_job(spec, 0, 0, "", "", 0.0, work_items_for(spec, limits))


def place_job(job: Job, job_id: int, pgrp: int, label: str, user: str, now: float) -> Job:
    """Give an :func:`unplaced_job` its identity, as :func:`make_job` would have."""
    job.id, job.pgrp, job.label, job.user, job.submit_time = job_id, pgrp, label, user, now
    return job


def make_job(
    spec: JobSpec,
    job_id: int,
    pgrp: int,
    label: str,
    user: str,
    now: float,
    work: list[WorkItem] | None = None,
) -> Job:
    """A new job from a validated, normalized spec (``work``: its items, built beforehand)."""
    work = work if work is not None else work_items_for(spec)
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
