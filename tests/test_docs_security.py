"""docs/security.md: the page names real tests and real sections, so it cannot drift.

The threat model's table points each layer at the tests that attack it and at the page that
explains it; both must exist, or the page promises a proof nobody runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "security.md").read_text()
LINKS = re.findall(r"\]\(([^)#]*)(?:#([^)]*))?\)", DOC)
TESTS = sorted(set(re.findall(r"`(tests/[\w/]*test_\w+\.py)`", DOC)))


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_page_names_tests() -> None:
    assert len(TESTS) >= 10


@pytest.mark.parametrize("path", TESTS)
def test_every_named_test_exists_and_tests_something(path: str) -> None:
    text = (ROOT / path).read_text()
    assert re.search(r"^(async )?def test_", text, re.MULTILINE), path


@pytest.mark.parametrize(("target", "anchor"), sorted(set(LINKS)))
def test_every_link_reaches_a_section(target: str, anchor: str) -> None:
    page = DOC if not target else (ROOT / "docs" / target).read_text()
    if anchor:
        assert anchor in _anchors(page), f"{target or 'security.md'}#{anchor}"


def test_no_section_is_left_unwritten() -> None:
    assert "_SECTION" not in DOC
