"""The ``latchwork`` command: run the supervisor or a worker, and drive it from a shell.

The client package defines the commands that talk to a supervisor (``submit``, ``jobs``,
``watch``...); other packages contribute theirs through the ``latchwork.commands`` entry-point
group (the server: ``serve`` and ``worker``), since the client may not import them.

Exit codes a script can rely on: 0 success; 1 the supervisor refused the request; 2 bad usage
or an unreadable job file; 3 the supervisor could not be reached; 4 a job watched with
``--until-done`` ended failed or killed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

import grpc
from google.protobuf.json_format import MessageToDict

from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2, trigger_pb2

from . import cli_hosts
from .client import Client, LatchworkError
from .exit_codes import EXIT_JOB_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE
from .jobspec import JobSpecError
from .requests import ACTIONS

COMMAND_GROUP = "latchwork.commands"
"""Entry-point group of the subcommands other packages contribute (pyproject.toml)."""


class Command(Protocol):
    """A subcommand another package contributes: one entry point of :data:`COMMAND_GROUP`,
    named as the subcommand, whose object is this."""

    help: str

    def configure(self, parser: argparse.ArgumentParser) -> None:
        """Add the subcommand's arguments to its parser."""

    def run(self, args: argparse.Namespace) -> int:
        """Carry the command out; the process's exit code."""


def contributed_commands() -> dict[str, Command]:
    """The contributed subcommands by name, in name order. Loading one imports only its own
    module (which keeps its heavy imports for ``run``); a name the client defines itself
    cannot be taken over."""
    found: dict[str, Command] = {}
    for point in sorted(entry_points(group=COMMAND_GROUP), key=lambda p: p.name):
        if point.name in _CLIENT_COMMANDS or point.name in found:
            continue
        found[point.name] = point.load()
    return found


def _status(value: int) -> str:
    return job_pb2.JobStatus.Name(value).removeprefix("JOB_STATUS_").lower()  # type: ignore[arg-type]


def _work_status(value: int) -> str:
    return job_pb2.WorkStatus.Name(value).removeprefix("WORK_STATUS_").lower()  # type: ignore[arg-type]


def _load_jobs(path: str, fmt: str | None = None) -> list[dict[str, Any]]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    if fmt is None:
        fmt = "yaml" if path.endswith((".yaml", ".yml")) else "json"
    if fmt == "yaml":
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise JobSpecError(f"{path}: not valid YAML: {error}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise JobSpecError(f"{path}: not valid JSON: {error}") from None
    if isinstance(data, dict) and "jobs" in data:
        data = data["jobs"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(j, dict) for j in data):
        raise JobSpecError(
            f"{path}: expected a job dictionary, a list of them, or {{'jobs': [...]}}"
        )
    return data


def cmd_submit(client: Client, args: argparse.Namespace) -> int:
    response = client.submit(_load_jobs(args.file, args.format), pgrp=args.pgrp)
    if args.json:
        print(json.dumps(MessageToDict(response)))
    else:
        for job in response.jobs:
            print(f"{job.id}\t{job.label}\t{_status(job.status)}\t{job.spec.name}")
        print(f"pgrp {response.pgrp}", file=sys.stderr)
    return EXIT_OK


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
    print(f"{'ID':>8}  {'PGRP':>8}  {'STATUS':<10} {'DONE':>11}  {'LABEL':<16} NAME")
    for job in client.list_jobs(**filters):
        total = sum(
            getattr(job.counts, f)
            for f in ("pending", "blocked", "running", "complete", "failed", "killed")
        )
        done = job.counts.complete + job.counts.failed + job.counts.killed
        print(
            f"{job.id:>8}  {job.pgrp:>8}  {_status(job.status):<10} {f'{done}/{total}':>11}  "
            f"{job.label:<16} {job.spec.name}"
        )
    return EXIT_OK


def cmd_job(client: Client, args: argparse.Namespace) -> int:
    job = client.get_job(args.job_id)
    if args.json:
        print(json.dumps(MessageToDict(job), indent=2))
        return EXIT_OK
    print(f"job {job.id} {job.spec.name!r} label={job.label} pgrp={job.pgrp} user={job.user}")
    print(f"status {_status(job.status)}  priority {job.spec.priority}  cpus {job.spec.cpus}")
    print(f"cmdline {job.spec.command.cmdline}")
    if job.child_ids:
        print(f"children {' '.join(map(str, job.child_ids))}")
    if job.waiting_reason:
        print(f"waiting reason: {job.waiting_reason}")
    print(f"{'WORK':<16} {'STATUS':<9} {'TRIES':>5} {'EXIT':>5}  HOST  MESSAGE")
    for work in job.work:
        print(
            f"{work.name:<16} {_work_status(work.status):<9} {work.attempts:>5} "
            f"{work.exit_code:>5}  {work.host}  {work.message}"
        )
    if job.callbacks:
        print(f"{'CALLBACK':>8}  {'LANGUAGE':<8} {'FIRED':>5}  {'DEP':<3}  TRIGGERS")
        for callback in job.callbacks:
            dependency = "yes" if callback.from_dependency else "no"
            print(
                f"{callback.id:>8}  {callback.spec.language or 'qube':<8} {callback.fired:>5}  "
                f"{dependency:<3}  {callback.spec.triggers}"
            )
            if callback.suspended:
                print(f"{'':>8}  suspended: {callback.suspended}")
        runs = list(itertools.islice(client.callback_runs(job_id=job.id), args.runs))
        if runs:
            print(
                f"{'RUN':>8}  {'CALLBACK':>8}  {'OUTCOME':<7} {'EVENT':>7}  {'BINDING':<8} OUTPUT"
            )
            for run in runs:
                outcome = _outcome(run.outcome)
                text = (run.error or run.output).strip().replace("\n", " | ")
                print(
                    f"{run.id:>8}  {run.callback_id:>8}  {outcome:<7} {run.event_seq:>7}  "
                    f"{run.binding or '-':<8} {text}"
                )
    return EXIT_OK


def _outcome(value: int) -> str:
    name = supervisor_pb2.CallbackOutcome.Name(value)  # type: ignore[arg-type]
    return name.removeprefix("CALLBACK_OUTCOME_").lower().replace("unspecified", "pending")


def _format_event(event: event_pb2.Event) -> str:
    when = datetime.fromtimestamp(event.time.ToSeconds(), UTC).strftime("%H:%M:%S")
    name = event_pb2.EventName.Name(event.name).removeprefix("EVENT_NAME_").lower()
    kind = event_pb2.EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
    where = f"job {event.job_id}"
    if event.work_name:
        where += f" work {event.work_name}"
    if event.subjob_id >= 0:
        where += f" subjob {event.subjob_id}"
    detail = f"  ({event.message})" if event.message else ""
    return f"#{event.seq:<7} {when}  {name}-{kind:<7} {where}{detail}"


_FINAL_JOB_STATUSES = (
    job_pb2.JOB_STATUS_COMPLETE,
    job_pb2.JOB_STATUS_FAILED,
    job_pb2.JOB_STATUS_KILLED,
    job_pb2.JOB_STATUS_REMOVED,
)


def _enum_value(enum: Any, prefix: str, text: str) -> int:
    return enum.Value(f"{prefix}{text.upper()}")  # type: ignore[no-any-return]


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


class _Progress:
    """A single updating line on stderr: done/total frames of the jobs being waited for."""

    def __init__(self, client: Client, job_ids: set[int], enabled: bool) -> None:
        self.client = client
        self.job_ids = job_ids
        self.enabled = enabled
        self.shown = False
        self.last = 0.0
        self.text = ""

    def refresh(self, force: bool = False) -> None:
        if not self.enabled or (not force and time.monotonic() - self.last < 0.5):
            return
        self.last = time.monotonic()
        done = total = failed = 0
        for job_id in sorted(self.job_ids):
            counts = self.client.get_job(job_id).counts
            total += sum(
                getattr(counts, f)
                for f in ("pending", "blocked", "running", "complete", "failed", "killed")
            )
            done += counts.complete + counts.failed + counts.killed
            failed += counts.failed + counts.killed
        jobs = " ".join(map(str, sorted(self.job_ids)))
        extra = f", {failed} failed or killed" if failed else ""
        self.text = f"waiting for job {jobs}: {done}/{total} frames done{extra}"
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


def cmd_watch(client: Client, args: argparse.Namespace) -> int:
    filters: dict[str, Any] = {}
    if args.job:
        filters["job_ids"] = args.job
    if args.pgrp:
        filters["pgrps"] = args.pgrp
    labels, users = set(args.label or ()), set(args.user or ())
    if args.callbacks:
        filters["include_callback_runs"] = True
    names = {_enum_value(event_pb2.EventName, "EVENT_NAME_", n) for n in args.name or ()}
    types = {_enum_value(event_pb2.EventType, "EVENT_TYPE_", t) for t in args.type or ()}
    if types and args.callbacks:
        types.add(event_pb2.EVENT_TYPE_CALLBACK)
    if not args.until_done:
        # The server filters; with --until-done the jobs' final events must still arrive, so
        # labels, users, names and types are filtered here instead.
        for field, values in (
            ("labels", labels),
            ("users", users),
            ("names", names),
            ("types", types),
        ):
            if values:
                filters[field] = sorted(values)
    final = {
        event_pb2.EVENT_NAME_COMPLETE: EXIT_OK,
        event_pb2.EVENT_NAME_FAILED: EXIT_JOB_FAILED,
        event_pb2.EVENT_NAME_KILLED: EXIT_JOB_FAILED,
        event_pb2.EVENT_NAME_REMOVED: EXIT_JOB_FAILED,
    }
    waiting = set(args.job or ())
    result = EXIT_OK
    if args.until_done:
        if not waiting:
            print("latchwork watch: --until-done needs --job", file=sys.stderr)
            return EXIT_USAGE
        for job_id in list(waiting):
            job = client.get_job(job_id)
            if job.status in _FINAL_JOB_STATUSES and args.after_seq < 0:
                waiting.discard(job_id)
                if job.status != job_pb2.JOB_STATUS_COMPLETE:
                    result = EXIT_JOB_FAILED
        if not waiting:
            return result
    progress = _Progress(
        client,
        set(waiting),
        args.until_done and not args.no_progress and sys.stderr.isatty(),
    )
    if progress.enabled:
        filters["heartbeat_seconds"] = 1
    progress.refresh(force=True)
    try:
        for item in client.subscribe(after_seq=args.after_seq, heartbeats=True, **filters):
            assert isinstance(item, supervisor_pb2.SubscribeResponse)
            if not item.HasField("event"):
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
                    print(_format_event(event), flush=True)
                progress.draw()
            if event.event_type == event_pb2.EVENT_TYPE_WORK and event.job_id in waiting:
                progress.refresh()
            if (
                args.until_done
                and event.event_type == event_pb2.EVENT_TYPE_JOB
                and event.name in final
                and event.job_id in waiting
            ):
                waiting.discard(event.job_id)
                result = max(result, final[event.name])
                if not waiting:
                    return result
                progress.refresh(force=True)
    finally:
        progress.clear()
    return result


def _targets(values: Sequence[str]) -> tuple[list[int], list[tuple[int, str]]]:
    jobs: list[int] = []
    work: list[tuple[int, str]] = []
    for value in values:
        job, _, name = value.partition(":")
        if not job.isdigit():
            raise JobSpecError(f"{value!r}: expected JOB_ID or JOB_ID:WORK_NAME")
        if name:
            work.append((int(job), name))
        else:
            jobs.append(int(job))
    return jobs, work


def cmd_action(client: Client, args: argparse.Namespace) -> int:
    jobs, work = _targets(args.targets)
    response = client.control(args.command, jobs, work, args.reason or "")
    for result in response.results:
        target = f"{result.job_id}:{result.work_name}" if result.work_name else str(result.job_id)
        change = args.command if result.changed else "unchanged"
        print(f"{target}\t{change}\t{_status(result.job_status)}")
    return EXIT_OK


def cmd_logs(client: Client, args: argparse.Namespace) -> int:
    jobs, work = _targets([args.target])
    if not work:
        job = client.get_job(jobs[0])
        work = [(job.id, w.name) for w in job.work if w.attempts]
    for job_id, name in work:
        offset = 0
        while True:
            chunk = client.work_output(
                job_id, name, stderr=args.stderr, attempt=args.attempt, offset=offset
            )
            sys.stdout.buffer.write(chunk.data)
            sys.stdout.flush()
            offset = chunk.next_offset
            if chunk.eof or (not chunk.data and not args.follow):
                break
            if not chunk.data:
                time.sleep(0.5)
    return EXIT_OK


QUBE_EPOCH = 946702800  # Qube time 0 (2000-01-01 00:00 EST) in Unix time


def _atom_text(atom: trigger_pb2.TriggerAtom) -> str:
    """The atom as it would be written in a trigger."""
    if atom.event_type in ("globaltime", "globalrepeat"):
        text = f"{atom.event_type}-{atom.time_unix - QUBE_EPOCH}"
    else:
        text = f"{atom.name}-{atom.event_type}-{atom.context}"
        if atom.event_type in ("time", "repeat"):
            text += f"-{atom.time_unix - QUBE_EPOCH}"
        elif atom.extra:
            text += f"-{atom.extra}"
    if atom.event_type in ("repeat", "globalrepeat"):
        text += f"-{atom.repeat_seconds}"
    return text


def _atoms(expr: trigger_pb2.TriggerExpr) -> list[trigger_pb2.TriggerAtom]:
    node = expr.WhichOneof("node")
    if node == "atom":
        return [expr.atom]
    if node in ("all_of", "any_of"):
        return [a for op in getattr(expr, node).operands for a in _atoms(op)]
    return []


def _tree_lines(expr: trigger_pb2.TriggerExpr, depth: int = 0) -> list[str]:
    indent = "  " * depth
    node = expr.WhichOneof("node")
    if node == "atom":
        atom = expr.atom
        parts = [f"name={atom.name}", f"type={atom.event_type}"]
        if atom.context:
            parts.append(f"context={atom.context}")
        if atom.extra:
            parts.append(f"extra={atom.extra}")
        if atom.event_type in ("time", "repeat", "globaltime", "globalrepeat"):
            moment = datetime.fromtimestamp(atom.time_unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            parts.append(f"time={moment}")
        if atom.repeat_seconds:
            parts.append(f"every={atom.repeat_seconds}s")
        return [f"{indent}atom {_atom_text(atom)}  ({' '.join(parts)}; at {atom.offset})"]
    if node in ("all_of", "any_of"):
        lines = [f"{indent}{'all of (&&)' if node == 'all_of' else 'any of (||)'}"]
        for operand in getattr(expr, node).operands:
            lines += _tree_lines(operand, depth + 1)
        return lines
    return []


def cmd_validate(client: Client, args: argparse.Namespace) -> int:
    response = client.validate_trigger(args.trigger, job_id=args.job or 0)
    if response.HasField("error"):
        error = response.error
        print(f"latchwork validate: {error.message} (at {error.offset})", file=sys.stderr)
        print(f"  {args.trigger}", file=sys.stderr)
        print(f"  {' ' * error.offset}^", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps(MessageToDict(response)))
        return EXIT_OK
    print(response.canonical)
    for line in _tree_lines(response.expr):
        print(f"  {line}")
    return EXIT_OK


STATUS_COLOURS = {
    "pending": "lightgrey",
    "blocked": "orange",
    "waiting": "gold",
    "running": "lightskyblue",
    "suspended": "plum",
    "complete": "palegreen",
    "failed": "salmon",
    "killed": "grey60",
    "removed": "white",
}


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _resolve_context(context: str, owner: job_pb2.Job, by_label: dict[str, int]) -> int | None:
    if context == "self":
        return owner.id
    if context == "parent":
        return owner.spec.pid or None
    if context.isdigit():
        return int(context)
    return by_label.get(context)


def graph_dot(client: Client, pgrp: int) -> str:
    """The process group as a Graphviz digraph: jobs, parent→child and dependency edges."""
    jobs = [client.get_job(j.id) for j in client.list_jobs(pgrps=[pgrp])]
    jobs.sort(key=lambda j: j.id)
    ids = {job.id for job in jobs}
    by_label = {job.label: job.id for job in jobs if job.label}
    lines = [
        f"digraph {_dot_quote(f'pgrp {pgrp}')} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    outside: set[int] = set()
    edges: list[str] = []
    seen: set[tuple[int, int, str]] = set()

    def edge(source: int, target: int, label: str, attrs: str = "") -> None:
        if (source, target, label) in seen:
            return
        seen.add((source, target, label))
        if source not in ids:
            outside.add(source)
        edges.append(f"  j{source} -> j{target} [label={_dot_quote(label)}{attrs}];")

    for job in jobs:
        if job.spec.pid:
            edge(job.spec.pid, job.id, "child", ", style=dashed")
        for callback in job.callbacks:
            response = client.validate_trigger(callback.spec.triggers, job_id=job.id)
            if response.HasField("error"):
                edges.append(
                    f"  // callback {callback.id} of job {job.id}: {response.error.message}"
                )
                continue
            for atom in _atoms(response.expr):
                source = _resolve_context(atom.context, job, by_label)
                if source is None or source == job.id:
                    continue  # time atoms and triggers on the job itself are no dependency
                edge(source, job.id, _atom_text(atom))
    for job in jobs:
        status = _status(job.status)
        label = f"{job.id} {job.label or '-'}\n{job.spec.name}\n{status}"
        colour = STATUS_COLOURS.get(status, "white")
        lines.append(f"  j{job.id} [label={_dot_quote(label)}, fillcolor={_dot_quote(colour)}];")
    for job_id in sorted(outside):
        lines.append(
            f'  j{job_id} [label={_dot_quote(f"{job_id} (other pgrp)")}, style="rounded,dashed"];'
        )
    lines += edges
    lines.append("}")
    return "\n".join(lines) + "\n"


def cmd_graph(client: Client, args: argparse.Namespace) -> int:
    if not any(True for _ in client.list_jobs(pgrps=[args.pgrp])):
        print(f"latchwork graph: process group {args.pgrp} has no jobs", file=sys.stderr)
        return EXIT_REFUSED
    sys.stdout.write(graph_dot(client, args.pgrp))
    return EXIT_OK


def _parser(contributed: Mapping[str, Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="latchwork", description="Latchwork job supervisor")
    parser.add_argument(
        "--address", help="supervisor address (default: $LATCHWORK_ADDRESS or localhost:50051)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    for name, command in contributed.items():
        command.configure(sub.add_parser(name, help=command.help))

    submit = sub.add_parser("submit", help="submit jobs from a JSON or YAML file ('-': stdin)")
    submit.add_argument("file")
    submit.add_argument("--pgrp", type=int, default=0, help="join this process group")
    submit.add_argument("--json", action="store_true", help="print the response as JSON")
    submit.add_argument(
        "--format",
        choices=("json", "yaml"),
        help="how the file is written (default: by suffix, .yaml/.yml or JSON; needed for '-')",
    )

    jobs = sub.add_parser("jobs", help="list jobs")
    jobs.add_argument("--status", action="append", help="only jobs in this state (repeatable)")
    jobs.add_argument("--user", action="append")
    jobs.add_argument("--pgrp", type=int, action="append")

    job = sub.add_parser("job", help="show one job with its work, callbacks and their runs")
    job.add_argument("job_id", type=int)
    job.add_argument("--json", action="store_true")
    job.add_argument("--runs", type=int, default=10, help="recent callback runs to show")

    watch = sub.add_parser("watch", help="stream events")
    watch.add_argument("--job", type=int, action="append", help="only this job (repeatable)")
    watch.add_argument("--pgrp", type=int, action="append")
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
    watch.add_argument("--until-done", action="store_true", help="exit when the --job jobs end")
    watch.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress line on stderr (it is only shown when stderr is a terminal)",
    )

    for name in ACTIONS:
        action = sub.add_parser(name, help=f"{name} jobs (ID) or work items (ID:WORK)")
        action.add_argument("targets", nargs="+")
        action.add_argument("--reason")

    logs = sub.add_parser("logs", help="print the output of JOB:WORK (or of every work of JOB)")
    logs.add_argument("target")
    logs.add_argument("--stderr", action="store_true")
    logs.add_argument("--attempt", type=int, default=0)
    logs.add_argument("--follow", "-f", action="store_true")

    validate = sub.add_parser("validate", help="check a trigger expression and show its structure")
    validate.add_argument("trigger")
    validate.add_argument("--job", type=int, help="resolve self, parent and labels for this job")
    validate.add_argument("--json", action="store_true", help="print the response as JSON")

    graph = sub.add_parser("graph", help="the process group's dependency graph as Graphviz DOT")
    graph.add_argument("pgrp", type=int)

    cli_hosts.configure(sub)
    return parser


_HANDLERS = {
    "submit": cmd_submit,
    "jobs": cmd_jobs,
    "job": cmd_job,
    "watch": cmd_watch,
    "logs": cmd_logs,
    "validate": cmd_validate,
    "graph": cmd_graph,
    **dict.fromkeys(ACTIONS, cmd_action),
    **cli_hosts.HANDLERS,
}
_CLIENT_COMMANDS = frozenset(_HANDLERS)
"""The subcommands the client itself defines (each talks to a supervisor)."""


def main(argv: Sequence[str] | None = None) -> int:
    contributed = contributed_commands()
    args = _parser(contributed).parse_args(argv)
    if args.command in contributed:
        return contributed[args.command].run(args)
    try:
        with Client(args.address) as client:
            return _HANDLERS[args.command](client, args)
    except (JobSpecError, OSError, ValueError) as error:
        print(f"latchwork {args.command}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except LatchworkError as error:
        if error.code == grpc.StatusCode.UNAVAILABLE:
            print(f"latchwork: cannot reach the supervisor: {error.message}", file=sys.stderr)
            return EXIT_UNREACHABLE
        print(f"latchwork {args.command}: {error.message}", file=sys.stderr)
        for violation in error.violations:
            print(f"  {violation.field}: {violation.description}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # The reader (head, less) went away; that is not an error of ours.
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
