"""Every example of docs/modify.md runs as written against a real supervisor."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .serverproc import ServerProcess

DOC = (Path(__file__).resolve().parent.parent / "docs" / "modify.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC, re.S)


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("modify") / "data", slots=0).start()
    yield server
    server.stop()


def test_the_page_has_an_example() -> None:
    assert EXAMPLES


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_python_example(docs_server: ServerProcess, index: int) -> None:
    with docs_server.client() as lw:
        exec(compile(EXAMPLES[index], f"docs/modify.md example {index}", "exec"), {"lw": lw})
