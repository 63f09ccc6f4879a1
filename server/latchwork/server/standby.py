"""Standing by for the lead, and keeping it: the supervisor's side of :mod:`.leadership`.

A supervisor on a PostgreSQL store that another one leads is a **standby**: it does not listen
on its gRPC address at all, so a client given several addresses finds the leader by trying
them (a standby answers nothing rather than something stale), and it opens no store (even
opening one writes: the leftovers of a staged Submit are cleared). What it does serve is
``/healthz`` on its HTTP address, answering 503 with who leads, so that a load balancer or an
operator can tell a standby from a dead supervisor. It tries to take the lead every
:func:`poll_seconds`; once it leads, app.py binds the gRPC address, loads the state from the
database and serves.

A leader renews its lease every third of it (:func:`keep_the_lead`). When a renewal finds
another supervisor took over, or the database could not be reached for a whole lease, the
leader is deposed: it stops at once, and its writes were refused already (the fence).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time

from aiohttp import web

from .leadership import Leader, Leadership, LeadershipUnavailable

log = logging.getLogger(__name__)


def poll_seconds(leadership: Leadership) -> float:
    """How often a standby tries to take the lead: a fifth of the lease, at most 1 s."""
    return min(1.0, leadership.lease_seconds / 5)


class StandbyHealth:
    """``/healthz`` of a standby: 503, ``{"status": "standby", "leader": …}``."""

    def __init__(self) -> None:
        self.leader: Leader | None = None
        self._runner: web.AppRunner | None = None

    async def healthz(self, request: web.Request) -> web.Response:
        leader = self.leader
        body = {
            "status": "standby",
            "leader": leader.address if leader else "",
            "leader_epoch": leader.epoch if leader else 0,
        }
        return web.Response(status=503, text=json.dumps(body), content_type="application/json")

    async def start(self, sock: socket.socket | None) -> None:
        """Serve on a duplicate of ``sock`` (closing it at :meth:`stop` leaves ``sock`` open
        for the dashboard that app.py starts on it once this supervisor leads)."""
        if sock is None:
            return
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock.dup()).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def stand_by(
    leadership: Leadership, stop: asyncio.Event, http_socket: socket.socket | None
) -> bool:
    """Wait as a standby until this supervisor leads (True) or ``stop`` is set (False)."""
    health = StandbyHealth()
    await health.start(http_socket)
    announced: tuple[int, str] | None = None
    try:
        while not stop.is_set():
            try:
                if await asyncio.to_thread(leadership.try_to_lead):
                    log.info("this supervisor leads now (epoch %d)", leadership.epoch)
                    return True
                health.leader = await asyncio.to_thread(leadership.leader)
            except LeadershipUnavailable as error:
                log.warning("standby: %s; trying again", error)
            leader = health.leader
            if leader is not None and announced != (leader.epoch, leader.address):
                announced = (leader.epoch, leader.address)
                print(
                    f"latchwork serve: standby; {leader.address or 'another supervisor'} leads "
                    f"(epoch {leader.epoch})",
                    flush=True,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds(leadership))
        return False
    finally:
        await health.stop()


async def keep_the_lead(leadership: Leadership, deposed: asyncio.Event) -> None:
    """Renew the lease until it is lost; then set ``deposed`` (app.py stops the supervisor).

    A database that cannot be reached is tried again at each renewal; once a whole lease
    has gone by without one, another supervisor may have taken over, so this one stops."""
    renewed = time.monotonic()
    while True:
        await asyncio.sleep(leadership.renew_every)
        try:
            kept = await asyncio.to_thread(leadership.renew)
        except LeadershipUnavailable as error:
            if time.monotonic() - renewed < leadership.lease_seconds:
                log.warning("could not renew the lead (%s); trying again", error)
                continue
            log.error("the lead could not be renewed for a whole lease (%s): stopping", error)
            deposed.set()
            return
        if not kept:
            log.error("another supervisor took over the lead: stopping (nothing more is written)")
            deposed.set()
            return
        renewed = time.monotonic()
