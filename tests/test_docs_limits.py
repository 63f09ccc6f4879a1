"""docs/limits.md: its table is the limits of the code, and its example runs as written."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server.core.limits import DEFAULT_LIMITS

from .serverproc import ServerProcess

DOC = (Path(__file__).resolve().parent.parent / "docs" / "limits.md").read_text()
ROW = re.compile(r"^\| (.+?) \| ([0-9][0-9,]*)[^|]* \| `(\w+)` \|", re.M)


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("limits-docs") / "data", slots=0).start()
    yield server
    server.stop()


def test_the_table_lists_every_limit_with_its_value() -> None:
    documented = {name: int(value.replace(",", "")) for _, value, name in ROW.findall(DOC)}
    actual = {f.name: getattr(DEFAULT_LIMITS, f.name) for f in dataclasses.fields(DEFAULT_LIMITS)}
    assert documented == actual


def test_the_refusal_example_prints_what_the_page_shows(docs_server: ServerProcess) -> None:
    code = re.findall(r"```python\n(.*?)```", DOC, re.S)[0]
    shown = re.findall(r"```text\n(.*?)```", DOC, re.S)[0]
    output = io.StringIO()
    with docs_server.client() as lw, contextlib.redirect_stdout(output):
        exec(compile(code, "docs/limits.md", "exec"), {"lw": lw})
    assert output.getvalue() == shown
    with docs_server.client() as lw:
        assert list(lw.list_jobs()) == []
