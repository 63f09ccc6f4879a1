"""The ``latchwork`` command's public surface is pinned: its subcommand names.

Scripts, docs and service units call ``latchwork serve``, ``latchwork submit`` and so on; the
command is composed of what the client defines and what other packages contribute through the
``latchwork.commands`` entry points (the server ``serve`` and ``migrate``, the worker ``worker``).
A subcommand that appears or disappears (an entry point lost in packaging, say) must be a
decision.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib.metadata import entry_points

from latchwork.client import cli

SUBCOMMANDS = [
    "migrate",
    "serve",
    "worker",
    "submit",
    "jobs",
    "job",
    "watch",
    "block",
    "unblock",
    "kill",
    "retry",
    "suspend",
    "resume",
    "remove",
    "requeue",
    "logs",
    "validate",
    "graph",
    "why",
    "hosts",
    "host",
    "modify",
]
"""In the order ``latchwork --help`` lists them."""


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    return list(sub.choices)


def test_subcommands_are_pinned() -> None:
    assert _subcommands(cli._parser(cli.contributed_commands())) == SUBCOMMANDS  # noqa: SLF001


def test_the_server_and_the_worker_contribute_serve_and_worker_by_entry_point() -> None:
    points = {p.name: p.value for p in entry_points(group=cli.COMMAND_GROUP)}
    assert points == {
        "migrate": "latchwork.server.commands:migrate",
        "serve": "latchwork.server.commands:serve",
        "worker": "latchwork.worker.commands:worker",
    }


def test_listing_the_commands_does_not_load_the_server() -> None:
    """Building the parser imports the contributing modules only, not the app or the worker:
    ``latchwork --help`` and the client's commands stay quick."""
    code = (
        "import sys\n"
        "from latchwork.client import cli\n"
        "cli._parser(cli.contributed_commands())\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.startswith(('latchwork.server', 'latchwork.worker'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == (
        "['latchwork.server', 'latchwork.server.commands', "
        "'latchwork.worker', 'latchwork.worker.commands']"
    )


def test_a_contributed_name_cannot_take_over_a_client_command() -> None:
    assert not set(cli.contributed_commands()) & cli._CLIENT_COMMANDS  # noqa: SLF001
