"""Each generated client's example against a real ``latchwork serve`` (issue 6).

``make test`` builds the clients first (``make clients-build``); a missing build fails here
rather than being skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.cutting_proxy import CuttingProxy
from tests.clients.example_run import LANGUAGES, check_example, run_example
from tests.serverproc import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", slots=2).start()
    yield process
    process.stop()


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_streams_a_then_b_without_gaps(language: str, server: ServerProcess) -> None:
    run = run_example(language, server.address)
    check_example(run)
    # All of both jobs' events, and nothing else, on a server that only this example uses.
    assert {e["job"] for e in run.events} == {"A", "B"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_resumes_after_the_connection_is_cut(language: str, server: ServerProcess) -> None:
    with CuttingProxy(server.address) as proxy:
        cut: list[int] = []
        run = run_example(language, proxy.address, on_first_event=lambda: cut.append(proxy.cut()))
        assert cut and cut[0] >= 1, "the proxy had no connection to cut"
        assert proxy.connections >= 2, "the client never reconnected"
    check_example(run)
