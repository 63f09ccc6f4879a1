"""A gRPC server that streams pre-built messages: the reference for Subscribe throughput.

Same server flavour as the supervisor (``grpc.aio``, same message size limits, a server-streaming
method written as an async generator), no Latchwork code: it loads a file of length-prefixed
messages once (``bench/subscribe_throughput.py`` writes there the very bytes of the supervisor's
``SubscribeResponse`` events) and answers every call with the first ``x-count`` of them (all of
them without that metadata), as raw bytes, without any serialization. Run:
``python bench/bare_stream_server.py MESSAGES_FILE``; it prints ``serving on HOST:PORT``.
"""

from __future__ import annotations

import asyncio
import signal
import struct
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

METHOD = "/latchwork.bench.Bare/Stream"
COUNT_KEY = "x-count"
_LENGTH = struct.Struct("<I")


def write_messages(path: Path, messages: list[bytes]) -> None:
    with open(path, "wb") as out:
        for message in messages:
            out.write(_LENGTH.pack(len(message)))
            out.write(message)


def read_messages(path: Path) -> list[bytes]:
    data = path.read_bytes()
    messages = []
    at = 0
    while at < len(data):
        (size,) = _LENGTH.unpack_from(data, at)
        at += _LENGTH.size
        messages.append(data[at : at + size])
        at += size
    return messages


async def serve(messages: list[bytes]) -> None:
    async def stream(
        request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> AsyncIterator[bytes]:
        count = len(messages)
        for key, value in context.invocation_metadata() or ():
            if key == COUNT_KEY:
                count = int(value)
        for message in messages[:count]:
            yield message

    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ]
    )
    service, method = METHOD.split("/")[1:]
    handler = grpc.method_handlers_generic_handler(
        service, {method: grpc.unary_stream_rpc_method_handler(stream)}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"bare stream: {len(messages)} messages; serving on 127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.stop(1)


if __name__ == "__main__":
    asyncio.run(serve(read_messages(Path(sys.argv[1]))))
