"""docs/architecture.md: every module, name and file the map names exists.

The page names code by import path (``latchwork.server.commit_pipeline``), by a short form
inside the server (``core.events.EventName``, ``server.api.convert``), and tests and protos by
file path. A rename that forgets the map fails here.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOC = (REPO / "docs" / "architecture.md").read_text()
CODE = re.findall(r"`([^`\s]+)`", DOC)

# How the page abbreviates import paths.
SHORT_FORMS = {
    "core.": "latchwork.server.core.",
    "server.": "latchwork.server.",
    "sandbox.": "latchwork.sandbox.",
}
DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+$")


def _import_path(token: str) -> str | None:
    if token.startswith("latchwork."):
        return token
    for short, full in SHORT_FORMS.items():
        if token.startswith(short):
            return full + token.removeprefix(short)
    return None


NAMES = sorted(
    {path for token in CODE if DOTTED.match(token) and (path := _import_path(token)) is not None}
)
FILES = sorted({token for token in CODE if re.match(r"^(tests|protos|docs)/[\w/.-]+$", token)})


def _resolve(path: str) -> object:
    """Import the longest module prefix of ``path``, then get the rest as attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(path)


def test_the_page_names_code_at_all() -> None:
    assert len(NAMES) > 30
    assert len(FILES) > 5


@pytest.mark.parametrize("path", NAMES)
def test_every_named_module_or_object_exists(path: str) -> None:
    assert _resolve(path) is not None


@pytest.mark.parametrize("path", FILES)
def test_every_named_file_exists(path: str) -> None:
    assert (REPO / path).exists(), path
