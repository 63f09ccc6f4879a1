"""The overview in process: the farm's totals and its hosts for ``GET /api/overview``.

Every open dashboard asks for the overview every few seconds. Through the private gRPC socket
(:mod:`.bridge`) that was two calls, SummarizeFarm and ListHosts, each encoded, carried and
decoded in the supervisor's one event loop, with gRPC's threads taking the interpreter lock
between the steps: 3.5-3.6 ms per overview at the median in the dashboard benchmark, against
1.7-1.9 ms in process (docs/benchmarks.md, dashboard load). So, as the event stream does
(:mod:`.local_events`), the overview asks the supervisor directly: the same summaries as
SummarizeFarm (one :class:`~..api.farm_summary.FarmSummaries`, shared with the gRPC service,
so a dashboard and a CLI share one summary per reader scope), for the same read scope, taken
from the caller the HTTP side has authenticated. Hosts are the farm's and visible to every
reader, as ListHosts shows them; only their counts go out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from latchwork.v1 import supervisor_pb2

from ..api.farm_summary import FarmSummaries
from ..core.visibility import ReadPolicy
from ..host_registry import HostView
from ..supervisor import Supervisor
from .json_bodies import to_json
from .sessions import Caller, read_scope


class LocalOverview:
    """The overview's body for an authenticated HTTP caller."""

    def __init__(
        self, supervisor: Supervisor, read_policy: ReadPolicy, summaries: FarmSummaries
    ) -> None:
        self._supervisor = supervisor
        self._read_policy = read_policy
        self._summaries = summaries

    async def body(self, caller: Caller) -> dict[str, Any]:
        summary = await self._summaries.summary(read_scope(self._read_policy, caller))
        return overview_body(summary, self._supervisor.list_hosts(frozenset()))


def overview_body(
    summary: supervisor_pb2.SummarizeFarmResponse, hosts: Iterable[HostView]
) -> dict[str, Any]:
    """The JSON the overview page reads: SummarizeFarm's totals and failures, and host counts."""
    return {
        "head_seq": summary.head_seq,
        "jobs_by_status": dict(summary.jobs_by_status),
        "frames_by_status": dict(summary.frames_by_status),
        "hosts": host_counts(hosts),
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


def host_counts(hosts: Iterable[HostView]) -> dict[str, int]:
    """Hosts up, down and locked, and their slots, as ListHosts' fields would add up."""
    counts = {"up": 0, "down": 0, "locked": 0, "slots": 0, "slots_in_use": 0}
    for host in hosts:
        counts["up" if host.up else "down"] += 1
        counts["locked"] += host.locked
        counts["slots"] += host.info.slots
        counts["slots_in_use"] += host.in_use.slots
    return counts
