"""A real in-process grpc.aio server behind the supervisor's UnexpectedErrorInterceptor, for
tests of what a handler's exception becomes on the wire (one copy for every such test)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from latchwork.server.api.unexpected import UnexpectedErrorInterceptor


@contextlib.asynccontextmanager
async def intercepted_server(
    service: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
) -> AsyncIterator[str]:
    """Serve ``handlers`` as ``service`` on a loopback port; yields its address."""
    server = grpc.aio.server(interceptors=[UnexpectedErrorInterceptor()])
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


async def refused(address: str, service: str, method: str) -> grpc.aio.AioRpcError:
    """Call a unary method that must fail; its error."""
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
                f"/{service}/{method}"
            )
            await call(b"")
    return caught.value
