"""The supervisor's metrics once over HTTP: the HTTP side's ``/metrics`` (server/http) serving a
real :class:`Metrics` of an in-process supervisor, parsed as Prometheus parses it. The families
moving with real work are tested in tests/unit/test_metrics.py."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from latchwork.server.api.farm_summary import FarmSummaries
from latchwork.server.core.model import JobSpec
from latchwork.server.core.visibility import ReadPolicy, Visibility
from latchwork.server.http.app import build_app
from latchwork.server.http.bridge import Bridge
from latchwork.server.http.local_events import LocalEvents
from latchwork.server.http.local_overview import LocalOverview
from latchwork.server.http.sessions import AccessPolicy
from latchwork.server.metrics import CONTENT_TYPE, Metrics
from latchwork.server.output import OutputStore
from latchwork.server.store import SqliteStore
from latchwork.server.supervisor import Supervisor

from .unit.test_metrics import FAMILIES


async def test_the_metrics_of_a_supervisor_are_scraped_over_http(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "latchwork.db")
    supervisor = Supervisor(store, OutputStore(tmp_path / "output"))
    metrics = Metrics(supervisor)
    app = build_app(
        Bridge("unix:/nonexistent/socket"),
        AccessPolicy({}, frozenset(), "all"),
        metrics.exposition,
        LocalEvents(supervisor, ReadPolicy(Visibility.ALL), heartbeat_seconds=15),
        LocalOverview(supervisor, ReadPolicy(Visibility.ALL), FarmSummaries(supervisor)),
    )
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/metrics"
    try:
        async with aiohttp.ClientSession() as session:
            supervisor.submit([JobSpec(cmdline="true")], user="alice")
            async with session.get(url) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == CONTENT_TYPE
                text = await response.text()
        families = {family.name: family for family in text_string_to_metric_families(text)}
        assert set(families) >= FAMILIES
        pending = [s for s in families["latchwork_jobs"].samples if s.labels["status"] == "pending"]
        assert [sample.value for sample in pending] == [1.0]
    finally:
        await runner.cleanup()
        metrics.close()
        store.close()
