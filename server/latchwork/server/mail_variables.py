"""The variables of a mail template, one table for the code, the docs and the tests.

Qube documents the variables its supervisor expands in mailed reports ("Variables available
for expansion in supervisor's mailed reports", PipelineFX developer's guide): job variables,
agenda (work item) variables, instance (subjob) variables, ``TRIGGERS`` and ``USER``. A
template written for Qube must expand here too, so every one of them is in :data:`VARIABLES`,
with the few Latchwork adds. The table says what each holds and shows an example: the
section "Mail" of docs/callbacks.md is generated from it (``python -m
latchwork.server.mail_variables``), and the tests check that the docs show it as generated,
that :func:`mail_variables` gives exactly these names, and that each example is what the
code expands for the documented example job.

Values come from users (job names, data, environment, event messages) and can be large: each
is cut at :data:`VALUE_LIMIT` characters, and maps stop growing there, so a job with a huge
``env`` or agenda cannot make a huge mail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from .core.events import Event, EventType
from .core.model import Job, WorkItem
from .core.runs import CallbackRun

VALUE_LIMIT = 2000
"""Characters of one variable's value kept; the rest is cut (with "...")."""

STATUS_TEMPLATE = """Subject: [latchwork] job $JOB_ID ($JOB_NAME) is $JOB_STATUS

Job $JOB_ID "$JOB_NAME" (label $JOB_LABEL, process group $PGRP, user $JOB_USER) is $JOB_STATUS.
Work: $WORK_COUNTS.
Submitted $JOB_TIMESUBMIT, started $JOB_TIMESTART, ended $JOB_TIMECOMPLETE ($JOB_TIMEELAPSED).
Event: $EVENT_NAME-$EVENT_TYPE $WORK_NAME $HOST $EVENT_MESSAGE
"""
"""The mail of the qube command ``mail-status`` and of ``qb.mail()`` without text."""

JOB, WORK, INSTANCE, LATCHWORK = "job", "work", "instance", "latchwork"
GROUPS = {
    JOB: "Job (Qube's job-specific variables; the job that owns the callback)",
    WORK: "Agenda: the work item (frame) of the event",
    INSTANCE: "Instance (Qube's subjob) of the event",
    LATCHWORK: "Added by Latchwork",
}


@dataclass(frozen=True, slots=True)
class MailVariable:
    name: str
    group: str
    holds: str
    example: str
    """What the variable expands to for the documented example (see the tests)."""


def _v(name: str, group: str, holds: str, example: str = "") -> MailVariable:
    return MailVariable(name, group, holds, example)


_NONE = "empty: Latchwork has no such attribute"
VARIABLES: tuple[MailVariable, ...] = (
    _v("HOST", JOB, "the host of the event (for a job event: none)", "node7"),
    _v("JOB_ACCOUNT", JOB, f"{_NONE} (`account` is refused at submit)"),
    _v("JOB_CLUSTER", JOB, "`cluster`", "/show/a"),
    _v("JOB_CPUS", JOB, "`cpus`: instances at once", "2"),
    _v("JOB_DATA", JOB, "`data`, as `key=value, ...` by key", "shot=010, show=a"),
    _v("JOB_DOMAIN", JOB, _NONE),
    _v("JOB_FLAGS", JOB, f"{_NONE} (`flags` is refused at submit)"),
    _v("JOB_GLOBALORDER", JOB, _NONE),
    _v("JOB_GROUPS", JOB, "`groups`", "gpu"),
    _v("JOB_HOSTORDER", JOB, f"{_NONE} (`hostorder` is refused at submit)"),
    _v("JOB_HOSTS", JOB, "`hosts`", "node7,node8"),
    _v("JOB_ID", JOB, "the job's ID", "1234"),
    _v("JOB_KIND", JOB, f"{_NONE} (`kind` is refused at submit)"),
    _v("JOB_LABEL", JOB, "`label`", "comp"),
    _v("JOB_LOCALORDER", JOB, _NONE),
    _v("JOB_NAME", JOB, "`name`", "shot010 comp"),
    _v("JOB_OMITGROUPS", JOB, "`omitgroups`", "slow"),
    _v("JOB_OMITHOSTS", JOB, "`omithosts`", "node9"),
    _v(
        "JOB_PACKAGE",
        JOB,
        "the package: `cmdline`, `range`, `padding`, `cwd`, then the `env` by name",
        "cmdline=comp.sh, range=1-3, padding=4, cwd=/show/a, env.OCIO=/show/a/ocio.config",
    ),
    _v("JOB_PGRP", JOB, "the process group", "1230"),
    _v("JOB_PID", JOB, "the parent job's ID (0: none)", "1230"),
    _v("JOB_PRIORITY", JOB, "`priority` (lower runs first)", "100"),
    _v("JOB_PROTOTYPE", JOB, "`prototype`", "cmdrange"),
    _v("JOB_REQUIREMENTS", JOB, "`requirements`", "host.processor_speed>=2000"),
    _v("JOB_RESTRICTIONS", JOB, "`restrictions`", "/show/a"),
    _v("JOB_STATUS", JOB, "the job's status when the mail is written", "failed"),
    _v(
        "JOB_TIMECOMPLETE",
        JOB,
        "when the job ended (UTC; empty: not ended)",
        "2026-11-29T10:02:05Z",
    ),
    _v("JOB_TIMEELAPSED", JOB, "from start to end, or to now (h:mm:ss)", "0:02:00"),
    _v("JOB_TIMEOUT", JOB, "`timeout`, seconds (0: none)", "3600"),
    _v("JOB_TIMESTART", JOB, "when the job started running (UTC)", "2026-11-29T10:00:05Z"),
    _v("JOB_TIMESUBMIT", JOB, "when the job was submitted (UTC)", "2026-11-29T10:00:00Z"),
    _v("JOB_TYPE", JOB, "the job type: its `prototype`", "cmdrange"),
    _v("JOB_USER", JOB, "the job's user", "ana"),
    _v("TRIGGERS", JOB, "the trigger that fired, as written", "failed-work-self-*"),
    _v("USER", JOB, "the user the callback runs as: its job's user", "ana"),
    _v("WORK_NAME", WORK, "the work item's name (or the value bound to `*`)", "3"),
    _v("WORK_HOST", WORK, "the host it ran on", "node7"),
    _v("WORK_STATUS", WORK, "its status, as the event reported it", "failed"),
    _v("WORK_PID", WORK, "the ID of the job it belongs to", "1234"),
    _v("WORK_SUBID", WORK, "the instance that ran it", "1"),
    _v("WORK_ADDRESS", WORK, "the host's address: its name", "node7"),
    _v("WORK_RESULTPACKAGE", WORK, "what its last run returned", "exit_code=3"),
    _v("SUBJOB_ID", INSTANCE, "the instance's number", "1"),
    _v("SUBJOB_STATUS", INSTANCE, "its status (as a subjob event reported it)", "failed"),
    _v("SUBJOB_PID", INSTANCE, "the ID of the job it belongs to", "1234"),
    _v("SUBJOB_ADDRESS", INSTANCE, "the host it runs on", "node7"),
    _v("PGRP", LATCHWORK, "the process group (as `JOB_PGRP`)", "1230"),
    _v("TRIGGER", LATCHWORK, "the trigger (as `TRIGGERS`)", "failed-work-self-*"),
    _v("EVENT_NAME", LATCHWORK, "the event that completed the trigger: its name", "failed"),
    _v("EVENT_TYPE", LATCHWORK, "its type", "work"),
    _v("EVENT_MESSAGE", LATCHWORK, "its message", "exit code 3"),
    _v("EVENT_TIME", LATCHWORK, "when it happened (UTC)", "2026-11-29T10:02:05Z"),
    _v(
        "WORK_TIMESTART",
        LATCHWORK,
        "when the work item's last run started (UTC)",
        "2026-11-29T10:01:35Z",
    ),
    _v("WORK_TIMECOMPLETE", LATCHWORK, "when it ended (UTC)", "2026-11-29T10:02:05Z"),
    _v("WORK_TIMEELAPSED", LATCHWORK, "how long it ran (h:mm:ss)", "0:00:30"),
    _v("WORK_COUNTS", LATCHWORK, "the job's work items by status", "2 complete, 1 failed"),
)
NAMES = frozenset(v.name for v in VARIABLES)


def mail_variables(owner: Job, event: Event | None, run: CallbackRun, now: float) -> dict[str, str]:
    """Every variable of :data:`VARIABLES` for a run of a callback of ``owner``, fired by
    ``event`` (None: the event is gone); ``now`` ends the elapsed time of a running job."""
    values = {
        **_job_values(owner, now),
        **_work_values(owner, event, run),
        **_instance_values(owner, event),
        **_event_values(event),
        "HOST": event.host if event else "",
        "TRIGGERS": run.triggers,
        "TRIGGER": run.triggers,
        "USER": owner.user,
    }
    return {name: bounded(values[name]) for name in sorted(NAMES)}


def _job_values(job: Job, now: float) -> dict[str, str]:
    spec = job.spec
    package = {
        "cmdline": spec.cmdline,
        "range": spec.frame_range,
        "padding": str(spec.padding) if spec.padding else "",
        "cwd": spec.cwd,
    }
    env = ((f"env.{name}", value) for name, value in sorted(spec.env.items()))
    return {
        "JOB_ACCOUNT": "",
        "JOB_CLUSTER": spec.cluster,
        "JOB_CPUS": str(spec.cpus),
        "JOB_DATA": pairs(sorted(spec.data.items())),
        "JOB_DOMAIN": "",
        "JOB_FLAGS": "",
        "JOB_GLOBALORDER": "",
        "JOB_GROUPS": spec.groups,
        "JOB_HOSTORDER": "",
        "JOB_HOSTS": spec.hosts,
        "JOB_ID": str(job.id),
        "JOB_KIND": "",
        "JOB_LABEL": job.label,
        "JOB_LOCALORDER": "",
        "JOB_NAME": spec.name,
        "JOB_OMITGROUPS": spec.omitgroups,
        "JOB_OMITHOSTS": spec.omithosts,
        "JOB_PACKAGE": pairs(_chain(((k, v) for k, v in package.items() if v), env)),
        "JOB_PGRP": str(job.pgrp),
        "PGRP": str(job.pgrp),
        "JOB_PID": str(job.pid),
        "JOB_PRIORITY": str(job.priority),
        "JOB_PROTOTYPE": spec.prototype.value,
        "JOB_REQUIREMENTS": spec.requirements,
        "JOB_RESTRICTIONS": spec.restrictions,
        "JOB_STATUS": job.status.value,
        "JOB_TIMECOMPLETE": utc(job.end_time),
        "JOB_TIMEELAPSED": elapsed(job.start_time, job.end_time, now),
        "JOB_TIMEOUT": str(spec.timeout),
        "JOB_TIMESTART": utc(job.start_time),
        "JOB_TIMESUBMIT": utc(job.submit_time),
        "JOB_TYPE": spec.prototype.value,
        "JOB_USER": job.user,
        "WORK_COUNTS": ", ".join(f"{n} {s.value}" for s, n in job.tally.items() if n),
    }


def _work_values(owner: Job, event: Event | None, run: CallbackRun) -> dict[str, str]:
    """The work item of a work event; for a trigger a work event did not complete, only its
    name, from the ``*`` binding (a subjob or host event binds no work item)."""
    name, host, status, subid, job_id = "", "", "", "", ""
    item: WorkItem | None = None
    if event is not None and event.type is EventType.WORK:
        name, host, status, job_id = event.work_name, event.host, event.status, str(event.job_id)
        subid = str(event.subjob_id) if event.subjob_id >= 0 else ""
        item = owner.work_named(name) if event.job_id == owner.id else None
    elif event is None or event.type not in (EventType.SUBJOB, EventType.HOST):
        name = run.binding
    ended = item is not None and item.end_time > 0
    return {
        "WORK_NAME": name,
        "WORK_HOST": host,
        "WORK_STATUS": status,
        "WORK_PID": job_id,
        "WORK_SUBID": subid,
        "WORK_ADDRESS": host,
        "WORK_RESULTPACKAGE": f"exit_code={item.exit_code}" if item and ended else "",
        "WORK_TIMESTART": utc(item.start_time) if item else "",
        "WORK_TIMECOMPLETE": utc(item.end_time) if item else "",
        "WORK_TIMEELAPSED": elapsed(item.start_time, item.end_time, 0) if item and ended else "",
    }


def _instance_values(owner: Job, event: Event | None) -> dict[str, str]:
    """The instance of a subjob event, or the one that ran the work item of a work event."""
    if event is None or event.type not in (EventType.SUBJOB, EventType.WORK):
        return dict.fromkeys(("SUBJOB_ID", "SUBJOB_STATUS", "SUBJOB_PID", "SUBJOB_ADDRESS"), "")
    status = event.status if event.type is EventType.SUBJOB else ""
    if not status and event.job_id == owner.id and 0 <= event.subjob_id < len(owner.subjobs):
        status = owner.subjobs[event.subjob_id].status.value
    present = event.subjob_id >= 0
    return {
        "SUBJOB_ID": str(event.subjob_id) if present else "",
        "SUBJOB_STATUS": status if present else "",
        "SUBJOB_PID": str(event.job_id) if present else "",
        "SUBJOB_ADDRESS": event.host if present else "",
    }


def _event_values(event: Event | None) -> dict[str, str]:
    return {
        "EVENT_NAME": event.name.value if event else "",
        "EVENT_TYPE": event.type.value if event else "",
        "EVENT_MESSAGE": event.message if event else "",
        "EVENT_TIME": utc(event.time) if event else "",
    }


def bounded(value: str, limit: int = VALUE_LIMIT) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


def pairs(items: Iterable[tuple[str, str]], limit: int = VALUE_LIMIT) -> str:
    """``key=value, ...``, stopping once ``limit`` characters are reached (a huge map is
    never joined whole)."""
    parts: list[str] = []
    size = 0
    for key, value in items:
        part = f"{key}={bounded(value, limit)}"
        parts.append(part)
        size += len(part) + 2
        if size > limit:
            break
    return bounded(", ".join(parts), limit)


def utc(seconds: float) -> str:
    """A moment as ISO 8601 in UTC, to the second; empty for 0 (not yet)."""
    if seconds <= 0:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def elapsed(start: float, end: float, now: float) -> str:
    """``h:mm:ss`` from ``start`` to ``end`` (or to ``now`` while not ended); empty before
    the start."""
    if start <= 0:
        return ""
    seconds = max(int((end if end > 0 else now) - start), 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _chain(*parts: Iterable[tuple[str, str]]) -> Iterable[tuple[str, str]]:
    for part in parts:
        yield from part


def markdown() -> str:
    """The tables of docs/callbacks.md, one per group, as generated from :data:`VARIABLES`."""
    out: list[str] = []
    for group, title in GROUPS.items():
        out += ["", f"**{title}**", ""]
        out += ["| variable | holds | example |", "|---|---|---|"]
        for v in (v for v in VARIABLES if v.group == group):
            example = f"`{v.example}`" if v.example else "(empty)"
            out.append(f"| `${v.name}` | {v.holds} | {example} |")
    return "\n".join(out[1:]) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
