"""The ``latchwork serve`` and ``latchwork migrate`` subcommands, contributed by the server.

The ``latchwork`` command belongs to the client package, which may not import the server;
so the server offers them through the ``latchwork.commands`` entry-point group
(pyproject.toml) and the client's CLI finds it there (``latchwork worker`` comes the same way
from :mod:`latchwork.worker.commands`). It is an object with ``help``, ``configure(parser)``
and ``run(args) -> exit code``, the shape ``latchwork.client.cli`` expects. The heavy imports
(the app) wait until the command runs, so that ``latchwork --help`` and every client
subcommand stay quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
"""The CLI's exit codes (documented in ``latchwork.client.cli``)."""


class Serve:
    """Run the supervisor with its local worker pool, until a signal stops it."""

    help = "run the supervisor with its local worker pool"

    def configure(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", type=Path, help="TOML settings file")
        parser.add_argument("--data-dir", type=Path, help="where the database and output live")
        parser.add_argument(
            "--store",
            metavar="URL",
            help="keep the state in PostgreSQL (postgresql://USER@HOST/DB) instead of the "
            "SQLite file in the data directory",
        )
        parser.add_argument("--listen", help="address to listen on (default localhost:50051)")
        parser.add_argument(
            "--http-listen",
            help='dashboard and HTTP API address (default 127.0.0.1:50052; "" for none)',
        )
        parser.add_argument(
            "--slots", type=int, help="local worker slots (default: one per core; 0: none)"
        )
        parser.add_argument("--host", help="host name shown for local work")
        parser.add_argument(
            "--insecure-open",
            action="store_const",
            const=True,
            dest="allow_open_network",
            help="allow open mode (no tokens file) on a non-loopback address: anyone who can "
            "reach it can act as any user",
        )

    def run(self, args: argparse.Namespace) -> int:
        from latchwork.server.app import run
        from latchwork.server.config import ConfigError, load_settings
        from latchwork.server.startup import StartupError

        try:
            settings = load_settings(
                config_file=args.config,
                data_dir=args.data_dir,
                store=args.store,
                listen=args.listen,
                http_listen=args.http_listen,
                slots=args.slots,
                host=args.host,
                allow_open_network=args.allow_open_network,
            )
        except ConfigError as error:
            print(f"latchwork serve: {error}", file=sys.stderr)
            return EXIT_USAGE
        try:
            run(settings)
        except StartupError as error:
            print(f"latchwork serve: {error}", file=sys.stderr)
            return EXIT_REFUSED
        return EXIT_OK


class Migrate:
    """Copy a stopped supervisor's SQLite store into an empty PostgreSQL database
    (docs/operations.md#postgresql); the work is in :mod:`latchwork.server.upgrade_to_postgres`."""

    help = "copy a stopped supervisor's SQLite store into an empty PostgreSQL database"

    def configure(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--from",
            dest="source",
            type=Path,
            required=True,
            metavar="PATH",
            help="the SQLite store: its latchwork.db, or the data directory holding it",
        )
        parser.add_argument(
            "--to",
            dest="target",
            required=True,
            metavar="URL",
            help="an empty PostgreSQL database: postgresql://USER[:PASSWORD]@HOST[:PORT]/DB",
        )

    def run(self, args: argparse.Namespace) -> int:
        from latchwork.server.store_location import is_postgres, masked
        from latchwork.server.upgrade_to_postgres import MigrateRefused, migrate

        if not is_postgres(args.target):
            print(
                f"latchwork migrate: --to {masked(args.target)!r}: "
                "give a postgresql:// (or postgres://) URL",
                file=sys.stderr,
            )
            return EXIT_USAGE
        try:
            lines = migrate(args.source, args.target)
        except MigrateRefused as refused:
            print(f"latchwork migrate: {refused}", file=sys.stderr)
            return EXIT_REFUSED
        print("\n".join(lines), flush=True)
        return EXIT_OK


serve = Serve()
migrate = Migrate()
