"""The ``latchwork`` command: run the supervisor or a worker, and drive it from a shell.

This module only assembles the command: its parser, the subcommands of the client's
``cli_*`` modules (``cli_control``: submit and the actions; ``cli_jobs``: jobs, job, logs;
``cli_watch``; ``cli_triggers``: validate, graph; ``cli_hosts``), the subcommands other
packages contribute through the ``latchwork.commands`` entry-point group (the server: ``serve``
and ``worker``; the client may not import them), and how a failure ends the process.

Exit codes a script can rely on (``exit_codes``): 0 success; 1 the supervisor refused the
request; 2 bad usage or an unreadable job file; 3 the supervisor could not be reached; 4 a job
watched with ``--until-done`` ended failed or killed; 141 the reader of the output went away
(``latchwork jobs | head``), silently, as for any command a closed pipe stops.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, entry_points, version
from typing import Protocol

import grpc

from . import cli_control, cli_hosts, cli_jobs, cli_triggers, cli_watch, cli_why
from .client import Client, LatchworkError
from .exit_codes import EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE
from .jobspec import JobSpecError

COMMAND_GROUP = "latchwork.commands"
"""Entry-point group of the subcommands other packages contribute (pyproject.toml)."""

EXIT_PIPE_CLOSED = 141
"""128 + SIGPIPE: what a shell reports for a command stopped by a closed pipe."""


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


def _version() -> str:
    try:
        return f"latchwork {version('latchwork')}"
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "latchwork (not installed)"


def _parser(contributed: Mapping[str, Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="latchwork", description="Latchwork job supervisor")
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument(
        "--address",
        help="supervisor address, or several comma-separated (a leader and its standbys) "
        "(default: $LATCHWORK_ADDRESS or localhost:50051)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, command in contributed.items():
        command.configure(sub.add_parser(name, help=command.help))
    # In the order ``latchwork --help`` lists them (pinned by tests/python_client).
    cli_control.configure_submit(sub)
    cli_jobs.configure_jobs(sub)
    cli_watch.configure(sub)
    cli_control.configure_actions(sub)
    cli_jobs.configure_logs(sub)
    cli_triggers.configure(sub)
    cli_why.configure(sub)
    cli_hosts.configure(sub)
    return parser


_HANDLERS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    **cli_control.HANDLERS,
    **cli_jobs.HANDLERS,
    **cli_watch.HANDLERS,
    **cli_triggers.HANDLERS,
    **cli_why.HANDLERS,
    **cli_hosts.HANDLERS,
}
_CLIENT_COMMANDS = frozenset(_HANDLERS)
"""The subcommands the client itself defines (each talks to a supervisor)."""


def _report_refusal(command: str, error: LatchworkError) -> None:
    """The refusal on stderr: its message, then each field violation the message does not
    already say (a single violation is often the whole message)."""
    print(f"latchwork {command}: {error.message}", file=sys.stderr)
    for violation in error.violations:
        text = f"{violation.field}: {violation.description}"
        if text != error.message and violation.description != error.message:
            print(f"  {text}", file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what is still
    buffered cannot fail a second time (and print "Exception ignored") on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def run(args: argparse.Namespace) -> int:
    """Carry out a client subcommand against the supervisor; its exit code."""
    try:
        with Client(args.address) as client:
            return _HANDLERS[args.command](client, args)
    except BrokenPipeError:
        raise  # before OSError: a reader that went away is no usage error
    except (JobSpecError, OSError, ValueError) as error:
        print(f"latchwork {args.command}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except LatchworkError as error:
        if error.code == grpc.StatusCode.UNAVAILABLE:
            print(f"latchwork: cannot reach the supervisor: {error.message}", file=sys.stderr)
            return EXIT_UNREACHABLE
        _report_refusal(args.command, error)
        return EXIT_REFUSED


def main(argv: Sequence[str] | None = None) -> int:
    contributed = contributed_commands()
    args = _parser(contributed).parse_args(argv)
    try:
        if args.command in contributed:
            return contributed[args.command].run(args)
        return run(args)
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # The reader (head, less) went away: not an error of ours, and nothing to say.
        _silence_stdout()
        return EXIT_PIPE_CLOSED


if __name__ == "__main__":
    sys.exit(main())
