"""The ``latchwork`` commands that change the queue: ``submit`` a job file, and the actions on
jobs and work items (``kill``, ``retry``, ``block``, ``unblock``, ``suspend``, ``resume``,
``remove``).

A job file is read here (JSON or YAML, one job, a list, or ``{"jobs": [...]}``) and checked by
the client's ``jobspec`` like any dict handed to ``Client.submit``; an unreadable one is a usage
error (exit 2), a refused one exit 1 (``cli.main``). ``cli`` registers the commands through
``configure_submit``, ``configure_actions`` and ``HANDLERS``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict

from .cli_jobs import status_name
from .client import Client
from .exit_codes import EXIT_OK
from .jobspec import JobSpecError
from .requests import ACTIONS


def load_jobs(path: str, fmt: str | None = None) -> list[dict[str, Any]]:
    """The job dicts of a file (``-``: stdin), JSON unless ``fmt`` or a .yaml/.yml suffix."""
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
    response = client.submit(load_jobs(args.file, args.format), pgrp=args.pgrp)
    if args.json:
        print(json.dumps(MessageToDict(response)))
    else:
        for job in response.jobs:
            print(f"{job.id}\t{job.label}\t{status_name(job.status)}\t{job.spec.name}")
        print(f"pgrp {response.pgrp}", file=sys.stderr)
    return EXIT_OK


def targets(values: Sequence[str]) -> tuple[list[int], list[tuple[int, str]]]:
    """``ID`` and ``ID:WORK`` arguments: the whole jobs, and the work items."""
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
    jobs, work = targets(args.targets)
    response = client.control(args.command, jobs, work, args.reason or "")
    for result in response.results:
        target = f"{result.job_id}:{result.work_name}" if result.work_name else str(result.job_id)
        change = args.command if result.changed else "unchanged"
        print(f"{target}\t{change}\t{status_name(result.job_status)}")
    return EXIT_OK


def configure_submit(sub: Any) -> None:
    """Add ``submit`` to the ``latchwork`` subcommands (``sub``)."""
    submit = sub.add_parser("submit", help="submit jobs from a JSON or YAML file ('-': stdin)")
    submit.add_argument("file")
    submit.add_argument("--pgrp", type=int, default=0, help="join this process group")
    submit.add_argument("--json", action="store_true", help="print the response as JSON")
    submit.add_argument(
        "--format",
        choices=("json", "yaml"),
        help="how the file is written (default: by suffix, .yaml/.yml or JSON; needed for '-')",
    )


def configure_actions(sub: Any) -> None:
    """Add one subcommand per action (``kill``, ``retry``...) to ``sub``."""
    for name in ACTIONS:
        action = sub.add_parser(name, help=f"{name} jobs (ID) or work items (ID:WORK)")
        action.add_argument("targets", nargs="+")
        action.add_argument("--reason")


HANDLERS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "submit": cmd_submit,
    **dict.fromkeys(ACTIONS, cmd_action),
}
