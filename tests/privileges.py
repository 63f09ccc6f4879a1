"""Tests that need root: they run wherever the suite runs as root, CI included, and never skip
there.

CI runs as root (.ci/run), so a test marked :data:`needs_root` always runs in CI; if CI ever ran
as another user, it would fail rather than pass by skipping. On a developer's machine without
root it is skipped, with the reason.
"""

from __future__ import annotations

import os

import pytest

IS_ROOT = os.geteuid() == 0
IN_CI = bool(os.environ.get("CI"))


def needs_root(reason: str) -> pytest.MarkDecorator:
    """Skip outside CI when not root; in CI, run (and fail loudly if not root)."""
    return pytest.mark.skipif(not IS_ROOT and not IN_CI, reason=f"{reason} (needs root)")


def require_root(reason: str) -> None:
    """Inside a test or fixture: the same rule as :func:`needs_root`."""
    if not IS_ROOT:
        if IN_CI:
            pytest.fail(f"{reason}: CI must run as root")
        pytest.skip(f"{reason} (needs root)")
