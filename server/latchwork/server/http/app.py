"""The aiohttp application: the routes, static files, ``/healthz`` and ``/metrics``.

Static files are the dashboard's (``static/``, written by the UI's own build); ``/`` is its
index.html. They are served with ETags and ``Cache-Control: no-cache`` so a browser revalidates
after an upgrade instead of mixing old and new scripts. Nothing is fetched from elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from aiohttp import web

from . import graph, job_events, overview, routes, sse
from .bridge import Bridge
from .calls import BRIDGE_KEY
from .errors import ApiError, from_grpc
from .local_events import LocalEvents
from .local_overview import LocalOverview
from .sessions import AccessPolicy, Sessions

STATIC_DIR = Path(__file__).parent / "static"
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An ApiError or a failed gRPC call as the ``{"error": ...}`` body and its status."""
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except grpc.aio.AioRpcError as error:
        return from_grpc(error).response()


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


async def index(request: web.Request) -> web.StreamResponse:
    page = STATIC_DIR / "index.html"
    if not page.is_file():
        raise web.HTTPNotFound(text="the dashboard is not built (no static/index.html)")
    return web.FileResponse(page, headers={"Cache-Control": "no-cache"})


async def _no_cache_static(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-cache"


def metrics_handler(metrics_text: Callable[[], bytes]) -> Handler:
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=metrics_text(), headers={"Content-Type": METRICS_CONTENT_TYPE})

    return metrics


def build_app(
    bridge: Bridge,
    policy: AccessPolicy,
    metrics_text: Callable[[], bytes] | None,
    events: LocalEvents,
    local_overview: LocalOverview,
) -> web.Application:
    sessions = Sessions(policy)
    app = web.Application(middlewares=[json_errors, sessions.middleware])
    app[BRIDGE_KEY] = bridge
    app.on_response_prepare.append(_no_cache_static)
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    if metrics_text is not None:
        app.router.add_get("/metrics", metrics_handler(metrics_text))
    if STATIC_DIR.is_dir():
        app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    app.router.add_post("/api/login", sessions.login)
    app.router.add_post("/api/logout", sessions.logout)
    app.router.add_get("/api/whoami", sessions.whoami)
    app[sse.EVENTS] = events
    app[sse.FEEDS] = sse.Feeds()
    app[sse.SHARED_READS] = policy.open or policy.visibility == "all"
    app[overview.OVERVIEW] = local_overview
    app.router.add_get("/api/overview", overview.overview)
    app.router.add_get("/api/jobs", routes.list_jobs)
    app.router.add_get("/api/jobs/{id}", routes.get_job)
    app.router.add_get("/api/jobs/{id}/explain", routes.explain_job)
    app.router.add_get("/api/jobs/{id}/runs", routes.list_runs)
    app.router.add_get("/api/jobs/{id}/events", job_events.job_events)
    app.router.add_get("/api/jobs/{id}/work/{name}/output", routes.work_output)
    app.router.add_post("/api/jobs/{id}/control", routes.control_job)
    app.router.add_post("/api/jobs/{id}/modify", routes.modify_job)
    app.router.add_get("/api/graph", graph.graph)
    app.router.add_get("/api/hosts", routes.list_hosts)
    app.router.add_get("/api/events", sse.events)
    return app
