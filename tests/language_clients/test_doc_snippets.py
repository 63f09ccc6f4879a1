"""The Go, TypeScript and Java snippets in the docs are excerpts of programs that are built and run.

Each such block is preceded by ``<!-- snippet-of: path -->``, naming a file that ``make
clients-build`` compiles (and that tests/language_clients runs against a live supervisor, for
the examples). Every line of the block, except ``...`` gaps, must appear in that file in the same
order, so a snippet cannot drift from the product: a renamed call or a changed request fails here.
Layout may differ (whitespace and ``//`` comments are ignored, so a snippet may join a builder
chain on one line), and a snippet imports the published package where its program, inside the
repository, imports the sources.
"""

from __future__ import annotations

import re

import pytest

from tests.language_clients.example_run import REPO

PAGES = ("clients/README.md", "docs/errors.md")
LANGUAGES = ("go", "ts", "java")
COMMENT = re.compile(r"(^|\s)//.*$")
# What a snippet says -> what its program, built inside the repository, says instead.
SAME = {'"@latchwork/client"': '"../src/index.js"'}
BLOCK = re.compile(
    r"(?:<!-- snippet-of: (?P<source>\S+) -->\n)?```(?P<lang>\w+)\n(?P<code>.*?)```", re.S
)


def snippets() -> list[tuple[str, str, str | None, str]]:
    found = []
    for page in PAGES:
        for match in BLOCK.finditer((REPO / page).read_text()):
            if match["lang"] in LANGUAGES:
                found.append((page, match["lang"], match["source"], match["code"]))
    return found


SNIPPETS = snippets()


def test_every_snippet_names_its_program() -> None:
    assert len(SNIPPETS) >= 6
    untagged = [(page, code[:60]) for page, _, source, code in SNIPPETS if source is None]
    assert not untagged, f"snippets without <!-- snippet-of: ... -->: {untagged}"


@pytest.mark.parametrize(
    ("page", "source", "code"),
    [(page, source, code) for page, _, source, code in SNIPPETS if source],
    ids=[f"{page}:{source}" for page, _, source, _ in SNIPPETS if source],
)
def test_snippet_is_an_excerpt_of_its_program(page: str, source: str, code: str) -> None:
    program = "".join(normalised(line) for line in (REPO / source).read_text().splitlines())
    at = 0
    for line in code.splitlines():
        if line.strip().startswith("..."):
            continue
        wanted = normalised(line)
        for snippet_says, program_says in SAME.items():
            wanted = wanted.replace(snippet_says, program_says)
        found = program.find(wanted, at)
        if found < 0:
            pytest.fail(f"{page}: {line.strip()!r} is not in {source}, or not in this order")
        at = found + len(wanted)


def normalised(line: str) -> str:
    """The line without its // comment and without whitespace."""
    return re.sub(r"\s+", "", COMMENT.sub("", line))
