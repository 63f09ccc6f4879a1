"""The interceptor that turns whatever a servicer lets escape into a plain, typed status.
A real gRPC server on a real socket, serving a small service whose handlers fail on purpose."""

from __future__ import annotations

import errno
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from latchwork.server.store.errors import (
    StorageCorrupt,
    StorageError,
    StorageFull,
    StorageUnavailable,
)

from .intercepted import intercepted_server, refused

SERVICE = "test.Failing"


def _raise(error: Exception) -> Callable[[bytes, Any], Any]:
    async def handler(request: bytes, context: Any) -> bytes:
        raise error

    return handler


async def _abort(request: bytes, context: Any) -> bytes:
    await context.abort(grpc.StatusCode.NOT_FOUND, "job 7 does not exist")
    raise AssertionError


async def _stream_then_fail(request: bytes, context: Any) -> AsyncIterator[bytes]:
    yield b"first"
    raise KeyError("internal detail")


HANDLERS: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
    "Boom": grpc.unary_unary_rpc_method_handler(_raise(RuntimeError("boom in <class 'x'>"))),
    "Full": grpc.unary_unary_rpc_method_handler(_raise(StorageFull("database or disk is full"))),
    "Busy": grpc.unary_unary_rpc_method_handler(_raise(StorageUnavailable("database is locked"))),
    "NoSpace": grpc.unary_unary_rpc_method_handler(
        _raise(OSError(errno.ENOSPC, "No space left on device"))
    ),
    "Abort": grpc.unary_unary_rpc_method_handler(_abort),
    "Stream": grpc.unary_stream_rpc_method_handler(_stream_then_fail),
}


@pytest.fixture
async def address() -> AsyncIterator[str]:
    async with intercepted_server(SERVICE, HANDLERS) as served:
        yield served


async def _call(address: str, method: str) -> grpc.aio.AioRpcError:
    return await refused(address, SERVICE, method)


async def test_an_unexpected_error_is_internal_with_a_reference_in_the_log(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="latchwork.unexpected"):
        error = await _call(address, "Boom")
    assert error.code() == grpc.StatusCode.INTERNAL
    details = error.details() or ""
    assert "class" not in details and "boom" not in details and "Unexpected" not in details
    reference = re.search(r"reference (\w+)", details)
    assert reference, details
    logged = [r for r in caplog.records if reference.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None, "the log line carries the traceback"


@pytest.mark.parametrize(
    ("method", "code", "words"),
    [
        ("Full", grpc.StatusCode.RESOURCE_EXHAUSTED, "storage is full"),
        ("NoSpace", grpc.StatusCode.RESOURCE_EXHAUSTED, "storage is full"),
        ("Busy", grpc.StatusCode.UNAVAILABLE, "storage is unavailable"),
    ],
)
async def test_storage_failures_are_typed(
    address: str, method: str, code: grpc.StatusCode, words: str
) -> None:
    error = await _call(address, method)
    assert error.code() == code
    assert words in (error.details() or "")
    assert "Storage" not in (error.details() or "")


async def test_aborts_pass_untouched(address: str) -> None:
    error = await _call(address, "Abort")
    assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "job 7 does not exist")


async def test_a_stream_that_fails_midway_ends_internal_after_what_it_sent(address: str) -> None:
    received: list[bytes] = []
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            call: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(
                f"/{SERVICE}/Stream"
            )
            async for item in call(b""):
                received.append(item)
    assert received == [b"first"]
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "internal detail" not in (caught.value.details() or "")


def test_the_documented_messages_are_the_ones_sent() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    for kind in (StorageFull, StorageUnavailable, StorageCorrupt):
        assert kind.public_message in doc, kind.public_message
    assert issubclass(StorageCorrupt, StorageError)
