"""The ``latchwork worker`` subcommand, contributed by the worker package.

The ``latchwork`` command belongs to the client package, which may import neither the server
nor the worker; so the worker offers this subcommand through the ``latchwork.commands``
entry-point group (pyproject.toml), as the server offers ``serve``
(:mod:`latchwork.server.commands`). It has the shape ``latchwork.client.cli`` expects:
``help``, ``configure(parser)`` and ``run(args) -> exit code``. The worker itself (gRPC, the
runner) is imported when the command runs, so that ``latchwork --help`` stays quick.
"""

from __future__ import annotations

import argparse
import os
import sys

from latchwork.server.commands import EXIT_OK, EXIT_REFUSED, EXIT_USAGE


class Worker:
    """Run work for a remote supervisor on this machine."""

    help = "run work for a supervisor on this machine"

    def configure(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--supervisor",
            required=True,
            help="HOST:PORT of the supervisor, or several comma-separated (a leader and its "
            "standbys: the worker moves to the one that answers); with tokens, LATCHWORK_TOKEN "
            "holds this worker's token (role worker, docs/configuration.md)",
        )
        parser.add_argument(
            "--slots", type=int, default=0, help="work items at once (default: cores)"
        )
        parser.add_argument("--host", default="", help="host name shown in events")
        # What the host offers (detected; each overridable) and what it is, for routing.
        parser.add_argument("--cores", type=int, default=0, help="cores (default: detected)")
        parser.add_argument(
            "--memory", type=int, default=0, metavar="MB", help="memory in MB (default: detected)"
        )
        parser.add_argument(
            "--gpus", type=int, default=None, help="GPUs (default: nvidia-smi -L, else 0)"
        )
        parser.add_argument(
            "--property",
            action="append",
            default=[],
            type=_key_value,
            metavar="KEY=VALUE",
            help="a property jobs' requirements can match (repeatable)",
        )
        parser.add_argument(
            "--group", action="append", default=[], metavar="NAME", help="a group (repeatable)"
        )
        parser.add_argument("--cluster", default="", help="the host's cluster (/farm/a)")
        parser.add_argument(
            "--restrictions", default="", help="take only jobs of these clusters (/show/+)"
        )
        # Who frames run as and what they inherit (docs/operations.md#who-frames-run-as).
        parser.add_argument(
            "--run-as",
            choices=("owner", "worker"),
            default=None,
            help="frames run as their job's owner or as this worker "
            "(default: owner when run as root with a token, else worker)",
        )
        parser.add_argument(
            "--run-as-min-uid",
            type=int,
            default=1000,
            metavar="UID",
            help="with --run-as owner, owners below this uid are refused (default: 1000)",
        )
        parser.add_argument(
            "--env-passthrough",
            default="",
            metavar="NAMES",
            help="comma-separated variables of this worker's environment frames also get",
        )

    def run(self, args: argparse.Namespace) -> int:
        from latchwork.server.frame_user import FramePolicy, default_run_as, parse_passthrough
        from latchwork.server.host_registry import HostInfo
        from latchwork.server.machine import detect_resources
        from latchwork.server.startup import StartupError
        from latchwork.worker.process import run

        for name in ("slots", "cores", "memory", "gpus"):
            if (getattr(args, name) or 0) < 0:
                print(f"latchwork worker: --{name} must not be negative", file=sys.stderr)
                return EXIT_USAGE
        resources = detect_resources(cores=args.cores, memory_mb=args.memory, gpus=args.gpus)
        slots = args.slots or resources.cores
        info = HostInfo(
            args.host,
            slots,
            resources,
            properties=dict(args.property),
            groups=tuple(args.group),
            cluster=args.cluster,
            restrictions=args.restrictions,
        )
        # The worker has a token when it sends one (LATCHWORK_TOKEN, or a --token flag).
        has_token = bool(getattr(args, "token", "") or os.environ.get("LATCHWORK_TOKEN"))
        policy = FramePolicy(
            run_as=args.run_as or default_run_as(has_token),
            min_uid=args.run_as_min_uid,
            passthrough=parse_passthrough(args.env_passthrough),
        )
        try:
            run(args.supervisor, slots, args.host, info, policy)
        except StartupError as error:
            print(f"latchwork worker: {error}", file=sys.stderr)
            return EXIT_REFUSED
        return EXIT_OK


def _key_value(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key.strip(), value.strip()


worker = Worker()
