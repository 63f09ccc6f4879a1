"""Refusing to start: one line for the operator, a non-zero exit, never a traceback."""

from __future__ import annotations


class StartupError(Exception):
    """``latchwork serve`` or ``latchwork worker`` cannot start; the message says why, naming
    the file, directory, address or process in the way."""
