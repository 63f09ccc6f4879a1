"""The examples of ``jobs``, ``job``, ``watch`` and ``logs`` in docs/cli.md run as written.

A fresh supervisor gets the three jobs the page follows (``render``, ``comp`` waiting for it,
``plates`` with a failing frame); then each ``$`` line of those blocks runs in a shell, as the
user ``tester``, and prints what the page says, but for what cannot be pinned: clock times,
durations and event sequence numbers (frames of one job run side by side, so their events
interleave), and the blanks that align a column around them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.client import Client

from .serverproc import ServerProcess

CLI_DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
COMMANDS = ("latchwork jobs", "latchwork job ", "latchwork watch ", "latchwork logs ")
FINAL = (6, 7, 8, 9)  # complete failed killed removed


def _blocks() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", CLI_DOC.read_text(), re.S)
    return [b for b in blocks if b.startswith("$ ") and b[2:].startswith(COMMANDS)]


def _steps(block: str) -> list[tuple[str, str]]:
    """(the shell line after ``$``, its expected output) for each ``$`` line of the block."""
    steps: list[tuple[str, str]] = []
    for line in block.splitlines(keepends=True):
        if line.startswith("$ "):
            steps.append((line[2:].strip(), ""))
        else:
            command, expected = steps[-1]
            steps[-1] = (command, expected + line)
    return steps


def _unpinned(text: str) -> str:
    text = re.sub(r"\b\d\d:\d\d:\d\d\b", "<time>", text)
    text = re.sub(r"(?<![\w.])\d+(\.\d)?s\b|\b\d+[mhd]\d\d[smh]\b", "<duration>", text)
    text = re.sub(r"^#\d+", "#<seq>", text, flags=re.M)
    text = re.sub(r"^(\s+\d+\s+\d+\s+ok\s+)\d+", r"\1<seq>", text, flags=re.M)  # a run's event
    return re.sub(r" +", " ", text)


def _wait(client: Client, job_id: int) -> None:
    deadline = time.monotonic() + 60
    while client.get_job(job_id).status not in FINAL:
        assert time.monotonic() < deadline, f"job {job_id} did not end"
        time.sleep(0.1)


BLOCKS = _blocks()


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("docs-cli") / "data").start()
    try:
        with server.client() as client:
            render = {
                "name": "render",
                "label": "A",
                "prototype": "cmdrange",
                "package": {"cmdline": "echo rendering frame QB_FRAME_NUMBER", "range": "1-3"},
            }
            comp = {
                "name": "comp",
                "label": "B",
                "package": {"cmdline": "true"},
                "dependency": "link-complete-job-A",
            }
            client.submit([render, comp])
            _wait(client, 1)
            _wait(client, 2)
            failing = "test QB_FRAME_NUMBER != 3 || { echo 'no such plate' >&2; exit 1; }"
            plates = {
                "name": "plates",
                "prototype": "cmdrange",
                "package": {"cmdline": f"echo plate QB_FRAME_NUMBER; {failing}", "range": "1-4"},
            }
            client.submit([plates])
            _wait(client, 3)
        yield server
    finally:
        server.stop()


def test_the_page_has_the_examples() -> None:
    words = {command.split()[1] for block in BLOCKS for command, _ in _steps(block)}
    assert words == {"jobs", "job", "watch", "logs"}


@pytest.mark.parametrize("block", BLOCKS, ids=[b.splitlines()[0][2:] for b in BLOCKS])
def test_example(block: str, farm: ServerProcess) -> None:
    env = {
        **os.environ,
        "LATCHWORK_ADDRESS": farm.address,
        "LATCHWORK_USER": "tester",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for command, expected in _steps(block):
        done = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=60, env=env
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == "", command
        assert _unpinned(done.stdout) == _unpinned(expected), command
