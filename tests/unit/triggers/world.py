"""Shared builders for the trigger tests: a small world of jobs to resolve triggers against."""

from __future__ import annotations

from dataclasses import dataclass, field

from latchwork.server.core.model import Job
from latchwork.server.core.triggers.resolve import ResolveContext

from ..factories import agenda_spec, frames_spec, new_job


@dataclass
class World:
    """Jobs by id and by label in one process group (pgrp 1)."""

    jobs: dict[int, Job] = field(default_factory=dict)

    def add(self, job: Job) -> Job:
        self.jobs[job.id] = job
        return job

    def by_label(self, label: str) -> Job | None:
        return next((j for j in self.jobs.values() if j.label == label), None)

    def context(self, owner: Job, *, allow_global: bool = False) -> ResolveContext:
        return ResolveContext(
            owner=owner,
            job_by_id=self.jobs.get,
            job_by_label=self.by_label,
            allow_global=allow_global,
        )


def standard_world() -> World:
    """1 A (frames 1-3), 2 B (frames 1-3), 3 C (agenda 1-200, x), 4 comp (pid 1, 2 cpus)."""
    world = World()
    world.add(new_job(frames_spec("1-3"), job_id=1, label="A", pgrp=1))
    world.add(new_job(frames_spec("1-3"), job_id=2, label="B", pgrp=1))
    world.add(new_job(agenda_spec("1-200", "x"), job_id=3, label="C", pgrp=1))
    world.add(new_job(frames_spec("1-3", pid=1, cpus=2), job_id=4, label="comp", pgrp=1))
    return world
