"""The ``latchwork`` commands about the farm: ``hosts``, ``host`` (show, lock, unlock), ``modify``.

They live apart from ``cli`` because they are one subject (hosts and what a wrangler changes
after submit) and ``cli`` is long enough already. ``cli`` registers them: ``configure`` adds
their parsers to its subcommands and ``HANDLERS`` maps each name to its function, which gets a
connected ``Client`` and the parsed arguments and returns an exit code (``exit_codes``);
``cli.main`` turns a refused request into exit 1 as for every other command.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.json_format import MessageToDict

from latchwork.v1 import host_pb2

from .cli_table import table
from .client import Client
from .exit_codes import EXIT_OK

# The routing strings ``modify`` can change, as JobChanges (and JobSpec) name them.
ROUTING_OPTIONS = (
    "reservations",
    "requirements",
    "hosts",
    "omithosts",
    "groups",
    "omitgroups",
    "cluster",
    "restrictions",
)
HOST_ACTIONS = ("lock", "unlock")


def host_state(host: host_pb2.Host) -> str:
    """``up``, ``down`` or ``locked`` (up but drained by an admin); ``down,locked`` when both."""
    down = host.state == host_pb2.HOST_STATE_DOWN
    if host.locked:
        return "down,locked" if down else "locked"
    return "down" if down else "up"


def gigabytes(mb: int) -> str:
    """Memory for a table: "64G", "1.5G", "0"."""
    if mb <= 0:
        return "0"
    value = mb / 1024
    return f"{value:.0f}G" if value >= 10 or value == int(value) else f"{value:.1f}G"


def ago(stamp: Any, now: float | None = None) -> str:
    """How long ago a Timestamp was ("4s ago", "3m ago"); "-" when unset."""
    if not stamp.seconds:
        return "-"
    seconds = max(0, int((time.time() if now is None else now) - stamp.seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def host_row(host: host_pb2.Host, now: float | None = None) -> list[str]:
    resources = host.resources
    return [
        host.name,
        host_state(host),
        f"{host.slots_in_use}/{host.slots}",
        str(resources.cores),
        f"{gigabytes(host.memory_mb_in_use)}/{gigabytes(resources.memory_mb)}",
        f"{host.gpus_in_use}/{resources.gpus}",
        ",".join(host.groups) or "-",
        host.cluster or "-",
        "local" if host.local else ago(host.last_heartbeat, now),
    ]


HOST_HEADERS = (
    *("NAME", "STATE", "SLOTS", "CORES", "MEMORY"),
    *("GPUS", "GROUPS", "CLUSTER", "HEARTBEAT"),
)


def cmd_hosts(client: Client, args: argparse.Namespace) -> int:
    response = client.list_hosts(args.names)
    if args.json:
        print(json.dumps(MessageToDict(response), indent=2))
        return EXIT_OK
    for line in table(HOST_HEADERS, [host_row(h) for h in response.hosts], right={2, 3, 4, 5}):
        print(line)
    if response.resources:
        print()
        rows = [[r.name, str(r.in_use), str(r.limit)] for r in response.resources]
        for line in table(("RESOURCE", "IN USE", "LIMIT"), rows, right={1, 2}):
            print(line)
    return EXIT_OK


def _when(stamp: Any) -> str:
    if not stamp.seconds:
        return "-"
    return datetime.fromtimestamp(stamp.seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def host_lines(host: host_pb2.Host, running: Sequence[str], now: float | None = None) -> list[str]:
    """``latchwork host NAME``: the host, what it has and uses, and the work it runs now."""
    resources = host.resources
    kind = "  (the supervisor's own pool)" if host.local else ""
    lines = [f"host {host.name}  {host_state(host)}{kind}"]
    if host.locked and host.lock_reason:
        lines.append(f"locked: {host.lock_reason}")
    platform = "/".join(p for p in (resources.os, resources.arch) if p)
    lines.append(
        f"slots {host.slots_in_use}/{host.slots}  cores {resources.cores}  "
        f"memory {gigabytes(host.memory_mb_in_use)}/{gigabytes(resources.memory_mb)}  "
        f"gpus {host.gpus_in_use}/{resources.gpus}" + (f"  {platform}" if platform else "")
    )
    lines.append(
        f"groups {','.join(host.groups) or '-'}  cluster {host.cluster or '-'}  "
        f"restrictions {host.restrictions or '-'}"
    )
    if host.properties:
        pairs = " ".join(f"{k}={v}" for k, v in sorted(host.properties.items()))
        lines.append(f"properties {pairs}")
    heartbeat = "none needed" if host.local else ago(host.last_heartbeat, now)
    lines.append(f"registered {_when(host.registered)}  last heartbeat {heartbeat}")
    lines.append(f"RUNNING ({len(running)})")
    lines.extend(running)
    return lines


def cmd_host(client: Client, args: argparse.Namespace) -> int:
    words: list[str] = args.words
    if words[0] in HOST_ACTIONS and len(words) > 1:
        action, names = words[0], words[1:]
        controlled = client.control_hosts(action, names, args.reason or "")
        for result in controlled.results:
            print(f"{result.name}\t{action + 'ed' if result.changed else 'unchanged'}")
        return EXIT_OK
    if len(words) > 1:
        raise ValueError(f"one host name, or lock|unlock NAME...; got {' '.join(words)!r}")
    response = client.get_host(words[0])
    if args.json:
        print(json.dumps(MessageToDict(response), indent=2))
        return EXIT_OK
    for line in host_lines(response.host, list(response.running)):
        print(line)
    return EXIT_OK


def key_value(text: str) -> tuple[str, str]:
    """``--data KEY=VALUE``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def cmd_modify(client: Client, args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("priority", "cpus", "retry", *ROUTING_OPTIONS)
        if getattr(args, name) is not None
    }
    if args.data:
        changes["data"] = dict(args.data)
    if args.remove_data:
        changes["remove_data"] = args.remove_data
    response = client.modify_jobs(args.job_ids, reason=args.reason or "", **changes)
    changed = set(response.changed_job_ids)
    for job_id in dict.fromkeys(args.job_ids):
        print(f"{job_id}\t{'modified' if job_id in changed else 'unchanged'}")
    return EXIT_OK


def configure(sub: Any) -> None:
    """Add ``hosts``, ``host`` and ``modify`` to the ``latchwork`` subcommands (``sub``)."""
    hosts = sub.add_parser("hosts", help="list the farm's hosts and its global resources")
    hosts.add_argument("names", nargs="*", metavar="NAME", help="only these hosts")
    hosts.add_argument("--json", action="store_true", help="print the response as JSON")

    host = sub.add_parser(
        "host", help="show one host and its running work, or lock|unlock hosts (admins)"
    )
    host.add_argument("words", nargs="+", metavar="NAME | lock NAME... | unlock NAME...")
    host.add_argument("--reason", help="why a host is locked (shown with it and in its event)")
    host.add_argument("--json", action="store_true", help="print the host as JSON")

    modify = sub.add_parser("modify", help="change jobs after submit (all of them or none)")
    modify.add_argument("job_ids", nargs="+", type=int, metavar="JOB_ID")
    modify.add_argument("--priority", type=int, help="lower runs first")
    modify.add_argument("--cpus", type=int, help="instances")
    modify.add_argument("--retry", type=int, help="automatic retries of a failed work item")
    for name in ROUTING_OPTIONS:
        modify.add_argument(f"--{name}", metavar="S", help=f"new {name} ('' clears it)")
    modify.add_argument(
        "--data", type=key_value, action="append", metavar="KEY=VALUE", help="set (repeatable)"
    )
    modify.add_argument(
        "--remove-data", action="append", metavar="KEY", help="remove a data key (repeatable)"
    )
    modify.add_argument("--reason", help="why (in each job's modified event)")


HANDLERS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "hosts": cmd_hosts,
    "host": cmd_host,
    "modify": cmd_modify,
}
