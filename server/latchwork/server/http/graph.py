"""``GET /api/graph?pgrp=N`` or ``?job=N``: jobs as nodes, dependencies as edges.

Nodes are the jobs of the process group (ListJobs). Edges come from each job's GetJob (its
``child_ids`` and ``spec.pid``: parent → child) and ExplainJob (each trigger atom's
``watches_job_id``: the watched job → the job whose callback watches it, labelled with the
atom's text). With ``?job=`` the groups one edge away from the job's group are drawn too; with
``?pgrp=`` a job of another group at the end of an edge is added alone. Every call is the
caller's own, so a job they may not see is simply left out. The graph is bounded (MAX_NODES).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc
from aiohttp import web

from latchwork.v1 import job_pb2, supervisor_pb2

if TYPE_CHECKING:
    from latchwork.v1.supervisor_pb2_grpc import SupervisorServiceAsyncStub

from .calls import metadata, stub
from .errors import invalid
from .job_events import Metadata
from .json_bodies import int_param

MAX_NODES = 500
CONCURRENT_CALLS = 16
HIDDEN = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED)


@dataclass
class Graph:
    nodes: dict[int, dict[str, Any]] = field(default_factory=dict)
    edges: dict[tuple[int, int, str, str], dict[str, Any]] = field(default_factory=dict)
    linked: set[int] = field(default_factory=set)  # edge ends not among the nodes
    truncated: bool = False

    def add_edge(self, source: int, target: int, kind: str, trigger: str = "") -> None:
        edge = {"from": source, "to": target, "kind": kind, "trigger": trigger}
        self.edges[(source, target, kind, trigger)] = edge

    def body(self) -> dict[str, Any]:
        return {
            "nodes": list(self.nodes.values()),
            "edges": [
                e for e in self.edges.values() if e["from"] in self.nodes and e["to"] in self.nodes
            ],
            "truncated": self.truncated,
        }


def node(job: job_pb2.Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.spec.name,
        "label": job.label,
        "status": job_pb2.JobStatus.Name(job.status),
        "pgrp": job.pgrp,
        "user": job.user,
    }


class GraphBuilder:
    def __init__(self, service: SupervisorServiceAsyncStub, md: Metadata) -> None:
        self.service = service
        self.md = md
        self.graph = Graph()
        self._limit = asyncio.Semaphore(CONCURRENT_CALLS)
        self._explained: set[int] = set()

    async def add_group(self, pgrp: int) -> None:
        token = ""
        while True:
            page = await self.service.ListJobs(
                supervisor_pb2.ListJobsRequest(pgrps=[pgrp], page_size=1000, page_token=token),
                metadata=self.md,
            )
            for job in page.jobs:
                if len(self.graph.nodes) >= MAX_NODES:
                    self.graph.truncated = True
                    return
                self.graph.nodes.setdefault(job.id, node(job))
            token = page.next_page_token
            if not token:
                return

    async def link_all(self) -> None:
        """Edges of every node not linked yet."""
        todo = [job_id for job_id in self.graph.nodes if job_id not in self._explained]
        self._explained.update(todo)
        await asyncio.gather(*(self._link(job_id) for job_id in todo))
        self.graph.linked = {
            end
            for edge in self.graph.edges.values()
            for end in (edge["from"], edge["to"])
            if end not in self.graph.nodes
        }

    async def _link(self, job_id: int) -> None:
        async with self._limit:
            try:
                job = (
                    await self.service.GetJob(
                        supervisor_pb2.GetJobRequest(job_id=job_id), metadata=self.md
                    )
                ).job
            except grpc.aio.AioRpcError as error:
                if error.code() in HIDDEN:
                    return
                raise
            for child in job.child_ids:
                self.graph.add_edge(job_id, child, "child")
            if job.spec.pid:
                self.graph.add_edge(job.spec.pid, job_id, "child")
            try:
                explained = await self.service.ExplainJob(
                    supervisor_pb2.ExplainJobRequest(job_id=job_id), metadata=self.md
                )
            except grpc.aio.AioRpcError as error:
                if error.code() in (*HIDDEN, grpc.StatusCode.UNIMPLEMENTED):
                    return
                raise
        for callback in explained.callbacks:
            for atom in _atoms(callback.root):
                if atom.watches_job_id and atom.watches_job_id != job_id:
                    self.graph.add_edge(atom.watches_job_id, job_id, "trigger", atom.text)

    async def job(self, job_id: int) -> job_pb2.Job | None:
        try:
            answer = await self.service.GetJob(
                supervisor_pb2.GetJobRequest(job_id=job_id), metadata=self.md
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in HIDDEN:
                return None
            raise
        return answer.job


def _atoms(root: supervisor_pb2.TriggerNode) -> Iterator[supervisor_pb2.TriggerNode]:
    if root.kind == "atom":
        yield root
    for child in root.children:
        yield from _atoms(child)


async def graph(request: web.Request) -> web.Response:
    pgrp = int_param(request.query, "pgrp", 0, minimum=0)
    job_id = int_param(request.query, "job", 0, minimum=0)
    if bool(pgrp) == bool(job_id):
        raise invalid("pgrp", "give either pgrp or job (a positive id)")
    builder = GraphBuilder(stub(request), metadata(request))
    if job_id:
        # The job itself first: unknown or invisible is the gRPC refusal.
        answer = await builder.service.GetJob(
            supervisor_pb2.GetJobRequest(job_id=job_id), metadata=builder.md
        )
        pgrp = answer.job.pgrp
    await builder.add_group(pgrp)
    await builder.link_all()
    others = [await builder.job(end) for end in sorted(builder.graph.linked)[:MAX_NODES]]
    if job_id:
        for group in sorted({job.pgrp for job in others if job is not None}):
            await builder.add_group(group)
    else:
        for job in others:
            if job is not None and len(builder.graph.nodes) < MAX_NODES:
                builder.graph.nodes[job.id] = node(job)
    await builder.link_all()
    return web.json_response(builder.graph.body())
