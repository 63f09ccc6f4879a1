"""Tests that need root: they run, or they fail; they never skip.

CI runs as root (.ci/run), as does every developer machine the project is built on (`make test`
installs Debian packages). A test marked :data:`needs_root` (or calling :func:`require_root`)
on a machine that is not root fails with the reason, so a missing privilege can never pass for
a green suite. The marker is checked by ``pytest_runtest_setup`` in tests/conftest.py.
"""

from __future__ import annotations

import os

import pytest

IS_ROOT = os.geteuid() == 0


def needs_root(reason: str) -> pytest.MarkDecorator:
    """Mark a test (or module, through ``pytestmark``) that needs root for ``reason``."""
    return pytest.mark.needs_root(reason)


def require_root(reason: str) -> None:
    """Inside a test or fixture: fail, naming ``reason``, unless the suite runs as root."""
    if not IS_ROOT:
        pytest.fail(f"{reason} needs root: run the suite as root, as CI does (.ci/run)")
