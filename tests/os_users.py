"""Real OS users for the least-privilege tests: created with ``useradd``, removed afterwards.

Tests that use them need root (:mod:`tests.privileges`); CI runs as root, so they always run
there. Names are unique per test (``lw13a_<hex>``) so parallel or aborted runs never collide.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class Users:
    """Two OS users (the first also in a group of its own) and a group, removed at the end."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.group = f"lw13g_{tag}"
        self.alice, self.bob = f"lw13a_{tag}", f"lw13b_{tag}"
        subprocess.run(["groupadd", self.group], check=True)
        subprocess.run(["useradd", "-m", "-G", self.group, self.alice], check=True)
        subprocess.run(["useradd", "-m", self.bob], check=True)

    def remove(self) -> None:
        for name in (self.alice, self.bob):
            subprocess.run(["userdel", "-r", name], check=False, capture_output=True)
        subprocess.run(["groupdel", self.group], check=False, capture_output=True)


@pytest.fixture
def users() -> Iterator[Users]:
    made = Users()
    try:
        yield made
    finally:
        made.remove()


def token_of(name: str) -> str:
    """The bearer token :func:`write_tokens` gives ``name``."""
    return f"tok-{name}-0123456789"


def write_tokens(path: Path, users: list[str], *, admins: tuple[str, ...] = ()) -> Path:
    """A tokens file (mode 0600, as the supervisor demands) with one token per user."""
    lines = []
    for name in users:
        lines.append(f'[[token]]\ntoken = "{token_of(name)}"\nuser = "{name}"\n')
        if name in admins:
            lines.append('role = "admin"\n')
        lines.append("\n")
    path.write_text("".join(lines))
    path.chmod(0o600)
    return path
