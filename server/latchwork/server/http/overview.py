"""``GET /api/overview``: the farm at a glance, as the caller may see it.

Jobs and frames by status and the newest failures (SummarizeFarm's, shared by every reader of
the same jobs for a few seconds) and the hosts' counts, read in process
(:mod:`.local_overview`). The dashboard keeps it live from the event stream in between.
"""

from __future__ import annotations

from aiohttp import web

from .idle_turns import until_idle
from .local_overview import LocalOverview
from .sessions import CALLER_KEY

OVERVIEW: web.AppKey[LocalOverview] = web.AppKey("overview", LocalOverview)


async def overview(request: web.Request) -> web.Response:
    await until_idle()  # a dashboard's poll waits for the supervisor's own work
    body = await request.app[OVERVIEW].body(request[CALLER_KEY])
    return web.json_response(body)
