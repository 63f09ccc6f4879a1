"""Who is calling over HTTP, and what they may do before the gRPC API is even asked.

A caller is identified by an ``Authorization: Bearer <token>`` header or by the session cookie
``latchwork_session`` that ``POST /api/login`` sets (HttpOnly, SameSite=Strict). With a tokens
file every ``/api`` call but login, logout and whoami needs one (401 otherwise). Without one
(open mode) ``POST /api/login {"user": "name"}`` names the user, as ``latchwork-user`` does
over gRPC; until then the caller reads anonymously and may not act. Every POST must carry
``X-Latchwork: 1``: a cross-site form cannot set that header, so a page elsewhere cannot make a
logged-in browser kill jobs (the SameSite cookie is the second wall).

What the caller may see or change is then decided by the gRPC API itself (:mod:`.bridge`), or,
for the reads served in process (the event stream, the overview), by the same read policy
applied to the same identity (:func:`read_scope`).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from ..auth import Identity
from ..core.visibility import ReadPolicy, ReadScope
from .bridge import ANONYMOUS, Credentials
from .errors import ApiError, invalid
from .json_bodies import read_object

COOKIE = "latchwork_session"
CSRF_HEADER = "X-Latchwork"
SESSION_SECONDS = 7 * 86400
MAX_SESSIONS = 10_000
MAX_USER_NAME = 64
OPEN_PATHS = frozenset({"/api/login", "/api/logout", "/api/whoami"})


@dataclass(frozen=True, slots=True)
class Caller:
    credentials: Credentials
    user: str
    admin: bool
    logged_in: bool


def read_scope(policy: ReadPolicy, caller: Caller) -> ReadScope:
    """What ``caller`` may read when the HTTP side asks the supervisor in process (the event
    stream, the overview): the scope the gRPC API gives the same identity, an anonymous reader
    of an open supervisor included (``auth``: ``anonymous``)."""
    return policy.scope(caller.user or "anonymous", admin=caller.admin)


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """The supervisor's tokens (empty: open mode), its admins and its read visibility."""

    tokens: dict[str, Identity]
    admins: frozenset[str]
    visibility: str

    @property
    def open(self) -> bool:
        return not self.tokens

    def identify(self, token: str) -> Identity | None:
        for known, identity in self.tokens.items():
            if hmac.compare_digest(known, token):
                return identity
        return None


ANONYMOUS_CALLER = Caller(ANONYMOUS, "", False, False)
CALLER_KEY: web.RequestKey[Caller] = web.RequestKey("caller", Caller)


class Sessions:
    """Logged-in browsers by session id, in memory (a restart logs everyone out), the oldest
    dropped beyond MAX_SESSIONS."""

    def __init__(self, policy: AccessPolicy) -> None:
        self.policy = policy
        self._sessions: OrderedDict[str, tuple[Caller, float]] = OrderedDict()

    def caller(self, request: web.Request) -> Caller:
        header = request.headers.get("Authorization", "")
        if header:
            return self._bearer(header)
        session_id = request.cookies.get(COOKIE, "")
        found = self._sessions.get(session_id) if session_id else None
        if found is None:
            return ANONYMOUS_CALLER
        caller, expires = found
        if expires < time.monotonic():
            del self._sessions[session_id]
            return ANONYMOUS_CALLER
        return caller

    def _bearer(self, header: str) -> Caller:
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token.strip():
            raise ApiError(401, "UNAUTHENTICATED", "Authorization: use 'Bearer <token>'")
        if self.policy.open:
            raise ApiError(
                401,
                "UNAUTHENTICATED",
                "this supervisor has no tokens file (open mode): log in with "
                'POST /api/login {"user": "name"} instead of a bearer token',
            )
        return self._token_caller(token.strip())

    def _token_caller(self, token: str) -> Caller:
        identity = self.policy.identify(token)
        if identity is None:
            raise ApiError(401, "UNAUTHENTICATED", "the token is not valid for this supervisor")
        if identity.worker:
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                f"{identity.user!r}'s token has role 'worker': it may call WorkerService only",
            )
        return Caller(Credentials(token=token), identity.user, identity.admin, True)

    def _open_caller(self, user: object) -> Caller:
        if not isinstance(user, str) or not user.strip():
            raise invalid("user", "required: the user name to act as (open mode)")
        user = user.strip()
        if len(user) > MAX_USER_NAME or not user.isprintable():
            raise invalid("user", f"at most {MAX_USER_NAME} printable characters")
        return Caller(Credentials(user=user), user, user in self.policy.admins, True)

    async def login(self, request: web.Request) -> web.Response:
        body = await read_object(request)
        if self.policy.open:
            caller = self._open_caller(body.get("user"))
        else:
            token = body.get("token")
            if not isinstance(token, str) or not token.strip():
                raise invalid("token", "required: a bearer token of this supervisor")
            caller = self._token_caller(token.strip())
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = (caller, time.monotonic() + SESSION_SECONDS)
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        response = web.json_response(self.whoami_body(caller))
        response.set_cookie(
            COOKIE,
            session_id,
            httponly=True,
            samesite="Strict",
            path="/",
            max_age=SESSION_SECONDS,
        )
        return response

    async def logout(self, request: web.Request) -> web.Response:
        self._sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = web.json_response({"logged_in": False})
        response.del_cookie(COOKIE, path="/")
        return response

    async def whoami(self, request: web.Request) -> web.Response:
        return web.json_response(self.whoami_body(request[CALLER_KEY]))

    def whoami_body(self, caller: Caller) -> dict[str, object]:
        return {
            "user": caller.user,
            "admin": caller.admin,
            "open": self.policy.open,
            "logged_in": caller.logged_in,
            "visibility": self.policy.visibility,
        }

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """CSRF header on every POST, then the caller (``request[CALLER_KEY]``), then the
        login rules for ``/api``."""
        if request.method == "POST" and request.headers.get(CSRF_HEADER) != "1":
            raise ApiError(
                403, "PERMISSION_DENIED", f"a POST must carry the header '{CSRF_HEADER}: 1'"
            )
        caller = self.caller(request)
        request[CALLER_KEY] = caller
        if request.path.startswith("/api/") and request.path not in OPEN_PATHS:
            if not caller.logged_in and not self.policy.open:
                raise ApiError(
                    401,
                    "UNAUTHENTICATED",
                    'log in first: POST /api/login {"token": "..."} or an Authorization header',
                )
            if not caller.logged_in and request.method == "POST":
                raise ApiError(
                    401,
                    "UNAUTHENTICATED",
                    "this supervisor is open: reading needs no login, acting does: POST "
                    '/api/login {"user": "name"}',
                )
        return await handler(request)
