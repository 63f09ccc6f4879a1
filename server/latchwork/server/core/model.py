"""The job model: jobs, their work items (agenda) and their instances (subjobs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice

from .states import JobStatus, WorkStatus, derive_job_status

DEFAULT_PRIORITY = 9999


class Prototype(StrEnum):
    CMDLINE = "cmdline"
    CMDRANGE = "cmdrange"


class CallbackLanguage(StrEnum):
    """What a callback's code is written in.

    ``CallbackSpec.language`` stays a plain ``str``: a client may send any word, and the
    callback checks refuse the ones not listed here with the field path.
    """

    QUBE = "qube"
    PYTHON = "python"
    MAIL = "mail"


@dataclass(slots=True)
class CallbackSpec:
    triggers: str
    language: str
    code: str
    max: int = 0
    catch_up: bool = True
    criteria: dict[str, str] = field(default_factory=dict)
    include_data: list[str] = field(default_factory=list)
    # The work item work-scoped commands act on when the trigger binds none ("": the one the
    # trigger names). A dependency's frame-specific entries use it (core.triggers.dependency).
    work: str = ""


@dataclass(slots=True)
class WorkSpec:
    name: str
    status: WorkStatus = WorkStatus.PENDING


@dataclass(slots=True)
class JobSpec:
    """A job as the client asked for it, before validation fills in defaults.

    Zero values mean "not given", as in proto3; validation turns them into defaults.
    """

    name: str = ""
    label: str = ""
    pid: int = 0
    status: JobStatus = JobStatus.PENDING
    prototype: Prototype = Prototype.CMDLINE
    cmdline: str = ""
    frame_range: str = ""
    padding: int = 0
    agenda: list[WorkSpec] = field(default_factory=list)
    cpus: int = 0
    priority: int = 0
    callbacks: list[CallbackSpec] = field(default_factory=list)
    dependency: str = ""
    mailaddress: str = ""
    timeout: int = 0
    agenda_timeout: int = 0
    retry: int = 0
    data: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = ""
    user: str = ""
    # Routing, as Qube spells it; parsed by core.routing at submit (docs/routing.md).
    reservations: str = ""
    requirements: str = ""
    hosts: str = ""
    omithosts: str = ""
    groups: str = ""
    omitgroups: str = ""
    cluster: str = ""
    restrictions: str = ""


SHAPED_SPEC_FIELDS = frozenset(
    {"status", "prototype", "cmdline", "frame_range", "padding", "agenda", "callbacks"}
)
"""JobSpec fields whose form differs between the proto, the store and a Qube dict (an enum,
a nested message such as ``command``, a list of messages): each adapter spells these out."""

PLAIN_SPEC_FIELDS: tuple[str, ...] = tuple(
    name for name in JobSpec.__dataclass_fields__ if name not in SHAPED_SPEC_FIELDS
)
"""Every other JobSpec field: a number, a string or a string map, carried as it is under the
same name by the proto (a top-level field), the store's JSON and a Qube job dict. Adding such
a field to :class:`JobSpec` (and to the proto) is all the adapters need."""


Counted = tuple[JobStatus, tuple[int, ...]]
"""A job's part of the farm's totals: its status, and its frames by status (``()`` once removed)."""


@dataclass(slots=True)
class WorkItem:
    index: int
    name: str
    status: WorkStatus = WorkStatus.PENDING
    retries: int = 0
    attempts: int = 0
    subjob_id: int = -1
    host: str = ""
    exit_code: int = 0
    start_time: float = 0.0
    end_time: float = 0.0
    message: str = ""
    lease_id: str = ""


@dataclass(slots=True)
class Subjob:
    id: int
    status: WorkStatus = WorkStatus.PENDING
    host: str = ""
    work_index: int = -1
    start_time: float = 0.0
    ran_failure: bool = False

    @property
    def busy(self) -> bool:
        return self.work_index >= 0


@dataclass(slots=True)
class Job:
    id: int
    pgrp: int
    label: str
    spec: JobSpec
    user: str
    submit_time: float
    work: list[WorkItem] = field(default_factory=list)
    subjobs: list[Subjob] = field(default_factory=list)
    blocked: bool = False
    suspended: bool = False
    removed: bool = False
    status: JobStatus = JobStatus.PENDING
    start_time: float = 0.0
    end_time: float = 0.0
    work_by_name: dict[str, WorkItem] = field(default_factory=dict)
    tally: dict[WorkStatus, int] = field(default_factory=dict)
    # 0 for a job submitted by a client; d + 1 for one a callback run of cascade depth d
    # submitted (qb.submit): its events fire callbacks at that depth at least, so that jobs
    # whose callbacks submit jobs meet the firing budget (server/callback_submit.py).
    cascade_depth: int = 0
    # What the job adds to the farm's totals now (core.farm_counts): set by FarmCounts only.
    counted: Counted | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.work_by_name = {item.name: item for item in self.work}
        self.tally = dict.fromkeys(WorkStatus, 0)
        for item in self.work:
            self.tally[item.status] += 1

    def set_work_status(self, item: WorkItem, status: WorkStatus) -> None:
        """The only way a work item's status changes, so the tally stays true."""
        self.tally[item.status] -= 1
        self.tally[status] += 1
        item.status = status

    @property
    def pid(self) -> int:
        return self.spec.pid

    @property
    def priority(self) -> int:
        return self.spec.priority

    def derived_status(self) -> JobStatus:
        return derive_job_status(
            self.tally,
            blocked=self.blocked,
            suspended=self.suspended,
            removed=self.removed,
            active_instances=any(s.status is WorkStatus.RUNNING for s in self.subjobs),
        )

    def work_named(self, name: str) -> WorkItem | None:
        return self.work_by_name.get(name)

    def counts(self) -> dict[WorkStatus, int]:
        return dict(self.tally)

    def free_subjob(self) -> Subjob | None:
        # Only the first ``spec.cpus``: those beyond, after a ModifyJobs lowered cpus, finish
        # their work item and take no other (core.modify).
        for subjob in islice(self.subjobs, self.spec.cpus or None):
            if not subjob.busy:
                return subjob
        return None

    @property
    def dispatchable(self) -> bool:
        """Whether the scheduler may start more of this job's work now."""
        return not (self.blocked or self.suspended or self.removed or self.status.is_final)
