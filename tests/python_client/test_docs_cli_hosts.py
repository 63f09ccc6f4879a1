"""The examples of ``hosts``, ``host`` and ``modify`` in docs/cli.md run as written.

Each ``sh`` block of those commands runs in order, as the user ``wrangler`` (an admin), against
the stand-in farm of ``fake_farm`` (the hosts the examples show: ``head``, ``node07``,
``node08``), and prints what the page says, but for the times, which cannot be pinned: a date
and an age in seconds match any date and any age.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from latchwork.client import cli

from .fake_farm import ADMIN, serve_fake_farm

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
COMMANDS = ("latchwork hosts", "latchwork host ", "latchwork modify ")


def _blocks() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", CLI_DOC.read_text(), re.S)
    return [b for b in blocks if b.startswith("$ ") and b[2:].startswith(COMMANDS)]


def _steps(block: str) -> list[tuple[list[str], str]]:
    """(arguments after ``latchwork``, expected output) for each ``$`` line of the block."""
    steps: list[tuple[list[str], str]] = []
    for line in block.splitlines(keepends=True):
        if line.startswith("$ "):
            steps.append((shlex.split(line[2:])[1:], ""))
        else:
            args, expected = steps[-1]
            steps[-1] = (args, expected + line)
    return steps


def _unpinned(text: str) -> str:
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<date>", text)
    return re.sub(r"\b\d+s ago\b", "<seconds> ago", text)


BLOCKS = _blocks()


def test_the_page_has_the_examples() -> None:
    commands = [args[0] for block in BLOCKS for args, _ in _steps(block)]
    assert {"hosts", "host", "modify"} <= set(commands)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.splitlines()[0][2:] for b in BLOCKS])
def test_example(block: str, capsys: pytest.CaptureFixture[str]) -> None:
    with serve_fake_farm() as (address, _), pytest.MonkeyPatch.context() as patch:
        patch.setenv("LATCHWORK_USER", ADMIN)
        for args, expected in _steps(block):
            code = cli.main(["--address", address, *args])
            out, err = capsys.readouterr()
            assert code == 0, err
            assert _unpinned(out) == _unpinned(expected), " ".join(args)
