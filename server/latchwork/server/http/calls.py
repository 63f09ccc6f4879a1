"""The gRPC call a handler makes for its caller: the stub and the caller's metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from latchwork.v1.supervisor_pb2_grpc import SupervisorServiceAsyncStub

from .bridge import Bridge
from .sessions import CALLER_KEY

BRIDGE_KEY: web.AppKey[Bridge] = web.AppKey("bridge", Bridge)


def stub(request: web.Request) -> SupervisorServiceAsyncStub:
    return request.app[BRIDGE_KEY].stub


def metadata(request: web.Request) -> tuple[tuple[str, str], ...]:
    return request[CALLER_KEY].credentials.metadata()
