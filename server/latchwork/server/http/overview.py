"""``GET /api/overview``: the farm at a glance, as the caller may see it.

SummarizeFarm (jobs and frames by status, the newest failures: one pass over the jobs on the
supervisor, shared by every reader of the same jobs for a second) and ListHosts: the same calls
and visibility as any client. The dashboard keeps it live from the event stream in between.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from latchwork.v1 import host_pb2, supervisor_pb2

if TYPE_CHECKING:
    from latchwork.v1.supervisor_pb2_grpc import SupervisorServiceAsyncStub

from .calls import metadata, stub
from .idle_turns import until_idle
from .job_events import Metadata
from .json_bodies import to_json


async def overview(request: web.Request) -> web.Response:
    await until_idle()  # a dashboard's poll waits for the supervisor's own work
    return web.json_response(await build_overview(stub(request), metadata(request)))


async def build_overview(service: SupervisorServiceAsyncStub, md: Metadata) -> dict[str, Any]:
    summary, hosts = await asyncio.gather(
        service.SummarizeFarm(supervisor_pb2.SummarizeFarmRequest(), metadata=md),
        service.ListHosts(supervisor_pb2.ListHostsRequest(), metadata=md),
    )
    return {
        "head_seq": summary.head_seq,
        "jobs_by_status": dict(summary.jobs_by_status),
        "frames_by_status": dict(summary.frames_by_status),
        "hosts": _host_counts(hosts.hosts),
        "recent_failures": [
            {
                "job_id": event.job_id,
                "job_name": summary.job_names.get(event.job_id, event.label),
                "work_name": event.work_name,
                "message": event.message,
                "seq": event.seq,
                "time": to_json(event).get("time", ""),
            }
            for event in summary.recent_failures
        ],
    }


def _host_counts(hosts: Any) -> dict[str, int]:
    up = sum(1 for h in hosts if h.state == host_pb2.HOST_STATE_UP)
    return {
        "up": up,
        "down": sum(1 for h in hosts if h.state == host_pb2.HOST_STATE_DOWN),
        "locked": sum(1 for h in hosts if h.locked),
        "slots": sum(h.slots for h in hosts),
        "slots_in_use": sum(h.slots_in_use for h in hosts),
    }
