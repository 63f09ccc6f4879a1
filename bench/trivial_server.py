"""A gRPC server that does nothing: the reference for a bare round trip.

Same server flavour as the supervisor (``grpc.aio``, same message size limits), one unary
method on raw bytes: it takes the request without parsing it and answers with as many bytes
as the ``x-response-bytes`` metadata asks for, so a round trip can carry exactly the sizes of a
real Submit request and response. Run: ``python bench/trivial_server.py``; it prints
``serving on HOST:PORT``.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import grpc

METHOD = "/latchwork.bench.Trivial/Echo"
RESPONSE_BYTES_KEY = "x-response-bytes"


async def _echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    size = 0
    for key, value in context.invocation_metadata() or ():
        if key == RESPONSE_BYTES_KEY:
            size = int(value)
    return bytes(size)


async def serve_method(method: str, handler: grpc.RpcMethodHandler[Any, Any], banner: str) -> None:
    """Serve one method (``/service/name``) on a free loopback port until SIGTERM or SIGINT;
    prints ``<banner>; serving on 127.0.0.1:PORT`` once listening (the harness waits for it)."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ]
    )
    service, name = method.split("/")[1:]
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {name: handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"{banner}; serving on 127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.stop(1)


async def serve() -> None:
    await serve_method(METHOD, grpc.unary_unary_rpc_method_handler(_echo), "trivial")


if __name__ == "__main__":
    asyncio.run(serve())
