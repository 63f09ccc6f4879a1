"""Bearer-token authentication: who is calling, and whether they are an admin.

With no token file configured the supervisor is open, as on a single workstation: callers name
themselves in the ``latchwork-user`` metadata. With one, every Latchwork RPC needs
``authorization: Bearer <token>``; the token decides the user, and only admins may act for
other users or register farm-wide (global) triggers. Health and reflection stay open so load
balancers and grpcurl can see the service.

Each token has a role: ``user`` (the default), ``worker`` or ``admin``. WorkerService (leasing
work, reporting it, its output) is for workers and admins only, and a worker's token is good
for WorkerService only: whoever holds an ordinary token must not receive other users' frames,
and a token stolen from a render node must not submit or kill jobs. The supervisor's local pool
calls the supervisor in process and needs no token.
"""

from __future__ import annotations

import contextvars
import hmac
import stat
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

USER_METADATA_KEY = "latchwork-user"
PROTECTED_PREFIX = "/latchwork."
WORKER_SERVICE_PREFIX = "/latchwork.v1.WorkerService/"
ROLES = ("user", "worker", "admin")


@dataclass(frozen=True, slots=True)
class Identity:
    user: str
    admin: bool = False
    authenticated: bool = False
    worker: bool = False


CALLER: contextvars.ContextVar[Identity | None] = contextvars.ContextVar("caller", default=None)


class TokenFileError(ValueError):
    """A token file that cannot be used; names the file and the entry."""


def load_tokens(path: Path) -> dict[str, Identity]:
    """``[[token]]`` tables with ``token``, ``user`` and optional ``role`` (``user``,
    ``worker`` or ``admin``) or ``admin = true`` (the same as ``role = "admin"``)."""
    _refuse_shared(path)
    try:
        table = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise TokenFileError(f"{path}: {error}") from error
    tokens: dict[str, Identity] = {}
    for index, entry in enumerate(table.get("token", [])):
        token, user = entry.get("token"), entry.get("user")
        if not isinstance(token, str) or len(token) < 16:
            raise TokenFileError(f"{path}: token[{index}].token: a string of 16+ characters")
        if not isinstance(user, str) or not user:
            raise TokenFileError(f"{path}: token[{index}].user: required")
        role = entry.get("role", "admin" if entry.get("admin", False) else "user")
        if role not in ROLES:
            raise TokenFileError(f"{path}: token[{index}].role: one of {', '.join(ROLES)}")
        if entry.get("admin", False) and role != "admin":
            raise TokenFileError(f"{path}: token[{index}]: admin = true with role {role!r}")
        tokens[token] = Identity(user, role == "admin", True, role == "worker")
    if not tokens:
        raise TokenFileError(f"{path}: no [[token]] entries")
    return tokens


def _refuse_shared(path: Path) -> None:
    """A tokens file group or others may read or write is refused, as ssh refuses such a
    key: whoever reads it is any user, admin included (frames may run as other users)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # reading it says why
    if mode & 0o066:
        raise TokenFileError(
            f"tokens file {path} has mode {mode:04o}: group or others may read or change it, "
            f"and it holds bearer tokens; make it this supervisor's user's only (chmod 600 {path})"
        )


def caller_of(context: Any) -> Identity:
    """The identity the interceptor established, or the self-declared user (open mode)."""
    known = CALLER.get()
    if known is not None:
        return known
    for key, value in context.invocation_metadata() or ():
        if key == USER_METADATA_KEY and isinstance(value, str) and value:
            return Identity(value)
    return Identity("anonymous")


def refusal(identity: Identity, method: str) -> str | None:
    """Why ``identity`` may not call ``method`` (PERMISSION_DENIED), None when it may."""
    if method.startswith(WORKER_SERVICE_PREFIX):
        if identity.worker or identity.admin:
            return None
        return (
            f"WorkerService needs a token with role 'worker' or 'admin'; "
            f"{identity.user!r}'s token has role 'user'"
        )
    if identity.worker:
        return f"{identity.user!r}'s token has role 'worker': it may call WorkerService only"
    return None


class TokenInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, tokens: dict[str, Identity]) -> None:
        self.tokens = tokens

    def _identify(self, metadata: Any) -> Identity | None:
        for key, value in metadata or ():
            if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
                offered = value[len("Bearer ") :].strip()
                for token, identity in self.tokens.items():
                    if hmac.compare_digest(token, offered):
                        return identity
        return None

    async def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        """Wraps every kind of handler (unary or streaming requests and answers): a kind left
        unwrapped would be a method anyone may call."""
        # The grpc stubs type handlers for the sync API only, hence Any here.
        handler: Any = await continuation(handler_call_details)
        method = getattr(handler_call_details, "method", "")
        if handler is None or not method.startswith(PROTECTED_PREFIX):
            return handler
        for kind, streams, make in _HANDLER_KINDS:
            inner = getattr(handler, kind)
            if inner is not None:
                wrap = self._streaming if streams else self._answering
                return make(
                    wrap(inner, method), handler.request_deserializer, handler.response_serializer
                )
        raise TypeError(f"{method}: a handler of no known kind")

    async def _admit(
        self, context: grpc.aio.ServicerContext[Any, Any], method: str
    ) -> contextvars.Token[Identity | None]:
        """Refuse the call (UNAUTHENTICATED, PERMISSION_DENIED) or set its caller."""
        identity = self._identify(context.invocation_metadata())
        if identity is None:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "a valid 'authorization: Bearer <token>' is required",
            )
        if (why := refusal(identity, method)) is not None:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, why)
        return CALLER.set(identity)

    def _answering(self, inner: Any, method: str) -> Any:
        admit = self._admit

        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            reset = await admit(context, method)
            try:
                return await inner(request, context)
            finally:
                CALLER.reset(reset)

        return unary

    def _streaming(self, inner: Any, method: str) -> Any:
        admit = self._admit

        async def stream(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            reset = await admit(context, method)
            try:
                async for item in inner(request, context):
                    yield item
            finally:
                CALLER.reset(reset)

        return stream


_HANDLER_KINDS: tuple[tuple[str, bool, Any], ...] = (
    ("unary_unary", False, grpc.unary_unary_rpc_method_handler),
    ("stream_unary", False, grpc.stream_unary_rpc_method_handler),
    ("unary_stream", True, grpc.unary_stream_rpc_method_handler),
    ("stream_stream", True, grpc.stream_stream_rpc_method_handler),
)
"""Each kind of handler: its attribute, whether it answers with a stream, how to make one."""
