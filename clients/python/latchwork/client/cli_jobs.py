"""The ``latchwork`` commands that read jobs: ``jobs`` (the queue), ``job`` (one job, frame by
frame) and ``logs`` (what its frames printed).

They are what a wrangler reads all day, so they answer the questions asked of a queue at a
glance: whose job, how urgent, how far, what failed, for how long; and they stay aligned when a
label or a name is long (``cli_table``). ``cli`` registers them through ``configure`` and
``HANDLERS``, as for every ``cli_*`` module.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from google.protobuf.json_format import MessageToDict

from latchwork.v1 import job_pb2, supervisor_pb2

from .cli_table import clock, span, table
from .client import Client
from .exit_codes import EXIT_OK
from .jobspec import JobSpecError

DEFAULT_LIMIT = 50
"""Jobs ``latchwork jobs`` lists unless ``--limit`` says otherwise (0: all)."""

JOB_STATUSES = [
    name.removeprefix("JOB_STATUS_").lower()
    for name in job_pb2.JobStatus.keys()  # noqa: SIM118 - an enum wrapper, not a dict
    if name != "JOB_STATUS_UNSPECIFIED"
]
"""What ``--status`` takes: the job states, as the command prints them."""

_FINISHED_WORK = (job_pb2.WORK_STATUS_COMPLETE, job_pb2.WORK_STATUS_FAILED)


def status_name(value: int) -> str:
    """A JobStatus as printed: ``running``, ``complete``..."""
    return job_pb2.JobStatus.Name(value).removeprefix("JOB_STATUS_").lower()  # type: ignore[arg-type]


def work_status_name(value: int) -> str:
    return job_pb2.WorkStatus.Name(value).removeprefix("WORK_STATUS_").lower()  # type: ignore[arg-type]


JOB_HEADERS = (
    *("ID", "PGRP", "USER", "STATUS", "PRI", "DONE", "RUN", "FAIL"),
    *("ELAPSED", "LABEL", "NAME"),
)
_JOB_LIMITS = {2: 16, 9: 24, 10: 48}  # USER, LABEL, NAME: clipped unless --wide


def job_row(job: job_pb2.Job, now: float) -> list[str]:
    """One line of ``latchwork jobs``. DONE counts completed frames only, so a failed job
    reads ``20/24`` with ``4`` under FAIL (failed or killed frames), never ``24/24``."""
    counts = job.counts
    total = sum(
        getattr(counts, f)
        for f in ("pending", "blocked", "running", "complete", "failed", "killed")
    )
    return [
        str(job.id),
        str(job.pgrp),
        job.user or "-",
        status_name(job.status),
        str(job.spec.priority),
        f"{counts.complete}/{total}",
        str(counts.running),
        str(counts.failed + counts.killed),
        span(job.start_time, job.end_time, now),
        job.label or "-",
        job.spec.name or "-",
    ]


def cmd_jobs(client: Client, args: argparse.Namespace) -> int:
    filters: dict[str, Any] = {}
    if args.status:
        filters["statuses"] = [
            job_pb2.JobStatus.Value(f"JOB_STATUS_{s.upper()}") for s in args.status
        ]
    if args.user:
        filters["users"] = args.user
    if args.pgrp:
        filters["pgrps"] = args.pgrp
    limit: int = args.limit
    if limit:
        filters["page_size"] = min(limit + 1, 1000)
        found = list(itertools.islice(client.list_jobs(**filters), limit + 1))
    else:
        found = list(client.list_jobs(**filters))
    now = time.time()
    rows = [job_row(job, now) for job in found[: limit or None]]
    limits = {} if args.wide else _JOB_LIMITS
    for line in table(JOB_HEADERS, rows, right={0, 1, 4, 5, 6, 7, 8}, limits=limits):
        print(line)
    if limit and len(found) > limit and sys.stdout.isatty():  # for a reader, not a script
        print(
            f"latchwork jobs: the newest {limit} shown; --limit N for more, --limit 0 for all",
            file=sys.stderr,
        )
    return EXIT_OK


WORK_HEADERS = (
    *("WORK", "STATUS", "TRIES", "EXIT", "HOST"),
    *("START", "END", "DURATION", "MESSAGE"),
)


def work_row(work: job_pb2.Work, now: float) -> list[str]:
    """One frame of ``latchwork job``: its exit code only once it finished (a pending or
    running frame has none), its start and end (UTC) and how long it ran (so far)."""
    finished = work.status in _FINISHED_WORK or (
        work.status == job_pb2.WORK_STATUS_KILLED and work.end_time.seconds
    )
    return [
        work.name,
        work_status_name(work.status),
        str(work.attempts),
        str(work.exit_code) if finished else "-",
        work.host or "-",
        clock(work.start_time),
        clock(work.end_time),
        span(work.start_time, work.end_time, now),
        work.message,
    ]


def _outcome(value: int) -> str:
    name = supervisor_pb2.CallbackOutcome.Name(value)  # type: ignore[arg-type]
    return name.removeprefix("CALLBACK_OUTCOME_").lower().replace("unspecified", "pending")


def _callback_lines(client: Client, job: job_pb2.Job, runs_wanted: int) -> list[str]:
    lines = [f"{'CALLBACK':>8}  {'LANGUAGE':<8} {'FIRED':>5}  {'DEP':<3}  TRIGGERS"]
    for callback in job.callbacks:
        dependency = "yes" if callback.from_dependency else "no"
        lines.append(
            f"{callback.id:>8}  {callback.spec.language or 'qube':<8} {callback.fired:>5}  "
            f"{dependency:<3}  {callback.spec.triggers}"
        )
        if callback.universal:
            lines.append(f"{'':>8}  universal: {callback.universal} (the admin's, on every job)")
        if callback.spec.work:
            lines.append(f"{'':>8}  acts on work {callback.spec.work}")
        if callback.suspended:
            lines.append(f"{'':>8}  suspended: {callback.suspended}")
    runs = list(itertools.islice(client.callback_runs(job_id=job.id), runs_wanted))
    if runs:
        lines.append(
            f"{'RUN':>8}  {'CALLBACK':>8}  {'OUTCOME':<7} {'EVENT':>7}  {'BINDING':<8} OUTPUT"
        )
        for run in runs:
            text = (run.error or run.output).strip().replace("\n", " | ")
            lines.append(
                f"{run.id:>8}  {run.callback_id:>8}  {_outcome(run.outcome):<7} "
                f"{run.event_seq:>7}  {run.binding or '-':<8} {text}"
            )
    return lines


def cmd_job(client: Client, args: argparse.Namespace) -> int:
    job = client.get_job(args.job_id)
    if args.json:
        print(json.dumps(MessageToDict(job), indent=2))
        return EXIT_OK
    now = time.time()
    print(f"job {job.id} {job.spec.name!r} label={job.label} pgrp={job.pgrp} user={job.user}")
    print(f"status {status_name(job.status)}  priority {job.spec.priority}  cpus {job.spec.cpus}")
    print(
        f"submitted {clock(job.submit_time)}  started {clock(job.start_time)}  "
        f"ended {clock(job.end_time)}  elapsed {span(job.start_time, job.end_time, now)}"
    )
    print(f"cmdline {job.spec.command.cmdline}")
    if job.child_ids:
        print(f"children {' '.join(map(str, job.child_ids))}")
    if job.waiting_reason:
        print(f"waiting reason: {job.waiting_reason}")
    rows = [work_row(work, now) for work in job.work]
    for line in table(WORK_HEADERS, rows, right={2, 3, 7}, limits={0: 24, 4: 20}):
        print(line)
    if job.callbacks:
        for line in _callback_lines(client, job, args.runs):
            print(line)
    return EXIT_OK


def _target(value: str) -> tuple[int, str]:
    job, _, name = value.partition(":")
    if not job.isdigit():
        raise JobSpecError(f"{value!r}: expected JOB_ID or JOB_ID:WORK_NAME")
    return int(job), name


def cmd_logs(client: Client, args: argparse.Namespace) -> int:
    job_id, name = _target(args.target)
    if name:
        _copy_output(client, args, job_id, name, header=None)
        return EXIT_OK
    job = client.get_job(job_id)
    stream = "stderr" if args.stderr else "stdout"
    for index, work in enumerate(w for w in job.work if w.attempts):
        gap = "\n" if index else ""
        header = (f"{gap}==> {job_id}:{work.name} (attempt ", f", {stream}) <==\n")
        _copy_output(client, args, job_id, work.name, header=header)
    return EXIT_OK


def _copy_output(
    client: Client,
    args: argparse.Namespace,
    job_id: int,
    name: str,
    header: tuple[str, str] | None,
) -> None:
    """Copy one work item's output to stdout, after ``header`` (the text before and after the
    number of the attempt the output is of)."""
    offset = 0
    while True:
        chunk = client.work_output(
            job_id, name, stderr=args.stderr, attempt=args.attempt, offset=offset
        )
        if header is not None:
            sys.stdout.write(f"{header[0]}{chunk.attempt}{header[1]}")
            sys.stdout.flush()
            header = None
        _write_all(chunk.data)
        offset = chunk.next_offset
        if chunk.eof or (not chunk.data and not args.follow):
            return
        if not chunk.data:
            time.sleep(0.5)


def _write_all(data: bytes) -> None:
    """Write all of ``data`` to stdout. A write into a pipe can be short without an error (the
    reader left after part of it); the next write then raises BrokenPipeError, which a single
    ``write`` would never make and the command would end as if all was copied."""
    view = memoryview(data)
    while view:
        view = view[sys.stdout.buffer.write(view) :]
    sys.stdout.buffer.flush()


def configure_jobs(sub: Any) -> None:
    """Add ``jobs`` and ``job`` to the ``latchwork`` subcommands (``sub``)."""
    jobs = sub.add_parser("jobs", help="list jobs, newest first")
    jobs.add_argument(
        "--status",
        action="append",
        choices=JOB_STATUSES,
        metavar="STATUS",
        help=f"only jobs in this state (repeatable): {', '.join(JOB_STATUSES)}",
    )
    jobs.add_argument("--user", action="append", help="only jobs of this user (repeatable)")
    jobs.add_argument(
        "--pgrp", type=int, action="append", help="only jobs of this group (repeatable)"
    )
    jobs.add_argument(
        "--limit",
        type=_count,
        default=DEFAULT_LIMIT,
        help=f"at most this many jobs (default {DEFAULT_LIMIT}; 0: all)",
    )
    jobs.add_argument("--wide", action="store_true", help="do not clip long users, labels, names")

    job = sub.add_parser("job", help="show one job with its work, callbacks and their runs")
    job.add_argument("job_id", type=int)
    job.add_argument("--json", action="store_true")
    job.add_argument("--runs", type=int, default=10, help="recent callback runs to show")


def configure_logs(sub: Any) -> None:
    """Add ``logs`` to the ``latchwork`` subcommands (``sub``); it comes after the actions in
    ``latchwork --help``, so it is added apart from ``jobs`` and ``job``."""
    logs = sub.add_parser("logs", help="print the output of JOB:WORK (or of every work of JOB)")
    logs.add_argument("target", metavar="JOB[:WORK]")
    logs.add_argument("--stderr", action="store_true")
    logs.add_argument("--attempt", type=int, default=0, help="which attempt (default: latest)")
    logs.add_argument("--follow", "-f", action="store_true")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


HANDLERS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "jobs": cmd_jobs,
    "job": cmd_job,
    "logs": cmd_logs,
}
