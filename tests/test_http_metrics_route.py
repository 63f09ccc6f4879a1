"""``/metrics`` serves whatever text the supervisor's metrics callable gives, fresh each scrape;
without one it is 404. The application alone, on a real socket (the metrics themselves are
tested with the supervisor that owns them)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from latchwork.server.api.farm_summary import FarmSummaries
from latchwork.server.core.visibility import ReadPolicy, Visibility
from latchwork.server.http.app import build_app
from latchwork.server.http.bridge import Bridge
from latchwork.server.http.local_events import LocalEvents
from latchwork.server.http.local_overview import LocalOverview
from latchwork.server.http.sessions import AccessPolicy
from latchwork.server.output import OutputStore
from latchwork.server.store import SqliteStore
from latchwork.server.supervisor import Supervisor

from .http_client import Http
from .serverproc import ServerProcess
from .waiting import wait_job


async def _serve(
    metrics_text: Callable[[], bytes] | None, data_dir: Path
) -> tuple[web.AppRunner, str]:
    supervisor = Supervisor(SqliteStore(data_dir / "latchwork.db"), OutputStore(data_dir / "out"))
    app = build_app(
        Bridge("unix:/nonexistent/socket"),
        AccessPolicy({}, frozenset(), "all"),
        metrics_text,
        LocalEvents(supervisor, ReadPolicy(Visibility.ALL), heartbeat_seconds=15),
        LocalOverview(supervisor, ReadPolicy(Visibility.ALL), FarmSummaries(supervisor)),
    )
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    return runner, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_metrics_text_is_served_fresh_on_every_scrape(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    scrapes = []

    def exposition() -> bytes:
        scrapes.append(1)
        return (
            f"# TYPE latchwork_scrapes counter\nlatchwork_scrapes_total {len(scrapes)}\n".encode()
        )

    runner, base = await _serve(exposition, tmp_path)
    try:
        for expected in (1, 2):
            async with session.get(f"{base}/metrics") as response:
                assert response.status == 200
                assert (
                    response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
                )
                assert (await response.text()).endswith(f"latchwork_scrapes_total {expected}\n")
        async with session.get(f"{base}/healthz") as response:
            assert (response.status, await response.text()) == (200, "ok")
    finally:
        await runner.cleanup()


async def test_no_metrics_callable_is_404(session: aiohttp.ClientSession, tmp_path: Path) -> None:
    runner, base = await _serve(None, tmp_path)
    try:
        async with session.get(f"{base}/metrics") as response:
            assert response.status == 404
    finally:
        await runner.cleanup()


def test_a_served_supervisor_exposes_its_metrics(server: ServerProcess) -> None:
    """The wiring: ``latchwork serve`` hands its Metrics to the HTTP side."""
    with server.client() as client:
        job = client.submit([{"name": "m", "package": {"cmdline": "true"}}]).jobs[0]
        wait_job(client, job.id)
    reply = Http(server.http_url).get("/metrics")
    assert reply.status == 200
    families = {f.name: f for f in text_string_to_metric_families(reply.body)}
    assert {"latchwork_jobs", "latchwork_frames", "latchwork_event_head_seq"} <= set(families)
    complete = [
        s.value for s in families["latchwork_jobs"].samples if s.labels.get("status") == "complete"
    ]
    assert complete == [1.0]
