"""Registers SupervisorService with handlers built from its descriptor.

The generated ``add_SupervisorServiceServicer_to_server`` serializes every streamed item
itself; Subscribe sends most of its items pre-encoded (``encoded_events``), so its serializer
must let bytes through. Building the handlers from the descriptor keeps every other method
exactly as generated: same paths, same (de)serializers.
"""

from __future__ import annotations

from typing import Any

import grpc

from latchwork.v1 import supervisor_pb2

from .encoded_events import encode_stream_item


def add_supervisor_service(servicer: object, server: grpc.aio.Server) -> None:
    service = supervisor_pb2.DESCRIPTOR.services_by_name["SupervisorService"]
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        request: Any = getattr(supervisor_pb2, method.input_type.name)
        response: Any = getattr(supervisor_pb2, method.output_type.name)
        behaviour = getattr(servicer, method.name)
        if method.client_streaming:
            raise NotImplementedError(f"{method.full_name}: client streaming is not served")
        if method.server_streaming:
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                behaviour,
                request_deserializer=request.FromString,
                response_serializer=encode_stream_item,
            )
        else:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                behaviour,
                request_deserializer=request.FromString,
                response_serializer=response.SerializeToString,
            )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )
    server.add_registered_method_handlers(service.full_name, handlers)
