"""docs/errors.md: its examples print what the page shows, and its ranges are the code's."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server.api import checks, errors

from .serverproc import ServerProcess

DOC = (Path(__file__).resolve().parent.parent / "docs" / "errors.md").read_text()
CODE = re.findall(r"```python\n(.*?)```", DOC, re.S)
SHOWN = re.findall(r"```text\n(.*?)```", DOC, re.S)


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("errors-docs") / "data", slots=0).start()
    yield server
    server.stop()


def test_every_example_has_its_output() -> None:
    assert len(CODE) == len(SHOWN) >= 5


@pytest.mark.parametrize("index", range(len(CODE)))
def test_example_prints_what_the_page_shows(docs_server: ServerProcess, index: int) -> None:
    output = io.StringIO()
    with docs_server.client() as lw, contextlib.redirect_stdout(output):
        namespace = {"lw": lw, "address": docs_server.address}
        exec(compile(CODE[index], f"docs/errors.md example {index}", "exec"), namespace)
    assert output.getvalue() == SHOWN[index]


def test_the_numbers_on_the_page_are_the_code_s() -> None:
    assert f"at most **{errors.MAX_VIOLATIONS}** violations" in DOC
    assert f"cut to {errors.MAX_FIELD_CHARS} characters" in DOC
    assert f"description to {errors.MAX_DESCRIPTION_CHARS}" in DOC
    assert errors.MESSAGE_BUDGET == 2048 and "under 2 KiB" in DOC
    assert errors.DETAILS_BUDGET == 2560 and "under 2.5 KiB" in DOC
    low, high = checks.MIN_HEARTBEAT_SECONDS, checks.MAX_HEARTBEAT_SECONDS
    assert f"or {low} to {high} |" in DOC
    assert f"at most {checks.MAX_REASON_CHARS} characters" in DOC
