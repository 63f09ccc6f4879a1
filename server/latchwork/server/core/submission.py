"""Checking a submission: every problem found before anything is created.

A submission is checked whole before anything is created, and every problem is reported with
its field path (``jobs[2].label``), so a client can fix all of them in one go and a rejected
submission changes nothing. The checks come in layers, each in its own module: the counts and
sizes (:mod:`.size_checks`), the form of each job's fields (:mod:`.spec_checks`), then, here,
what only the whole submission or the stored jobs can tell (totals, labels used twice, the
process group, parents). Turning the checked specs into jobs is :mod:`.job_building`; its
functions, and the checks' public names, are re-exported here, where callers import them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from .errors import FieldError as FieldError
from .errors import InvalidRequest
from .job_building import make_job as make_job
from .job_building import normalize as normalize
from .job_building import place_job as place_job
from .job_building import unplaced_job as unplaced_job
from .job_building import work_items_for as work_items_for
from .job_building import work_names_for as work_names_for
from .limits import DEFAULT_LIMITS, Limits
from .model import Job, JobSpec
from .size_checks import NUL_MESSAGE as NUL_MESSAGE
from .size_checks import byte_size, job_size_problems
from .size_checks import check_callback_sizes as check_callback_sizes
from .size_checks import container_problems as container_problems
from .spec_checks import ENV_NAME_PATTERN as ENV_NAME_PATTERN
from .spec_checks import LABEL_PATTERN as LABEL_PATTERN
from .spec_checks import RESERVED_LABELS as RESERVED_LABELS
from .spec_checks import routing_problems as routing_problems
from .spec_checks import spec_problems, work_count

MAX_JOBS_PER_SUBMIT = DEFAULT_LIMITS.jobs_per_submit
MAX_CPUS = DEFAULT_LIMITS.cpus_per_job
MAX_NAME_LENGTH = DEFAULT_LIMITS.name_chars


class SubmissionRejected(InvalidRequest):
    """A request the core's validation refuses; carries every problem found."""


class JobLookup(Protocol):
    """What validation needs to know about jobs already stored."""

    def get_job(self, job_id: int) -> Job | None: ...

    def labels_in_pgrp(self, pgrp: int) -> set[str]: ...


def validate_submission(
    specs: Sequence[JobSpec],
    pgrp: int,
    lookup: JobLookup,
    limits: Limits = DEFAULT_LIMITS,
    *,
    request_bytes: int = 0,
    known_globals: Collection[str] | None = None,
) -> list[FieldError]:
    """Every problem of a submission; an empty list means it can be applied as a whole."""
    errors = container_problems(specs, request_bytes, limits)
    if errors:
        return errors
    errors = intrinsic_problems(
        specs, limits, request_bytes=request_bytes, known_globals=known_globals
    )
    return errors + context_problems(specs, pgrp, lookup)


def intrinsic_problems(
    specs: Sequence[JobSpec],
    limits: Limits = DEFAULT_LIMITS,
    *,
    request_bytes: int = 0,
    known_globals: Collection[str] | None = None,
) -> list[FieldError]:
    """The problems a submission has by itself, whatever is stored: limits, NUL bytes,
    malformed fields (routing attributes included: a ``global.<name>`` reservation must name
    one of ``known_globals``, the configured global resources, unless None), labels used
    twice. Pure, so it may run off the event loop.

    The counts are checked first: a submission with too many entries is refused before any
    work that grows with its size.
    """
    errors: list[FieldError] = container_problems(specs, request_bytes, limits)
    if errors:
        return errors
    if not specs:
        errors.append(FieldError("jobs", "a submission needs at least one job"))
    for index, spec in enumerate(specs):
        errors.extend(job_size_problems(spec, f"jobs[{index}]", limits))
    work_items = instances = callbacks = code_bytes = 0
    for spec in specs:
        if not 0 <= spec.cpus <= limits.cpus_per_job:
            continue  # refused on its own; counting it would only repeat that
        work_items += work_count(spec, limits)
        instances += max(spec.cpus, 1)
        # A dependency becomes a callback, compiled on the loop like the others.
        callbacks += len(spec.callbacks) + bool(spec.dependency.strip())
        code_bytes += sum(byte_size(c.code) for c in spec.callbacks)
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
        errors.extend(spec_problems(spec, path, limits, known_globals))
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
