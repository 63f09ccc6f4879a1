"""Turning validated job specs into jobs: defaults filled in, work items and instances built.

Everything here is pure, and what grows with a job (its work items) is built by
:func:`unplaced_job`, off the event loop; :func:`place_job` then gives it its identity on the
loop in constant time.
"""

from __future__ import annotations

from dataclasses import replace

from .frames import parse_frame_range
from .limits import DEFAULT_LIMITS, Limits
from .model import DEFAULT_PRIORITY, Job, JobSpec, Prototype, Subjob, WorkItem, WorkSpec
from .states import JobStatus


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
    runs as work items named ``0`` .. ``cpus-1`` gives every job the same shape. Frames are
    named by their number as written (``padding`` formats what the command sees, not the name:
    core.command).
    """
    if spec.agenda:
        return list(spec.agenda)
    if spec.prototype is Prototype.CMDRANGE:
        frames = parse_frame_range(spec.frame_range, limits.work_items_per_job)
        return [WorkSpec(str(frame)) for frame in frames]
    return [WorkSpec(str(i)) for i in range(max(spec.cpus, 1))]


def work_items_for(spec: JobSpec, limits: Limits = DEFAULT_LIMITS) -> list[WorkItem]:
    """A validated, normalized spec's work items; pure, so it may run off the event loop."""
    return [
        WorkItem(index=i, name=w.name, status=w.status)
        for i, w in enumerate(work_names_for(spec, limits))
    ]


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
