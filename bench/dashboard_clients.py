"""Dashboard clients for ``bench/dashboard_load.py``: what a browser on the overview page does.

Each client has its own HTTP session (own cookie jar, own connections), logs in with its user
name (the bench supervisors run open, without tokens; one wrangler per client, unless the
caller gives them all one name), reads ``/api/overview`` once, then
follows ``GET /api/events`` from the log's head (server-sent events; every event's JSON is
parsed, as the UI does; with ``stream = "bytes"`` the bytes are only read and the events
counted, so the clients cost the machine almost nothing while the supervisor does the same
work) and reads ``/api/overview`` again every ``poll`` seconds, the
clients' polls spread evenly over the period. They run with aiohttp in a process of their
own (spawned: no state crosses a fork), so their parsing does not share the benchmark's
interpreter; on a small machine they still share its cores with the supervisor, as a browser
on the supervisor's machine would.

The process reports, per client, the events received, each event's latency (its ``time``,
the supervisor's clock when it made the change, to its arrival here; same machine, same
clock) and the time each overview request took.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

CSRF_HEADER = {"X-Latchwork": "1"}


class DashboardError(Exception):
    """A dashboard client got an answer a browser's page could not go on with."""


@dataclass
class ClientReport:
    events: int = 0
    last_seq: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, event time -> arrival
    overview_seconds: list[float] = field(default_factory=list)  # the answered ones
    overview_unanswered: list[float] = field(default_factory=list)  # age of one still asked
    asking_since: float = 0.0  # perf_counter of the overview request in flight, 0: none


def event_latency(data: str, arrived: float) -> tuple[int, float]:
    """(seq, arrival - the event's time) of one ``lw`` event's JSON (proto field names)."""
    event = json.loads(data)
    return int(event["seq"]), arrived - rfc3339_seconds(event["time"])


@functools.lru_cache(maxsize=256)
def _whole_seconds(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def rfc3339_seconds(text: str) -> float:
    """Seconds since the epoch of the supervisor's JSON time (``2026-11-30T08:51:36.17Z``, UTC,
    0 to 9 digits of fraction). The events of a second share its date and time, so that part
    is read once (protobuf's own ``Timestamp.FromJsonString`` took 7 µs an event, a quarter of
    what a client spent on one: CPU taken from the supervisor's cores, where a browser's would
    not be)."""
    whole, _, fraction = text.removesuffix("Z").partition(".")
    seconds = _whole_seconds(whole)
    return seconds + int(fraction) / 10 ** len(fraction) if fraction else seconds


class SseReader:
    """Server-sent events out of the stream's chunks as they come, read as EventSource reads
    them: fields up to the blank line that ends an event, ``:`` comments skipped, the ``data``
    lines joined; an event without data is not dispatched. (aiohttp's line iterator cost more
    per event than the JSON parse itself; a browser's parser is native.)"""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        """The ``(event type, data)`` of every event ``chunk`` completes."""
        *blocks, self._rest = (self._rest + chunk).replace(b"\r\n", b"\n").split(b"\n\n")
        events = []
        for block in blocks:
            kind, data = "message", []
            for line in block.decode("utf-8").split("\n"):
                if not line or line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "event":
                    kind = value
                elif name == "data":
                    data.append(value)
            if data:
                events.append((kind, "\n".join(data)))
        return events


async def _checked_json(response: aiohttp.ClientResponse, what: str) -> Any:
    if response.status != 200:
        raise DashboardError(f"{what}: HTTP {response.status}: {(await response.text())[:300]}")
    return await response.json()


async def _follow(
    session: aiohttp.ClientSession,
    after_seq: int,
    report: ClientReport,
    open_: asyncio.Event,
    parse: bool,
) -> None:
    """Read the event stream until cancelled; SSE fields as the EventSource reads them
    (``parse``), or only its bytes."""
    async with session.get(
        "/api/events",
        params={"after_seq": str(after_seq)},
        headers={"Accept": "text/event-stream"},
    ) as response:
        if response.status != 200:
            raise DashboardError(f"/api/events: HTTP {response.status}")
        open_.set()
        if not parse:
            async for chunk in response.content.iter_any():
                report.events += chunk.count(b"\nevent: lw\n")
            raise DashboardError("/api/events ended")
        reader = SseReader()
        async for chunk in response.content.iter_any():
            arrived = time.time()
            for kind, data in reader.feed(chunk):
                if kind == "gap":
                    raise DashboardError(f"the stream could not resume: {data}")
                if kind == "lw":
                    seq, latency = event_latency(data, arrived)
                    report.events += 1
                    report.last_seq = seq
                    report.latencies.append(latency)
    raise DashboardError("/api/events ended")


async def _poll(
    session: aiohttp.ClientSession, period: float, offset: float, report: ClientReport
) -> None:
    """Every ``period`` seconds, never two at once: a late answer delays the next request."""
    next_at = time.monotonic() + offset
    while True:
        await asyncio.sleep(max(next_at - time.monotonic(), 0.0))
        report.asking_since = time.perf_counter()
        async with session.get("/api/overview") as response:
            await _checked_json(response, "/api/overview")
        report.overview_seconds.append(time.perf_counter() - report.asking_since)
        report.asking_since = 0.0
        next_at = max(next_at + period, time.monotonic())


async def _client(
    base_url: str, user: str, period: float, offset: float, stream: str, report: ClientReport
) -> tuple[asyncio.Event, list[asyncio.Task[None]], aiohttp.ClientSession]:
    """One browser tab: log in, the overview once, then the stream (``stream``: ``events``,
    parsed; ``bytes``, read only; ``none``) and the overview every ``period`` seconds (if
    ``period`` > 0)."""
    session = aiohttp.ClientSession(
        base_url, timeout=aiohttp.ClientTimeout(total=None, sock_connect=30)
    )
    async with session.post("/api/login", json={"user": user}, headers=CSRF_HEADER) as response:
        if response.status != 200:
            await session.close()
            raise DashboardError(f"/api/login: HTTP {response.status}: {await response.text()}")
    async with session.get("/api/overview") as response:
        await _checked_json(response, "/api/overview")
    open_ = asyncio.Event()
    tasks = []
    if stream != "none":
        # From the log's head (after_seq -1), not the overview's head_seq: that summary is
        # shared for 5 s, and a stream opened from it replays up to 5 s of events (in the
        # bench, the previous phase's) on a Subscribe of its own, a page load's burst that
        # would land in the phase measured. The bench measures dashboards that are open.
        tasks.append(asyncio.create_task(_follow(session, -1, report, open_, stream == "events")))
    else:
        open_.set()
    if period > 0:
        tasks.append(asyncio.create_task(_poll(session, period, offset, report)))
    return open_, tasks, session


async def _run(
    base_url: str, users: list[str], period: float, stream: str, stop: Any, ready: Any
) -> Any:
    reports = [ClientReport() for _ in users]
    offsets = [period * (i + 1) / len(users) for i in range(len(users))]
    started = [
        await _client(base_url, user, period, offset, stream, report)
        for user, offset, report in zip(users, offsets, reports, strict=True)
    ]
    tasks = [task for _, client_tasks, _ in started for task in client_tasks]
    opened: asyncio.Future[Any] = asyncio.gather(*(open_.wait() for open_, _, _ in started))
    failed: asyncio.Future[Any] = asyncio.ensure_future(
        asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    )
    await asyncio.wait([opened, failed], timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if failed.done() or not opened.done():
        raise DashboardError(_errors(tasks) or "the event streams did not open within 60 s")
    ready.put("ok")
    stopping: asyncio.Future[Any] = asyncio.ensure_future(asyncio.to_thread(stop.wait))
    await asyncio.wait([stopping, failed], return_when=asyncio.FIRST_COMPLETED)
    for report in reports:
        if report.asking_since:
            report.overview_unanswered.append(time.perf_counter() - report.asking_since)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _, _, session in started:
        await session.close()
    if errors := _errors(tasks):
        raise DashboardError(errors)
    return {"reports": [vars(r) for r in reports]}


def _errors(tasks: list[asyncio.Task[None]]) -> str:
    return "; ".join(
        repr(t.exception()) for t in tasks if t.done() and not t.cancelled() and t.exception()
    )


def set_priority(priority: str, cpus: tuple[int, ...] = ()) -> None:
    """This process's CPU priority: ``normal``, ``nice`` (nice 19) or ``idle`` (SCHED_IDLE: it
    runs only on a core nothing else wants); ``cpus``: the only cores it may run on (none
    given: any)."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    if priority == "nice":
        os.nice(19)
    elif priority == "idle":
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def run_dashboards(
    base_url: str,
    users: list[str],
    period: float,
    stream: str,
    stop: Any,
    ready: Any,
    results: Any,
    priority: str = "normal",
    cpus: tuple[int, ...] = (),
) -> None:
    """The process's body, one client per user name: ``ready`` gets "ok" once every stream is
    open (or the error), then the clients run until ``stop`` is set; ``results`` gets their
    reports (or the error). ``priority``: the process's CPU priority first: ``normal``,
    ``nice`` (nice 19) or ``idle`` (SCHED_IDLE: it runs only on a core nothing else wants);
    ``cpus``: the cores it may run on (none given: any)."""
    try:
        set_priority(priority, cpus)
        results.put(asyncio.run(_run(base_url, users, period, stream, stop, ready)))
    except BaseException as error:  # reported to the parent, which stops
        ready.put(repr(error))
        results.put({"error": repr(error)})
