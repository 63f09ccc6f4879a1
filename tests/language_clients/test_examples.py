"""Each generated client's example against a real ``latchwork serve`` (issue 6).

``make test`` builds the clients first (``make clients-build``); a missing build fails here
rather than being skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from latchwork.client import Client
from tests.certs import self_signed
from tests.language_clients.cutting_proxy import CuttingProxy
from tests.language_clients.example_run import LANGUAGES, check_example, run_example
from tests.serverproc import ServerProcess


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_streams_a_then_b_without_gaps(language: str, server: ServerProcess) -> None:
    run = run_example(language, server.address)
    check_example(run)
    # All of both jobs' events, and nothing else, on a server that only this example uses.
    assert {e["job"] for e in run.events} == {"A", "B"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_follows_only_its_jobs_on_a_busy_supervisor(
    language: str, server: ServerProcess
) -> None:
    """Another user submits all through the run (blocked jobs: events, no slots taken): the
    example subscribes to its own process group only, so it never sees their events, and it has
    no deadline to run out of (the Go example used to follow the whole farm and give up after
    60 s on a busy supervisor)."""
    done = threading.Event()
    blocked = {"name": "noise", "status": "blocked", "package": {"cmdline": "true"}}
    with Client(server.address, user="other") as lw:
        noise = [lw.submit([blocked] * 5).pgrp]  # busy before the example starts

        def keep_submitting() -> None:
            while not done.is_set():
                noise.append(lw.submit([blocked] * 5).pgrp)

        other = threading.Thread(target=keep_submitting)
        other.start()
        try:
            run = run_example(language, server.address)
        finally:
            done.set()
            other.join()
    assert run.returncode == 0, run.stderr
    assert {e["job"] for e in run.events} == {"A", "B"}, "an event of another process group"
    seqs = [e["seq"] for e in run.events]
    assert seqs == sorted(set(seqs)) and seqs[0] > run.live
    last = run.events[-1]
    assert (last["job"], last["type"], last["name"]) == ("B", "job", "complete")


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_resumes_after_the_connection_is_cut(language: str, server: ServerProcess) -> None:
    with CuttingProxy(server.address) as proxy:
        cut: list[int] = []

        def cut_once(_: dict[str, Any]) -> None:
            if not cut:  # right after the first event: the stream is still running
                cut.append(proxy.cut())

        run = run_example(language, proxy.address, on_event=cut_once)
        assert cut and cut[0] >= 1, "the proxy had no connection to cut"
        assert proxy.connections >= 2, "the client never reconnected"
    check_example(run)


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_resumes_across_a_supervisor_kill_and_restart(
    language: str, tmp_path: Path
) -> None:
    first = ServerProcess(tmp_path / "data").start()
    port = first.address.rsplit(":", 1)[1]
    servers = [first]

    def kill_and_restart(event: dict[str, Any]) -> None:
        # kill -9 while A's first frame runs; the same data directory and port a moment later.
        if len(servers) == 1 and (event["type"], event["name"]) == ("work", "running"):
            servers[-1].kill9()
            extra = ["--listen", f"127.0.0.1:{port}"]
            servers.append(ServerProcess(tmp_path / "data", extra=extra).start())

    try:
        run = run_example(language, first.address, on_event=kill_and_restart)
    finally:
        servers[-1].stop()
    assert len(servers) == 2, "the supervisor was never restarted"
    # Gapless and duplicate-free across the restart. (A's running frame is usually requeued
    # with a `retried` event, but whether it finished first is timing, so it is not asserted.)
    check_example(run)


TOKEN = "pipeline-token-0123456789"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    """A supervisor with TLS and bearer tokens; yields it and its certificate (its own CA)."""
    root = tmp_path_factory.mktemp("secured")
    key, cert = self_signed(root)
    tokens = root / "tokens.toml"
    tokens.write_text(f'[[token]]\ntoken = "{TOKEN}"\nuser = "pipeline"\n')
    tokens.chmod(0o600)  # a tokens file others can read is refused
    env = {
        "LATCHWORK_TLS_CERT": str(cert),
        "LATCHWORK_TLS_KEY": str(key),
        "LATCHWORK_TOKENS_FILE": str(tokens),
        # "pipeline" is no account on this host: its frames run as the supervisor
        # (tests/test_e2e_run_as.py covers run_as = owner).
        "LATCHWORK_RUN_AS": "worker",
    }
    process = ServerProcess(root / "data", env=env).start()
    yield process, cert
    process.stop()


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_with_a_token_over_tls(language: str, secured: tuple[ServerProcess, Path]) -> None:
    server, cert = secured
    env = {"LATCHWORK_TOKEN": TOKEN, "LATCHWORK_TLS_CA": str(cert)}
    run = run_example(language, server.address, env=env)
    check_example(run)
    # The token, not LATCHWORK_USER ("example"), decided whose jobs these are.
    with Client(server.address, token=TOKEN, tls_ca=str(cert)) as client:
        for label in ("A", "B"):
            assert client.get_job(run.submitted[label]).user == "pipeline"

    refused = run_example(language, server.address, env={**env, "LATCHWORK_TOKEN": "wrong"})
    assert refused.returncode == 1
    assert "UNAUTHENTICATED" in refused.stderr or "Unauthenticated" in refused.stderr
