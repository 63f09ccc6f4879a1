"""docs/why.md runs as written: its Python example against a fresh supervisor, then each
``$ latchwork why`` line in a shell, printing what the page says but for the event seqs
(``@18``): frames of one job run side by side, so their events interleave."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .serverproc import ServerProcess

DOC = Path(__file__).resolve().parent.parent / "docs" / "why.md"
TEXT = DOC.read_text()
PYTHON = re.findall(r"```python\n(.*?)```", TEXT, re.S)
SHELL = [b for b in re.findall(r"```sh\n(.*?)```", TEXT, re.S) if b.startswith("$ ")]


def _unpinned(text: str) -> str:
    return re.sub(r"@\d+", "@<seq>", text)


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("docs-why") / "data").start()
    try:
        with server.client() as lw:
            (code,) = PYTHON
            exec(compile(code, str(DOC), "exec"), {"lw": lw})
        yield server
    finally:
        server.stop()


def test_the_page_has_its_examples() -> None:
    assert len(PYTHON) == 1
    assert [block.splitlines()[0] for block in SHELL] == [
        "$ latchwork why 3",
        "$ latchwork why 4",
        "$ latchwork why 5",
    ]


@pytest.mark.parametrize("block", SHELL, ids=[b.splitlines()[0][2:] for b in SHELL])
def test_example(block: str, farm: ServerProcess) -> None:
    command, expected = block.split("\n", 1)
    env = {
        **os.environ,
        "LATCHWORK_ADDRESS": farm.address,
        "LATCHWORK_USER": "tester",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        ["bash", "-c", command[2:]], capture_output=True, text=True, timeout=60, env=env
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert _unpinned(done.stdout) == _unpinned(expected)
