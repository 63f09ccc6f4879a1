"""The ``latchwork`` command: run the supervisor or a worker, and drive it from a shell.

Exit codes a script can rely on: 0 success; 1 the supervisor refused the request; 2 bad usage
or an unreadable job file; 3 the supervisor could not be reached; 4 a job watched with
``--until-done`` ended failed or killed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict

from latchwork.v1 import event_pb2, job_pb2

from .client import ACTIONS, Client, LatchworkError
from .jobspec import JobSpecError

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_JOB_FAILED = 0, 1, 2, 3, 4


def _status(value: int) -> str:
    return job_pb2.JobStatus.Name(value).removeprefix("JOB_STATUS_").lower()  # type: ignore[arg-type]


def _work_status(value: int) -> str:
    return job_pb2.WorkStatus.Name(value).removeprefix("WORK_STATUS_").lower()  # type: ignore[arg-type]


def _load_jobs(path: str) -> list[dict[str, Any]]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    if path.endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
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
    response = client.submit(_load_jobs(args.file), pgrp=args.pgrp)
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
    print(f"{'WORK':<16} {'STATUS':<9} {'TRIES':>5} {'EXIT':>5}  HOST  MESSAGE")
    for work in job.work:
        print(
            f"{work.name:<16} {_work_status(work.status):<9} {work.attempts:>5} "
            f"{work.exit_code:>5}  {work.host}  {work.message}"
        )
    return EXIT_OK


def _format_event(event: event_pb2.Event) -> str:
    when = datetime.fromtimestamp(event.time.ToSeconds(), UTC).strftime("%H:%M:%S")
    name = event_pb2.EventName.Name(event.name).removeprefix("EVENT_NAME_").lower()  # type: ignore[arg-type]
    kind = event_pb2.EventType.Name(event.type).removeprefix("EVENT_TYPE_").lower()  # type: ignore[arg-type]
    where = f"job {event.job_id}"
    if event.work_name:
        where += f" work {event.work_name}"
    if event.subjob_id >= 0:
        where += f" subjob {event.subjob_id}"
    detail = f"  ({event.message})" if event.message else ""
    return f"#{event.seq:<7} {when}  {name}-{kind:<7} {where}{detail}"


def cmd_watch(client: Client, args: argparse.Namespace) -> int:
    filters: dict[str, Any] = {}
    if args.job:
        filters["job_ids"] = args.job
    if args.pgrp:
        filters["pgrps"] = args.pgrp
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
            if (
                job.status
                in (
                    job_pb2.JOB_STATUS_COMPLETE,
                    job_pb2.JOB_STATUS_FAILED,
                    job_pb2.JOB_STATUS_KILLED,
                    job_pb2.JOB_STATUS_REMOVED,
                )
                and args.after_seq < 0
            ):
                waiting.discard(job_id)
                if job.status != job_pb2.JOB_STATUS_COMPLETE:
                    result = EXIT_JOB_FAILED
        if not waiting:
            return result
    for event in client.subscribe(after_seq=args.after_seq, **filters):
        assert isinstance(event, event_pb2.Event)
        if args.json:
            print(json.dumps(MessageToDict(event)), flush=True)
        else:
            print(_format_event(event), flush=True)
        if args.until_done and event.type == event_pb2.EVENT_TYPE_JOB and event.name in final:
            waiting.discard(event.job_id)
            result = max(result, final[event.name])
            if not waiting:
                return result
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="latchwork", description="Latchwork job supervisor")
    parser.add_argument(
        "--address", help="supervisor address (default: $LATCHWORK_ADDRESS or localhost:50051)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the supervisor with its local worker pool")
    serve.add_argument("--config", type=Path, help="TOML settings file")
    serve.add_argument("--data-dir", type=Path, help="where the database and output live")
    serve.add_argument("--listen", help="address to listen on (default localhost:50051)")
    serve.add_argument(
        "--slots", type=int, help="local worker slots (default: one per core; 0: none)"
    )
    serve.add_argument("--host", help="host name shown for local work")

    worker = sub.add_parser("worker", help="run work for a supervisor on this machine")
    worker.add_argument("--supervisor", required=True, help="HOST:PORT of the supervisor")
    worker.add_argument("--slots", type=int, default=0, help="work items at once (default: cores)")
    worker.add_argument("--host", default="", help="host name shown in events")

    submit = sub.add_parser("submit", help="submit jobs from a JSON or YAML file ('-': stdin)")
    submit.add_argument("file")
    submit.add_argument("--pgrp", type=int, default=0, help="join this process group")
    submit.add_argument("--json", action="store_true", help="print the response as JSON")

    jobs = sub.add_parser("jobs", help="list jobs")
    jobs.add_argument("--status", action="append", help="only jobs in this state (repeatable)")
    jobs.add_argument("--user", action="append")
    jobs.add_argument("--pgrp", type=int, action="append")

    job = sub.add_parser("job", help="show one job with its work")
    job.add_argument("job_id", type=int)
    job.add_argument("--json", action="store_true")

    watch = sub.add_parser("watch", help="stream events")
    watch.add_argument("--job", type=int, action="append", help="only this job (repeatable)")
    watch.add_argument("--pgrp", type=int, action="append")
    watch.add_argument(
        "--after-seq", type=int, default=0, help="resume after this seq (-1: new only)"
    )
    watch.add_argument("--json", action="store_true", help="one JSON event per line")
    watch.add_argument("--until-done", action="store_true", help="exit when the --job jobs end")

    for name in ACTIONS:
        action = sub.add_parser(name, help=f"{name} jobs (ID) or work items (ID:WORK)")
        action.add_argument("targets", nargs="+")
        action.add_argument("--reason")

    logs = sub.add_parser("logs", help="print the output of JOB:WORK (or of every work of JOB)")
    logs.add_argument("target")
    logs.add_argument("--stderr", action="store_true")
    logs.add_argument("--attempt", type=int, default=0)
    logs.add_argument("--follow", "-f", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        from latchwork.server.app import run
        from latchwork.server.config import ConfigError, load_settings

        try:
            settings = load_settings(
                config_file=args.config,
                data_dir=args.data_dir,
                listen=args.listen,
                slots=args.slots,
                host=args.host,
            )
        except ConfigError as error:
            print(f"latchwork serve: {error}", file=sys.stderr)
            return EXIT_USAGE
        run(settings)
        return EXIT_OK
    if args.command == "worker":
        import os

        from latchwork.server.remote_worker import run as run_worker

        run_worker(args.supervisor, args.slots or os.cpu_count() or 1, args.host)
        return EXIT_OK
    handlers = {
        "submit": cmd_submit,
        "jobs": cmd_jobs,
        "job": cmd_job,
        "watch": cmd_watch,
        "logs": cmd_logs,
        **dict.fromkeys(ACTIONS, cmd_action),
    }
    try:
        with Client(args.address) as client:
            return handlers[args.command](client, args)
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
