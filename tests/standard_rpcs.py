"""gRPC's own health and reflection services' client stubs, typed.

types-grpcio-health-checking's ``HealthStub`` declares no ``Check``, and
types-grpcio-reflection types ``ServerReflectionStub.ServerReflectionInfo`` as an unusable
``Incomplete``. These helpers build the real stubs and give them the types of their calls.
"""

from __future__ import annotations

from typing import Protocol, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


class HealthStub(Protocol):
    Check: grpc.UnaryUnaryMultiCallable[
        health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
    ]


class ServerReflectionStub(Protocol):
    ServerReflectionInfo: grpc.StreamStreamMultiCallable[
        reflection_pb2.ServerReflectionRequest, reflection_pb2.ServerReflectionResponse
    ]


def health_stub(channel: grpc.Channel) -> HealthStub:
    """``grpc_health.v1.health_pb2_grpc.HealthStub(channel)``."""
    return cast(HealthStub, health_pb2_grpc.HealthStub(channel))


def server_reflection_stub(channel: grpc.Channel) -> ServerReflectionStub:
    """``grpc_reflection.v1alpha.reflection_pb2_grpc.ServerReflectionStub(channel)``."""
    return cast(ServerReflectionStub, reflection_pb2_grpc.ServerReflectionStub(channel))
