"""Changing a job after submit (Qube's ``qbmodify``): what may change, how it is checked, and
the transition that applies it and announces it with a ``modified`` event.

A change is checked by the very rules a Submit is: the changed values (and each job's data as
it would become) go through :func:`.size_checks.job_size_problems` and
:func:`.spec_checks.spec_problems` under the path ``changes``, so a value refused at submit is
refused here with the same message, and what was not changed is not checked again. What
only a change can get wrong (nothing asked, a key both set and removed, ``cpus`` or
``priority`` 0, which at submit stand for the defaults) is checked here.

Semantics (docs/modify.md):

- ``priority``: the job's place in the queue; the caller re-sorts the scheduler's entry.
- ``cpus``: how many instances (subjobs) the job has. Raising it adds idle instances at the
  end. Lowering it ends the idle instances beyond the new count at once (an instance between
  two work items gets its subjob event, one never started is taken off the list); a *busy*
  instance beyond the count runs its work item to the end and is then ended, never given
  another (``Job.free_subjob`` and ``transitions._release_subjob`` look at ``spec.cpus``). No
  running work is ever killed by a modify. For a cmdline job (one run per instance, named
  ``0`` .. ``cpus-1`` at submit) the number of runs does not change: only how many may run.
- ``retry``: applies to failures from now on; work that failed already is not retried.
- routing attributes: the job is offered to the scheduler again, which routes by the new ones.
- ``data``: keys set (others kept), keys removed (a missing one is no change).
- A finished job may be changed too (its data stays useful, a later retry uses the rest); a
  removed job may not.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from .changes import Changes
from .errors import FieldError
from .events import EventName, EventType
from .limits import Limits
from .model import Job, JobSpec, Subjob
from .routing.routing import ROUTING_ATTRIBUTES
from .size_checks import byte_size, job_size_problems, key_in_path
from .spec_checks import spec_problems
from .states import WorkStatus
from .transitions import event_of, refresh_job

VALUE_FIELDS = ("priority", "cpus", "retry", *ROUTING_ATTRIBUTES)
"""The fields a change replaces whole, in the order a ``modified`` event lists them."""


@dataclass(frozen=True, slots=True)
class JobChanges:
    """What to change in a job: ``None`` leaves a value as it is; an empty routing string
    clears that attribute. ``data`` keys are set (others kept), ``remove_data`` keys removed."""

    priority: int | None = None
    cpus: int | None = None
    retry: int | None = None
    reservations: str | None = None
    requirements: str | None = None
    hosts: str | None = None
    omithosts: str | None = None
    groups: str | None = None
    omitgroups: str | None = None
    cluster: str | None = None
    restrictions: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)
    remove_data: Sequence[str] = ()

    def asked(self) -> dict[str, object]:
        """The values given, by field name (``data`` and ``remove_data`` not included)."""
        values = {name: getattr(self, name) for name in VALUE_FIELDS}
        return {name: value for name, value in values.items() if value is not None}

    @property
    def empty(self) -> bool:
        return not (self.asked() or self.data or self.remove_data)


def changed_spec(spec: JobSpec, asked: JobChanges) -> JobSpec:
    """``spec`` with the change applied (a new object; ``spec`` is left alone)."""
    data = {key: value for key, value in spec.data.items() if key not in asked.remove_data}
    data.update(asked.data)
    return replace(spec, data=data, **asked.asked())  # type: ignore[arg-type]


def change_problems(
    jobs: Sequence[Job],
    asked: JobChanges,
    limits: Limits,
    known_globals: Collection[str] | None = None,
) -> list[FieldError]:
    """Every problem of applying ``asked`` to each of ``jobs``, under ``changes.<field>``; the
    same problem found in several jobs is named once. Empty: it applies to all of them."""
    errors: list[FieldError] = []
    if asked.empty:
        errors.append(FieldError("changes", "nothing to change: give at least one value"))
    if asked.priority is not None and asked.priority < 1:
        errors.append(
            FieldError("changes.priority", "must be 1 or more (0 stands for the default)")
        )
    if asked.cpus is not None and not 1 <= asked.cpus <= limits.cpus_per_job:
        errors.append(FieldError("changes.cpus", f"must be between 1 and {limits.cpus_per_job}"))
    if len(asked.remove_data) > limits.data_entries:
        errors.append(
            FieldError(
                "changes.remove_data",
                f"{len(asked.remove_data)} entries; at most {limits.data_entries}",
            )
        )
    else:
        for index, key in enumerate(asked.remove_data):
            where = f"changes.remove_data[{index}]"
            if key in asked.data:
                errors.append(FieldError(where, f"{key_in_path(key)} is also set in changes.data"))
            elif "\x00" in key or byte_size(key) > limits.data_key_bytes:
                too_long = f"not a data key: a NUL byte, or over {limits.data_key_bytes} bytes"
                errors.append(FieldError(where, too_long))
    if asked.empty:
        return errors
    checked = {f"changes.{name}" for name in asked.asked()}
    if asked.data or asked.remove_data:
        checked.add("changes.data")
    checked -= {error.path for error in errors}  # said above, in a change's own words
    seen: set[FieldError] = set()
    for spec in _probes(jobs, asked):
        found = job_size_problems(spec, "changes", limits)
        found += spec_problems(spec, "changes", limits, known_globals)
        for error in found:
            if error.path.partition("[")[0] in checked and error not in seen:
                seen.add(error)
                errors.append(error)
    return errors


def _probes(jobs: Sequence[Job], asked: JobChanges) -> list[JobSpec]:
    """Specs holding the changed values and nothing else worth checking (a command, no
    agenda), so the rules run on what changes only: a 100,000-frame range is not parsed again
    for a new priority. Only ``data`` depends on the job (its keys count towards its limits),
    so without it one spec stands for every job."""
    values = asked.asked()
    if not (asked.data or asked.remove_data):
        return [JobSpec(cmdline="-", **values)]  # type: ignore[arg-type]
    return [
        JobSpec(cmdline="-", data=changed_spec(job.spec, asked).data, **values)  # type: ignore[arg-type]
        for job in jobs
    ]


def modify_job(changes: Changes, job: Job, asked: JobChanges, reason: str = "") -> bool:
    """Apply a checked change to ``job``; False (and nothing recorded) when it is already as
    asked. Otherwise its spec is replaced (``changes.respecified``, so the store rewrites it),
    its instances follow ``cpus``, and one ``modified`` job event lists what changed."""
    before = job.spec
    after = changed_spec(before, asked)
    said = [
        f"{name} {_shown(getattr(before, name))} -> {_shown(getattr(after, name))}"
        for name in VALUE_FIELDS
        if getattr(before, name) != getattr(after, name)
    ]
    said += [
        f"data {key_in_path(k)} set" for k in asked.data if before.data.get(k) != asked.data[k]
    ]
    said += [f"data {key_in_path(k)} removed" for k in asked.remove_data if k in before.data]
    if not said:
        return False
    job.spec = after
    changes.respecified[job.id] = job
    changes.touch(job)
    message = "; ".join(said) + (f" ({reason})" if reason else "")
    changes.emit(
        event_of(
            job,
            EventName.MODIFIED,
            EventType.JOB,
            status=job.status.value,
            previous_status=job.status.value,
            message=message,
        )
    )
    if after.cpus != before.cpus:  # what the instances' change causes follows the event
        _follow_cpus(changes, job, f"cpus {before.cpus} -> {after.cpus}")
        refresh_job(changes, job)
    return True


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _follow_cpus(changes: Changes, job: Job, why: str) -> None:
    """Make the job's instances match ``spec.cpus``: add idle ones at the end, end the idle
    ones beyond it, take never-started ones off the end of the list; busy ones finish first."""
    wanted = job.spec.cpus
    for subjob_id in range(len(job.subjobs), wanted):
        subjob = Subjob(subjob_id)
        job.subjobs.append(subjob)
        changes.touch_subjob(job, subjob)
    for subjob in job.subjobs[wanted:]:
        if subjob.status is WorkStatus.RUNNING and not subjob.busy:
            _end_instance(changes, job, subjob, why)
    while len(job.subjobs) > wanted and job.subjobs[-1].status is WorkStatus.PENDING:
        job.subjobs.pop()


def _end_instance(changes: Changes, job: Job, subjob: Subjob, why: str) -> None:
    """End an idle instance the job no longer has room for, as an idle one ends when its job
    has nothing more for it (``transitions._end_subjob``)."""
    final = WorkStatus.FAILED if subjob.ran_failure else WorkStatus.COMPLETE
    subjob.status = final
    changes.touch_subjob(job, subjob)
    changes.emit(
        event_of(
            job,
            EventName.FAILED if final is WorkStatus.FAILED else EventName.COMPLETE,
            EventType.SUBJOB,
            subjob_id=subjob.id,
            host=subjob.host,
            status=final.value,
            previous_status="running",
            message=why,
        )
    )
