"""``latchwork watch``: the event stream as aligned lines (or NDJSON), and ``--until-done``, the
way a script waits for jobs or a whole process group to end.

Waiting must outlive the supervisor: ``--until-done`` follows the stream that reconnects and
resumes after the last event seen (``resume_sync``, as ``qb.waitfor`` does), so a restart costs a
pause, not a failed script. Which jobs it still waits for is kept by ``Waiter``; the event lines
are laid out by ``EventLines``, which names each event's job (events carry only its id).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from google.protobuf.json_format import MessageToDict

from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2

from .cli_table import clip, clock
from .client import Client, LatchworkError
from .exit_codes import EXIT_JOB_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE

EVENT_NAMES = [
    n.removeprefix("EVENT_NAME_").lower()
    for n in event_pb2.EventName.keys()  # noqa: SIM118 - an enum wrapper, not a dict
    if n != "EVENT_NAME_UNSPECIFIED"
]
EVENT_TYPES = [
    n.removeprefix("EVENT_TYPE_").lower()
    for n in event_pb2.EventType.keys()  # noqa: SIM118
    if n != "EVENT_TYPE_UNSPECIFIED"
]

FINAL_EVENTS = {
    event_pb2.EVENT_NAME_COMPLETE: EXIT_OK,
    event_pb2.EVENT_NAME_FAILED: EXIT_JOB_FAILED,
    event_pb2.EVENT_NAME_KILLED: EXIT_JOB_FAILED,
    event_pb2.EVENT_NAME_REMOVED: EXIT_JOB_FAILED,
}
"""A job's last event, and the exit code ``--until-done`` gives for it."""
FINAL_STATUSES = {
    job_pb2.JOB_STATUS_COMPLETE: EXIT_OK,
    job_pb2.JOB_STATUS_FAILED: EXIT_JOB_FAILED,
    job_pb2.JOB_STATUS_KILLED: EXIT_JOB_FAILED,
    job_pb2.JOB_STATUS_REMOVED: EXIT_JOB_FAILED,
}
DEFAULT_GIVE_UP = 300.0
"""Seconds ``--until-done`` keeps reconnecting to a supervisor that went away."""


class EventLines:
    """Events as aligned lines: seq, time, event, job, work, host, the job's name, message.

    Job names are looked up once per process group (one ListJobs) and kept; a job the list
    does not show (removed) is asked for alone. A name that cannot be had now (the supervisor
    is restarting) shows as ``?`` and is asked for again with the job's next event.
    """

    HEADER = (
        f"{'SEQ':<8} {'TIME':<8}  {'EVENT':<18} {'JOB':>6}  {'WORK':<10} {'HOST':<14} "
        f"{'JOB NAME':<20}  MESSAGE"
    )

    def __init__(self, client: Client) -> None:
        self.client = client
        self.names: dict[int, str] = {}
        self.header_shown = False

    def job_name(self, event: event_pb2.Event) -> str:
        if not event.job_id:
            return "-"
        if event.job_id not in self.names:
            try:
                for job in self.client.list_jobs(pgrps=[event.pgrp]):
                    self.names[job.id] = job.spec.name or "-"
                if event.job_id not in self.names:
                    self.names[event.job_id] = self.client.get_job(event.job_id).spec.name or "-"
            except LatchworkError:
                return "?"
        return self.names[event.job_id]

    def format(self, event: event_pb2.Event) -> str:
        name = event_pb2.EventName.Name(event.name).removeprefix("EVENT_NAME_").lower()
        kind = event_pb2.EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
        work = event.work_name or ("-" if event.subjob_id < 0 else f"subjob {event.subjob_id}")
        line = (
            f"#{event.seq:<7} {clock(event.time)}  {name + '-' + kind:<18} "
            f"{event.job_id or '-':>6}  {clip(work, 10):<10} {clip(event.host or '-', 14):<14} "
            f"{clip(self.job_name(event), 20):<20}  {event.message}"
        )
        return line.rstrip()

    def lines(self, event: event_pb2.Event) -> Iterable[str]:
        if not self.header_shown:
            self.header_shown = True
            yield self.HEADER
        yield self.format(event)


class Waiter:
    """The jobs ``--until-done`` still waits for, and the exit code so far.

    With ``--pgrp`` a job submitted into the group while waiting is waited for too. A job that
    had already ended when the wait began is done once its final event is replayed, or, should
    the log no longer hold it, once the stream has caught up (its first heartbeat).
    """

    def __init__(self, pgrps: Iterable[int]) -> None:
        self.pgrps = set(pgrps)
        self.waiting: set[int] = set()
        self.ended_before: dict[int, int] = {}
        self.result = EXIT_OK

    def add(self, job: job_pb2.Job, replayed: bool) -> None:
        """Wait for ``job``; one that already ended counts now unless its events are replayed."""
        if job.status in FINAL_STATUSES and not replayed:
            self.result = max(self.result, FINAL_STATUSES[job.status])
            return
        self.waiting.add(job.id)
        if job.status in FINAL_STATUSES:
            self.ended_before[job.id] = FINAL_STATUSES[job.status]

    def see(self, event: event_pb2.Event) -> None:
        if event.event_type != event_pb2.EVENT_TYPE_JOB:
            return
        if event.name in FINAL_EVENTS:
            if event.job_id in self.waiting:
                self.waiting.discard(event.job_id)
                self.ended_before.pop(event.job_id, None)
                self.result = max(self.result, FINAL_EVENTS[event.name])
        elif event.pgrp in self.pgrps:
            self.waiting.add(event.job_id)  # a job submitted into the group meanwhile

    def caught_up(self) -> None:
        for job_id, code in self.ended_before.items():
            self.waiting.discard(job_id)
            self.result = max(self.result, code)
        self.ended_before.clear()

    @property
    def done(self) -> bool:
        return not self.waiting


class Progress:
    """A single updating line on stderr: done/total frames of the jobs being waited for.

    ``jobs`` lists them (with their counts) when the line is refreshed; a refresh that fails
    (the supervisor is restarting) keeps the last line.
    """

    def __init__(self, what: str, jobs: Callable[[], list[job_pb2.Job]], enabled: bool) -> None:
        self.what = what
        self.jobs = jobs
        self.enabled = enabled
        self.shown = False
        self.last = 0.0
        self.text = ""

    def refresh(self, force: bool = False) -> None:
        if not self.enabled or (not force and time.monotonic() - self.last < 0.5):
            return
        self.last = time.monotonic()
        try:
            jobs = self.jobs()
        except LatchworkError:
            return
        done = total = failed = 0
        for job in jobs:
            counts = job.counts
            total += sum(
                getattr(counts, f)
                for f in ("pending", "blocked", "running", "complete", "failed", "killed")
            )
            done += counts.complete + counts.failed + counts.killed
            failed += counts.failed + counts.killed
        extra = f", {failed} failed or killed" if failed else ""
        self.text = f"waiting for {self.what}: {done}/{total} frames done{extra}"
        self.draw()

    def draw(self) -> None:
        if self.enabled and self.text:
            sys.stderr.write(f"\r\033[K{self.text}")
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False


def _enum_values(enum: Any, prefix: str, texts: Iterable[str]) -> set[int]:
    return {enum.Value(f"{prefix}{text.upper()}") for text in texts}


def _start_waiting(client: Client, args: argparse.Namespace) -> tuple[Waiter, Progress] | int:
    """The jobs to wait for and the progress line over them; or the exit code when there is
    nothing to wait for (all ended already, or a bad request)."""
    if bool(args.job) == bool(args.pgrp):
        print("latchwork watch: --until-done needs --job or --pgrp (not both)", file=sys.stderr)
        return EXIT_USAGE
    replayed = args.after_seq >= 0
    waiter = Waiter(args.pgrp or ())
    if args.job:
        for job_id in dict.fromkeys(args.job):
            waiter.add(client.get_job(job_id), replayed)
        ids = sorted(set(args.job))

        def jobs() -> list[job_pb2.Job]:
            return [client.get_job(job_id) for job_id in ids]

        what = f"job {' '.join(map(str, ids))}"
    else:

        def jobs() -> list[job_pb2.Job]:
            return list(client.list_jobs(pgrps=args.pgrp))

        found = jobs()
        if not found:
            groups = " ".join(map(str, args.pgrp))
            print(f"latchwork watch: process group {groups} has no jobs", file=sys.stderr)
            return EXIT_REFUSED
        for job in found:
            waiter.add(job, replayed)
        what = f"pgrp {' '.join(map(str, args.pgrp))}"
    if waiter.done:
        return waiter.result
    shown = not args.no_progress and sys.stderr.isatty()
    return waiter, Progress(what, jobs, shown)


def cmd_watch(client: Client, args: argparse.Namespace) -> int:
    filters: dict[str, Any] = {"heartbeat_seconds": 1}
    if args.job:
        filters["job_ids"] = args.job
    if args.pgrp:
        filters["pgrps"] = args.pgrp
    if args.callbacks:
        filters["include_callback_runs"] = True
    labels, users = set(args.label or ()), set(args.user or ())
    names = _enum_values(event_pb2.EventName, "EVENT_NAME_", args.name or ())
    types = _enum_values(event_pb2.EventType, "EVENT_TYPE_", args.type or ())
    if types and args.callbacks:
        types.add(event_pb2.EVENT_TYPE_CALLBACK)
    waiter: Waiter | None = None
    progress = Progress("", list, enabled=False)
    if args.until_done:
        started = _start_waiting(client, args)
        if isinstance(started, int):
            return started
        waiter, progress = started
    else:
        # The server filters; with --until-done the jobs' final events must still arrive, so
        # labels, users, names and types are filtered here instead.
        for field, values in (("labels", labels), ("users", users)):
            if values:
                filters[field] = sorted(values)
        for field, numbers in (("names", names), ("types", types)):
            if numbers:
                filters[field] = sorted(numbers)
    lines = EventLines(client)
    progress.refresh(force=True)
    stream = client.subscribe(
        after_seq=args.after_seq,
        heartbeats=True,
        resume=waiter is not None,
        give_up_after=args.give_up_after,
        **filters,
    )
    try:
        for item in stream:
            assert isinstance(item, supervisor_pb2.SubscribeResponse)
            if not item.HasField("event"):
                if waiter is not None and item.HasField("heartbeat"):
                    waiter.caught_up()
                    if waiter.done:
                        return waiter.result
                progress.refresh()
                continue
            event = item.event
            if (
                (not names or event.name in names)
                and (not types or event.event_type in types)
                and (not labels or event.label in labels)
                and (not users or event.user in users)
            ):
                progress.clear()
                if args.json:
                    print(json.dumps(MessageToDict(event)), flush=True)
                else:
                    for line in lines.lines(event):
                        print(line, flush=True)
                progress.draw()
            if waiter is not None:
                waiter.see(event)
                if waiter.done:
                    return waiter.result
                ended = event.event_type == event_pb2.EVENT_TYPE_JOB and event.name in FINAL_EVENTS
                progress.refresh(force=ended)
    finally:
        progress.clear()
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return waiter.result if waiter is not None else EXIT_OK


def configure(sub: Any) -> None:
    """Add ``watch`` to the ``latchwork`` subcommands (``sub``)."""
    watch = sub.add_parser("watch", help="stream events; --until-done waits for jobs to end")
    watch.add_argument("--job", type=int, action="append", help="only this job (repeatable)")
    watch.add_argument(
        "--pgrp", type=int, action="append", help="only this process group (repeatable)"
    )
    watch.add_argument(
        "--after-seq", type=int, default=0, help="resume after this seq (-1: new only)"
    )
    watch.add_argument("--json", action="store_true", help="one JSON event per line")
    watch.add_argument("--label", action="append", help="only jobs with this label (repeatable)")
    watch.add_argument("--user", action="append", help="only jobs of this user (repeatable)")
    watch.add_argument(
        "--name", action="append", choices=EVENT_NAMES, help="only these events (repeatable)"
    )
    watch.add_argument(
        "--type", action="append", choices=EVENT_TYPES, help="only these event types (repeatable)"
    )
    watch.add_argument("--callbacks", action="store_true", help="include callback runs")
    watch.add_argument(
        "--until-done",
        action="store_true",
        help="exit when the --job jobs, or every job of the --pgrp group, ended",
    )
    watch.add_argument(
        "--give-up-after",
        type=float,
        default=DEFAULT_GIVE_UP,
        metavar="SECONDS",
        help="with --until-done: how long to keep reconnecting to a supervisor that went away "
        f"(default {DEFAULT_GIVE_UP:.0f})",
    )
    watch.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress line on stderr (it is only shown when stderr is a terminal)",
    )


HANDLERS: dict[str, Callable[[Client, argparse.Namespace], int]] = {"watch": cmd_watch}
