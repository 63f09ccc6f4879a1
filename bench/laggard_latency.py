"""Live subscribers' latency while other subscribers replay old history from SQLite.

DESIGN's promise: a slow subscriber never slows the supervisor or other subscribers. A
subscriber behind the in-memory window (the newest 50,000 events) reads its events from
SQLite, 500 per query. This benchmark measures what those reads cost everybody else: one
``latchwork serve --slots 0`` holds ``--events`` events (blocked jobs unblocked and blocked, as
in ``subscribe_throughput``), then the latency of one live subscriber (state change -> arrival,
``--changes`` changes one at a time, as in ``subscribe_throughput``) is measured twice: alone,
and while ``--laggards`` subscribers in another process read the oldest ``--replay`` events
again and again (each from ``after_seq = 0``, raw bytes, one channel each). It also reports
how fast the laggards read.

Run: ``.venv/bin/python bench/laggard_latency.py [--events 120000 --laggards 4]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import OtherLoad, add_workdir_flag, machine, supervisor
from bench.subscribe_throughput import (
    CHANNEL_OPTIONS,
    METADATA,
    SUBSCRIBE,
    measure_latency,
    percentile,
    prefill,
    subscribe_request,
)
from latchwork.v1 import supervisor_pb2_grpc

# server/latchwork/server/eventlog.py's default: events older than this come from SQLite
WINDOW = 50_000


async def _replay_forever(address: str, streams: int, replay: int, stop: Any, counts: Any) -> None:
    async def one(index: int) -> None:
        async with grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
            while not stop.is_set():
                # Raw bytes both ways: no serializer on either side.
                subscribe: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(
                    SUBSCRIBE
                )
                call = subscribe(subscribe_request(0), metadata=METADATA, timeout=600)
                got = 0
                async for _ in call:
                    got += 1
                    if got % 500 == 0:
                        with counts.get_lock():
                            counts.value += 500
                    if got == replay or stop.is_set():
                        break
                call.cancel()

    await asyncio.gather(*(one(i) for i in range(streams)))


def _laggard_process(address: str, streams: int, replay: int, stop: Any, counts: Any) -> None:
    asyncio.run(_replay_forever(address, streams, replay, stop, counts))


def _summary(latencies: list[float]) -> str:
    ms = [x * 1e3 for x in latencies]
    return (
        f"p50 {percentile(ms, 50):6.2f} ms   p99 {percentile(ms, 99):6.2f} ms   "
        f"max {max(ms):6.2f} ms   mean {statistics.fmean(ms):5.2f} ms  ({len(ms)} samples)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=120_000, help="events in the log (120000)")
    parser.add_argument("--jobs", type=int, default=2000, help="jobs toggled to fill it (2000)")
    parser.add_argument("--laggards", type=int, default=4, help="replaying subscribers (4)")
    parser.add_argument(
        "--replay", type=int, default=50_000, help="events each laggard reads per pass (50000)"
    )
    parser.add_argument("--changes", type=int, default=1000, help="changes timed (1000)")
    add_workdir_flag(parser)
    args = parser.parse_args(argv)
    if args.events - args.replay < WINDOW:
        print(
            f"note: with {args.events} events, part of the first {args.replay} is in memory",
            file=sys.stderr,
        )

    print(f"== laggards: live latency while {args.laggards} subscribers replay from SQLite")
    print(f"   machine: {machine()}")
    load = OtherLoad()
    with (
        tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp,
        supervisor(Path(tmp) / "laggards", slots=0) as served,
        grpc.insecure_channel(served.address) as channel,
    ):
        stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
        started = time.monotonic()
        ids = prefill(stub, args.jobs, args.events)
        print(f"   log: {args.events} events (prefilled in {time.monotonic() - started:.1f} s)")
        alone, _ = measure_latency(stub, ids[0], 1, args.changes)

        ctx = multiprocessing.get_context("spawn")
        stop, counts = ctx.Event(), ctx.Value("q", 0)
        laggards = ctx.Process(
            target=_laggard_process,
            args=(served.address, args.laggards, args.replay, stop, counts),
            daemon=True,
        )
        laggards.start()
        time.sleep(2.0)  # the laggards connected and are reading
        before, began = counts.value, time.monotonic()
        loaded, _ = measure_latency(stub, ids[0], 1, args.changes)
        read = counts.value - before
        seconds = time.monotonic() - began
        stop.set()
        laggards.join(30)
    print(f"   {load.report()}")
    print(f"   live subscriber alone:              {_summary(alone)}")
    print(f"   with {args.laggards} laggards replaying:         {_summary(loaded)}")
    print(
        f"   laggards read meanwhile             {read / seconds:,.0f} events/s"
        f"  ({read} in {seconds:.1f} s)"
    )
    ratio = percentile(loaded, 99) / percentile(alone, 99)
    print(f"   ratio p99 with laggards / alone     {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
