"""What one operation changed: the unit the store writes and the log publishes atomically."""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import Event
from .model import Job, Subjob, WorkItem
from .runs import CallbackRun
from .triggers.engine import Callback


@dataclass(slots=True)
class Changes:
    """Collected by transitions; written in one transaction, then acted on.

    Transitions never perform I/O. Whatever must happen outside the model (a process to kill,
    stop or continue) is recorded here as an effect for the adapters to carry out after the
    changes are stored.
    """

    now: float
    events: list[Event] = field(default_factory=list)
    new_jobs: list[Job] = field(default_factory=list)
    dirty_jobs: dict[int, Job] = field(default_factory=dict)
    dirty_work: dict[tuple[int, int], WorkItem] = field(default_factory=dict)
    dirty_subjobs: dict[tuple[int, int], Subjob] = field(default_factory=dict)
    # Jobs whose spec was changed after submit (core.modify): the store rewrites their spec
    # and drops the rows of instances taken off the end of their list.
    respecified: dict[int, Job] = field(default_factory=dict)
    made_pending: list[tuple[Job, WorkItem]] = field(default_factory=list)
    new_callbacks: list[Callback] = field(default_factory=list)
    dirty_callbacks: dict[int, Callback] = field(default_factory=dict)
    new_runs: list[CallbackRun] = field(default_factory=list)
    finished_runs: list[CallbackRun] = field(default_factory=list)
    # (callback, atom position, occurrence mark, due time, the dummy event announcing it)
    timer_latches: list[tuple[Callback, int, int, float, Event]] = field(default_factory=list)
    kill_leases: list[str] = field(default_factory=list)
    suspend_leases: list[str] = field(default_factory=list)
    resume_leases: list[str] = field(default_factory=list)
    # The rows of ``new_jobs`` (jobs, work items, instances) were written beforehand, staged
    # (a large Submit, see Supervisor.submit_async): the store makes them visible instead of
    # inserting them, and writes only the work items changed since (``dirty_work``).
    staged: bool = False

    def touch(self, job: Job, work: WorkItem | None = None) -> None:
        self.dirty_jobs[job.id] = job
        if work is not None:
            self.dirty_work[(job.id, work.index)] = work

    def touch_subjob(self, job: Job, subjob: Subjob) -> None:
        self.dirty_jobs[job.id] = job
        self.dirty_subjobs[(job.id, subjob.id)] = subjob

    def emit(self, event: Event) -> None:
        event.time = self.now
        self.events.append(event)

    @property
    def empty(self) -> bool:
        return not (
            self.events
            or self.new_jobs
            or self.dirty_jobs
            or self.dirty_work
            or self.new_callbacks
            or self.finished_runs
        )
