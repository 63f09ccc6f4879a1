"""One place that turns every exception a servicer lets escape into a plain gRPC status.

Servicers raise the supervisor's errors (core/errors.py) and never catch them; here each
becomes the status ``api/errors.py`` maps its kind to, with the same bounded message and
details wherever it was raised. Without this grpc answers ``UNKNOWN: Unexpected <class
'sqlite3.OperationalError'>: ...``: a Python class name and no hint of what to do. Storage
failures become RESOURCE_EXHAUSTED (full) or UNAVAILABLE (anything else) with a message a person
can act on; any other exception becomes INTERNAL with a short reference that is also in the log
line carrying the traceback. Aborts (``context.abort``) are grpc's own control flow and pass
untouched.
"""

from __future__ import annotations

import errno
import inspect
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc

from ..core.errors import SupervisorError
from ..store.errors import StorageError, StorageFull
from ..throttled_log import ThrottledLog
from .errors import refuse

log = logging.getLogger("latchwork.unexpected")
_storage_log = ThrottledLog(log)

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def _internal(error: Exception, method: str) -> str:
    reference = uuid.uuid4().hex[:10]
    log.error("%s failed unexpectedly (reference %s)", method, reference, exc_info=error)
    return f"the supervisor failed unexpectedly (reference {reference} in its log)"


class UnexpectedErrorInterceptor(grpc.aio.ServerInterceptor):
    """Wraps the handler of every method, of every service, unary and streaming alike."""

    async def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        # The grpc stubs type handlers for the sync API only, hence Any here.
        handler: Any = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = str(getattr(handler_call_details, "method", ""))
        wrappers = (
            ("unary_unary", _wrap_unary, grpc.unary_unary_rpc_method_handler),
            ("unary_stream", _wrap_stream, grpc.unary_stream_rpc_method_handler),
            ("stream_unary", _wrap_unary, grpc.stream_unary_rpc_method_handler),
            ("stream_stream", _wrap_stream, grpc.stream_stream_rpc_method_handler),
        )
        for kind, wrap, make in wrappers:
            inner = getattr(handler, kind)
            if inner is None:
                continue
            if not (inspect.iscoroutinefunction(inner) or inspect.isasyncgenfunction(inner)):
                return handler  # a synchronous handler: grpc runs it in a thread; left as is
            return make(
                wrap(inner, method), handler.request_deserializer, handler.response_serializer
            )
        return handler


async def _refuse(context: Any, error: Exception, method: str) -> None:
    if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
        error = StorageFull(str(error))
    if isinstance(error, StorageError):
        _storage_log.warning("%s refused: storage failure: %s", method, error)
    if isinstance(error, SupervisorError):
        await refuse(context, error)
    await context.abort(grpc.StatusCode.INTERNAL, _internal(error, method))


def _wrap_unary(inner: Any, method: str) -> Any:
    async def unary(request: Any, context: Any) -> Any:
        try:
            return await inner(request, context)
        except grpc.aio.BaseError:
            raise  # context.abort and grpc's own errors
        except Exception as error:  # the one place that catches all
            await _refuse(context, error, method)

    return unary


def _wrap_stream(inner: Any, method: str) -> Any:
    async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
        try:
            result = inner(request, context)
            if inspect.isasyncgen(result):
                async for item in result:
                    yield item
            else:
                await result  # a handler that writes with context.write
        except grpc.aio.BaseError:
            raise
        except Exception as error:
            await _refuse(context, error, method)

    return stream
