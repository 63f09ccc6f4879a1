"""The Python examples of docs/python-client.md and docs/moving-from-qube.md run as written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.client import qb
from latchwork.v1 import job_pb2

from .serverproc import ServerProcess
from .takeover import free_addresses

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLES = [
    (name, block)
    for name in ("python-client.md", "moving-from-qube.md")
    for block in re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), re.S)
]


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("client-docs") / "data", slots=4).start()
    qb.connect(server.address)
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("doc", "code"), EXAMPLES, ids=[f"{d}-{i}" for i, (d, _) in enumerate(EXAMPLES)]
)
def test_example(docs_server: ServerProcess, doc: str, code: str) -> None:
    with docs_server.client() as lw:
        namespace = {
            "lw": lw,
            "address": docs_server.address,
            "standby": free_addresses(1)[0],  # a standby does not listen on its address
            "KILLED": job_pb2.JOB_STATUS_KILLED,
        }
        exec(compile(code, f"docs/{doc}", "exec"), namespace)


KILL_EXAMPLE = next(code for doc, code in EXAMPLES if 'lw.control("kill"' in code)


@pytest.mark.parametrize("run", range(5))
def test_kill_example_reads_the_output_every_time(docs_server: ServerProcess, run: int) -> None:
    """The kill example reads back what the frame printed before it was killed; it waits for
    that line itself, so it passes every run, however the frame and the kill interleave."""
    test_example(docs_server, "python-client.md", KILL_EXAMPLE)
