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
import struct
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.trivial_server import serve_method

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

    banner = f"bare stream: {len(messages)} messages"
    await serve_method(METHOD, grpc.unary_stream_rpc_method_handler(stream), banner)


if __name__ == "__main__":
    asyncio.run(serve(read_messages(Path(sys.argv[1]))))
