"""The ``latchwork`` command's exit codes: scripts rely on them (docs/cli.md), and every module
of the command returns them, so they live apart from any one of those modules."""

from __future__ import annotations

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_JOB_FAILED = 0, 1, 2, 3, 4
