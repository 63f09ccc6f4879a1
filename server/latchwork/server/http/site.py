"""Binding the HTTP address and running the application beside the gRPC server.

The address is bound at start, before the store is opened, like gRPC's. The default address
(``127.0.0.1:50052``) may be taken by another supervisor on the same machine: the supervisor
then logs a warning and serves gRPC without the dashboard. An address configured on purpose
that cannot be bound stops the start, naming it. Without a tokens file a non-loopback address
is refused as gRPC's is (:mod:`..open_mode`): the dashboard can act as whoever logs in.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from aiohttp import web

from ..open_mode import listens_on_loopback
from ..startup import StartupError
from .app import build_app
from .bridge import Bridge
from .local_events import LocalEvents
from .local_overview import LocalOverview
from .sessions import AccessPolicy

log = logging.getLogger("latchwork")

DEFAULT_HTTP_LISTEN = "127.0.0.1:50052"
SHUTDOWN_SECONDS = 1.0


def bind_http(listen: str, *, has_tokens: bool, allow_open_network: bool) -> socket.socket | None:
    """The listening socket for ``http_listen`` (None: the dashboard is off)."""
    if not listen:
        return None
    host, _, port_text = listen.rpartition(":")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise StartupError(f"http_listen = {listen!r}: use host:port (port 0 picks a free one)")
    if not has_tokens and not allow_open_network and not listens_on_loopback(listen):
        raise StartupError(
            f"refusing to serve the dashboard on {listen} without a tokens file: in open mode "
            "whoever connects names their own user; configure tokens_file, use a loopback "
            "http_listen (127.0.0.1:50052), or set allow_open_network = true (--insecure-open)"
        )
    try:
        return _bind(host.strip("[]") or "0.0.0.0", int(port_text))
    except OSError as error:
        if listen == DEFAULT_HTTP_LISTEN:
            log.warning(
                "the dashboard's default address %s cannot be used (%s): serving gRPC without "
                'it; set http_listen to another address, or "" to turn it off',
                listen,
                error.strerror or error,
            )
            return None
        raise StartupError(
            f"cannot listen on {listen} (http_listen): {error.strerror or error}"
        ) from None


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class HttpSide:
    """The running HTTP side: its runner and the private bridge channel."""

    def __init__(
        self, runner: web.AppRunner, bridge: Bridge, events: LocalEvents, url: str
    ) -> None:
        self.runner = runner
        self.bridge = bridge
        self.events = events
        self.url = url

    async def stop(self) -> None:
        # Open event streams end first instead of holding the stop.
        self.events.close()
        await self.bridge.close()
        await self.runner.cleanup()


async def start_http(
    sock: socket.socket,
    bridge_address: str,
    policy: AccessPolicy,
    events: LocalEvents,
    local_overview: LocalOverview,
    metrics_text: Callable[[], bytes] | None = None,
) -> HttpSide:
    """Serve the dashboard on ``sock``, calling the supervisor at ``bridge_address`` (and
    reading its events through ``events``, its overview through ``local_overview``)."""
    bridge = Bridge(bridge_address)
    runner = web.AppRunner(
        build_app(bridge, policy, metrics_text, events, local_overview),
        access_log=None,
        shutdown_timeout=SHUTDOWN_SECONDS,
        handler_cancellation=True,
    )
    await runner.setup()
    await web.SockSite(runner, sock).start()
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return HttpSide(runner, bridge, events, f"http://{shown}:{port}/")
