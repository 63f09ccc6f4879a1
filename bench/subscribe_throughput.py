"""Subscribe: events/s delivered to 1, 10, 100 subscribers, and state-change-to-subscriber latency.

Throughput. One ``latchwork serve --slots 0`` is pre-filled with ``--events`` events (``--jobs``
blocked jobs submitted, then unblocked and blocked again, all of them in each ControlJobs call:
one event per job). Then K subscribers (``--subscribers 1,10,100``) each call Subscribe with
``after_seq = 0`` and read the first M events of the log, M = min(events, deliveries / K), so a
measurement delivers at most ``--deliveries`` events in total; the figure is K x M divided by
the time from the first call to the last subscriber's M-th event. The subscribers are
``grpc.aio`` streams, one channel (own TCP connection) each, spread over ``--client-procs``
client processes; they read raw bytes (no protobuf decoding at the client, only the last
message of each stream is decoded to check its seq), so the client costs as little as it can.

Reference, same run, same clients: a bare ``grpc.aio`` server (``bench/bare_stream_server.py``,
no Latchwork code) streaming the very bytes of the supervisor's first M ``SubscribeResponse``
messages (read once from the supervisor) to the same K clients the same way. Each round measures
both sides back to back for every K; medians over ``--rounds``.

Latency. With 1 and 10 live subscribers (``after_seq = -1``, sync gRPC streams read in threads,
``bench/eventstream.py``), one job is blocked / unblocked ``--changes`` times, one ControlJobs
call at a time, each waiting until every subscriber has the event. Latency is the subscriber's
wall clock at arrival minus the event's ``time`` (the supervisor's clock when it made the
change; same machine, same clock), pooled over all subscribers and changes.

Run: ``.venv/bin/python bench/subscribe_throughput.py [--events 20000 --rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bare_stream_server import COUNT_KEY, write_messages
from bench.bare_stream_server import METHOD as BARE_METHOD
from bench.eventstream import Collector, event_seconds
from bench.harness import (
    OtherLoad,
    Served,
    add_workdir_flag,
    listing,
    machine,
    median,
    process_cpu_seconds,
    supervisor,
)
from latchwork.client.jobspec import job_spec_from_dict
from latchwork.server.core.limits import DEFAULT_LIMITS
from latchwork.v1 import supervisor_pb2, supervisor_pb2_grpc

METADATA = (("latchwork-user", "bench"),)
SUBSCRIBE = "/latchwork.v1.SupervisorService/Subscribe"
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    # One TCP connection per subscriber, as separate subscribers would have (without it,
    # channels to one address share a subchannel).
    ("grpc.use_local_subchannel_pool", 1),
]


# --- client processes -------------------------------------------------------------------


async def _read_streams(task: dict[str, Any], tasks: Any, ready: Any) -> dict[str, Any]:
    """Open ``task['streams']`` streams, each on its own channel; read ``count`` messages each."""
    count = task["count"]
    channels = [
        grpc.aio.insecure_channel(task["address"], options=CHANNEL_OPTIONS)
        for _ in range(task["streams"])
    ]
    try:
        await asyncio.gather(*(c.channel_ready() for c in channels))
        ready.put(True)
        tasks.get()  # every client process connected: start together
        start = time.monotonic()
        cpu = time.process_time()

        async def one(channel: grpc.aio.Channel) -> tuple[float, bytes]:
            # Raw bytes both ways: no serializer on either side.
            subscribe: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(
                task["method"]
            )
            call = subscribe(task["request"], metadata=task["metadata"], timeout=600)
            last = b""
            got = 0
            async for message in call:
                got += 1
                if got == count:
                    last = message
                    break
            call.cancel()
            if got != count:
                raise RuntimeError(f"stream ended after {got} of {count} messages")
            return time.monotonic(), last

        done = await asyncio.gather(*(one(c) for c in channels))
    finally:
        await asyncio.gather(*(c.close() for c in channels))
    return {
        "start": start,
        "ends": [end for end, _ in done],
        "lasts": [last for _, last in done],
        "cpu": time.process_time() - cpu,
    }


def _client_process(tasks: Any, ready: Any, results: Any) -> None:
    while True:
        task = tasks.get()
        if task is None:
            return
        try:
            results.put(asyncio.run(_read_streams(task, tasks, ready)))
        except BaseException as error:  # reported to the parent, which stops
            ready.put(False)
            results.put({"error": repr(error)})


class Clients:
    """``procs`` long-lived client processes (spawned: no gRPC state crosses a fork)."""

    def __init__(self, procs: int) -> None:
        self.ctx = multiprocessing.get_context("spawn")
        self.results = self.ctx.Queue()
        self.ready = self.ctx.Queue()
        self.queues = [self.ctx.Queue() for _ in range(procs)]
        self.procs = [
            self.ctx.Process(
                target=_client_process, args=(q, self.ready, self.results), daemon=True
            )
            for q in self.queues
        ]
        for proc in self.procs:
            proc.start()

    def run(
        self,
        address: str,
        method: str,
        request: bytes,
        metadata: tuple[tuple[str, str], ...],
        streams: int,
        count: int,
    ) -> tuple[float, float, list[bytes]]:
        """(seconds from the first call to the last stream's ``count``-th message, client CPU
        seconds, the last message of every stream)."""
        used = self.queues[: min(len(self.queues), streams)]
        shares = [streams // len(used) + (i < streams % len(used)) for i in range(len(used))]
        for queue, share in zip(used, shares, strict=True):
            queue.put(
                {
                    "address": address,
                    "method": method,
                    "request": request,
                    "metadata": metadata,
                    "streams": share,
                    "count": count,
                }
            )
        if not all(self.ready.get(timeout=120) for _ in used):
            raise SystemExit(f"a client process failed: {self.results.get(timeout=10)}")
        for queue in used:
            queue.put("go")
        outcomes = [self.results.get(timeout=600) for _ in used]
        for outcome in outcomes:
            if "error" in outcome:
                raise SystemExit(f"a client process failed: {outcome['error']}")
        start = min(o["start"] for o in outcomes)
        end = max(max(o["ends"]) for o in outcomes)
        cpu = sum(o["cpu"] for o in outcomes)
        return end - start, cpu, [last for o in outcomes for last in o["lasts"]]

    def close(self) -> None:
        for queue in self.queues:
            queue.put(None)
        for proc in self.procs:
            proc.join(10)


# --- the supervisor side --------------------------------------------------------------------


def prefill(stub: supervisor_pb2_grpc.SupervisorServiceStub, jobs: int, events: int) -> list[int]:
    """Blocked jobs, then unblock / block them all until the log holds ``events`` events."""
    specs = [
        job_spec_from_dict(
            {"name": f"sub{i}", "package": {"cmdline": "true"}, "status": "blocked"}, f"jobs[{i}]"
        )
        for i in range(jobs)
    ]
    ids: list[int] = []
    chunk = DEFAULT_LIMITS.jobs_per_submit  # the most jobs a Submit may carry
    for first in range(0, len(specs), chunk):
        submit = supervisor_pb2.SubmitRequest(jobs=specs[first : first + chunk])
        ids.extend(j.id for j in stub.Submit(submit, metadata=METADATA).jobs)
    head = 0
    action = supervisor_pb2.ACTION_BLOCK
    while True:
        # One event per job and call; the last call takes only as many jobs as still needed.
        action = _other(action)
        request = supervisor_pb2.ControlJobsRequest(action=action, job_ids=ids[: events - head])
        head = stub.ControlJobs(request, metadata=METADATA).seq
        if head >= events:
            break
    return ids


def read_log(address: str, count: int) -> list[bytes]:
    """The first ``count`` SubscribeResponse messages of the log, as the supervisor sent them."""
    with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        # Raw bytes both ways: no serializer on either side.
        subscribe: grpc.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(SUBSCRIBE)
        call = subscribe(subscribe_request(0), metadata=METADATA, timeout=120)
        messages: list[bytes] = []
        for message in call:
            messages.append(message)
            if len(messages) == count:
                break
        call.cancel()
    return messages


def subscribe_request(after_seq: int) -> bytes:
    return supervisor_pb2.SubscribeRequest(
        after_seq=after_seq, heartbeat_seconds=3600
    ).SerializeToString()


def measure_latency(
    stub: supervisor_pb2_grpc.SupervisorServiceStub, job_id: int, subscribers: int, changes: int
) -> tuple[list[float], list[float]]:
    """(latencies of every event at every subscriber, ControlJobs round trips), seconds."""
    collectors = [
        Collector(stub, supervisor_pb2.SubscribeRequest(after_seq=-1, heartbeat_seconds=3600))
        for _ in range(subscribers)
    ]
    try:
        # The streams are open once they see an event: toggle until all of them saw one.
        action = supervisor_pb2.ACTION_BLOCK
        deadline = time.monotonic() + 30
        while not all(c.events for c in collectors):
            action = _other(action)
            stub.ControlJobs(
                supervisor_pb2.ControlJobsRequest(action=action, job_ids=[job_id]),
                metadata=METADATA,
            )
            time.sleep(0.05)
            if time.monotonic() > deadline:
                raise SystemExit("the latency subscribers never saw an event")
        time.sleep(0.2)
        skip = [len(c.events) for c in collectors]
        round_trips = []
        heads = []
        for _ in range(changes):
            action = _other(action)
            sent = time.perf_counter()
            head = stub.ControlJobs(
                supervisor_pb2.ControlJobsRequest(action=action, job_ids=[job_id]),
                metadata=METADATA,
            ).seq
            round_trips.append(time.perf_counter() - sent)
            heads.append(head)
            for c in collectors:
                if not c.wait_for(_reached(c, head), 30):
                    raise SystemExit(f"seq {head} never reached a latency subscriber")
    finally:
        for c in collectors:
            c.close()
    # perf_counter arrivals to the wall clock of the events' ``time``.
    offset = time.time() - time.perf_counter()
    latencies = []
    for c, first in zip(collectors, skip, strict=True):
        for event, arrival in zip(c.events[first:], c.arrivals[first:], strict=True):
            latencies.append(arrival + offset - event_seconds(event))
    return latencies, round_trips


def _reached(collector: Collector, seq: int) -> Callable[[], bool]:
    """Whether ``collector``'s newest event is at ``seq`` or later."""
    return lambda: collector.events[-1].seq >= seq


def _other(action: supervisor_pb2.Action.ValueType) -> supervisor_pb2.Action.ValueType:
    if action == supervisor_pb2.ACTION_BLOCK:
        return supervisor_pb2.ACTION_UNBLOCK
    return supervisor_pb2.ACTION_BLOCK


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events in the log (20000)")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs toggled to fill it (1000)")
    parser.add_argument(
        "--subscribers", default="1,10,100", help="comma-separated subscriber counts (1,10,100)"
    )
    parser.add_argument(
        "--deliveries",
        type=int,
        default=50_000,
        help="at most this many events delivered per measurement: each of K subscribers reads "
        "min(events, deliveries / K) (50000)",
    )
    parser.add_argument("--client-procs", type=int, default=1, help="client processes (1)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every measurement (3)")
    parser.add_argument(
        "--changes", type=int, default=500, help="state changes timed for the latency (500)"
    )
    parser.add_argument(
        "--latency-subscribers", default="1,10", help="live subscribers for the latency (1,10)"
    )
    add_workdir_flag(parser)
    args = parser.parse_args(argv)
    ks = [int(k) for k in args.subscribers.split(",") if k]
    latency_ks = [int(k) for k in args.latency_subscribers.split(",") if k]

    print(f"== subscribe: {args.events} events to {args.subscribers} subscribers; latency")
    print(f"   machine: {machine()}")
    load = OtherLoad()
    rates: dict[tuple[str, int], list[float]] = {}
    busy: dict[tuple[str, int], list[float]] = {}
    client_busy: dict[tuple[str, int], list[float]] = {}
    latencies: dict[int, list[float]] = {}
    round_trips: dict[int, list[float]] = {}
    clients = Clients(args.client_procs)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp,
            supervisor(Path(tmp) / "subscribe", slots=0) as served,
            grpc.insecure_channel(served.address) as channel,
        ):
            stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
            started = time.perf_counter()
            ids = prefill(stub, args.jobs, args.events)
            messages = read_log(served.address, args.events)
            fill_s = time.perf_counter() - started
            head = supervisor_pb2.SubscribeResponse.FromString(messages[-1]).event.seq
            sizes = [len(m) for m in messages]
            messages_file = Path(tmp) / "messages.bin"
            write_messages(messages_file, messages)
            bare = Served(
                [
                    sys.executable,
                    str(Path(__file__).with_name("bare_stream_server.py")),
                    str(messages_file),
                ],
                Path(tmp) / "bare-serve.log",
            ).start()
            try:
                counts = {k: min(len(messages), max(args.deliveries // k, 1)) for k in ks}
                for _ in range(args.rounds):
                    for k in ks:
                        count = counts[k]
                        cpu = process_cpu_seconds(served.pid)
                        seconds, client_cpu, lasts = clients.run(
                            served.address, SUBSCRIBE, subscribe_request(0), METADATA, k, count
                        )
                        for last in lasts:
                            seq = supervisor_pb2.SubscribeResponse.FromString(last).event.seq
                            if seq != count:
                                raise SystemExit(f"a subscriber's {count}th event has seq {seq}")
                        rates.setdefault(("latchwork", k), []).append(k * count / seconds)
                        busy.setdefault(("latchwork", k), []).append(
                            (process_cpu_seconds(served.pid) - cpu) / seconds
                        )
                        client_busy.setdefault(("latchwork", k), []).append(client_cpu / seconds)
                        cpu = process_cpu_seconds(bare.pid)
                        seconds, client_cpu, lasts = clients.run(
                            bare.address, BARE_METHOD, b"", ((COUNT_KEY, str(count)),), k, count
                        )
                        if any(last != messages[count - 1] for last in lasts):
                            raise SystemExit("the bare server sent other bytes")
                        rates.setdefault(("bare", k), []).append(k * count / seconds)
                        busy.setdefault(("bare", k), []).append(
                            (process_cpu_seconds(bare.pid) - cpu) / seconds
                        )
                        client_busy.setdefault(("bare", k), []).append(client_cpu / seconds)
            finally:
                bare.stop()
            for k in latency_ks:
                latencies[k], round_trips[k] = measure_latency(stub, ids[0], k, args.changes)
            workdir = Path(tmp).parent
    finally:
        clients.close()
    load_note = load.report()

    print(f"   workdir: {workdir}")
    print(f"   {load_note}")
    print(
        f"   log: {head} events (prefilled in {fill_s:.1f} s), SubscribeResponse "
        f"{min(sizes)}-{max(sizes)} B, median {median(sizes):.0f} B on the wire (protobuf)"
    )
    print(
        f"   clients: {args.client_procs} process(es) of grpc.aio, one channel (TCP connection) "
        "per subscriber, raw bytes read"
    )
    print(f"   rounds: {args.rounds}; medians, every round in brackets (events/s)")
    print()
    print(
        f"   {'K':>4} {'events each':>11} {'latchwork ev/s':>15} {'bare ev/s':>12} {'ratio':>6}"
        "   CPU (cores), server + clients: latchwork / bare"
    )
    for k in ks:
        lw = median(rates[("latchwork", k)])
        ref = median(rates[("bare", k)])
        print(
            f"   {k:>4} {counts[k]:>11} {lw:>15.0f} {ref:>12.0f} {lw / ref:>6.2f}"
            f"   {median(busy[('latchwork', k)]):.2f} + {median(client_busy[('latchwork', k)]):.2f}"
            f" / {median(busy[('bare', k)]):.2f} + {median(client_busy[('bare', k)]):.2f}"
        )
    for k in ks:
        print(
            f"   K={k}: latchwork {listing(rates[('latchwork', k)], 1, 0)}  "
            f"bare {listing(rates[('bare', k)], 1, 0)}"
        )
    print()
    print(
        f"   latency, event time -> arrival at the subscriber, {args.changes} changes one at a time"
    )
    for k in latency_ks:
        values = latencies[k]
        print(
            f"   {k:>3} live subscriber(s): p50 {percentile(values, 50) * 1000:6.2f} ms   "
            f"p99 {percentile(values, 99) * 1000:6.2f} ms   max {max(values) * 1000:6.2f} ms   "
            f"({len(values)} samples; ControlJobs round trip median "
            f"{median(round_trips[k]) * 1000:.2f} ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
