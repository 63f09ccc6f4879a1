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

from latchwork.server.commands import EXIT_OK, EXIT_REFUSED


class Worker:
    """Run work for a remote supervisor on this machine."""

    help = "run work for a supervisor on this machine"

    def configure(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--supervisor", required=True, help="HOST:PORT of the supervisor")
        parser.add_argument(
            "--slots", type=int, default=0, help="work items at once (default: cores)"
        )
        parser.add_argument("--host", default="", help="host name shown in events")

    def run(self, args: argparse.Namespace) -> int:
        from latchwork.server.startup import StartupError
        from latchwork.worker.remote_worker import run

        try:
            run(args.supervisor, args.slots or os.cpu_count() or 1, args.host)
        except StartupError as error:
            print(f"latchwork worker: {error}", file=sys.stderr)
            return EXIT_REFUSED
        return EXIT_OK


worker = Worker()
