"""Simulated remote workers for ``bench/farm_throughput.py``: one process of asyncio tasks.

A real ``latchwork worker`` spends its time running frames; at farm scale what matters to the
supervisor is the traffic of many of them. So each simulated worker does what
:mod:`latchwork.worker.remote_worker` does over real gRPC, with its own channel (its own TCP
connection, as separate machines have) and a worker token, minus the process: it registers,
leases up to its free slots (``LeaseWork``, a long poll) when it has nothing to report, and
every lease ends ``EXITED 0`` at once; the ended leases are reported together in one
``ReportWork`` request (``reports``) that asks for as many new leases as the worker then has
free slots (``max_leases``), as :mod:`latchwork.worker.report_batch` does: one request and one
transaction for a worker's whole set of slots. The requests go on the worker's open
``ReportWorkStream`` call, through the real worker's :mod:`latchwork.worker.report_stream`
(``--unary-reports``: a ``ReportWork`` call each, as before that stream). It heartbeats every
half period, as the real one does. One call (or request) at a time per worker, each sent as
soon as the last is answered, so the supervisor is the only brake.

Run by the benchmark as ``python bench/farm_workers.py --address H:P --workers N ...`` with the
token in ``LATCHWORK_TOKEN``; it prints ``ready`` once every worker is registered, runs until
its stdin closes, then prints one JSON line of counts and exits. With ``--echo`` it is the
benchmark's reference instead: as many loops as the workers have slots, over the same
connections, calling the do-nothing unary method of ``bench/trivial_server.py`` (counted as
``reports``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import grpc

from latchwork.v1 import worker_pb2, worker_pb2_grpc
from latchwork.worker.report_stream import ReportStream

# Every worker its own connection: channels to one address would otherwise share a subchannel.
CHANNEL_OPTIONS = (("grpc.use_local_subchannel_pool", 1),)
LEASE_WAIT_SECONDS = 5
MAX_REPORTS = 256  # per ReportWork: the supervisor's bound
# The reference calls carry about what a lease or a report carries (bytes each way).
ECHO_METHOD = "/latchwork.bench.Trivial/Echo"
RESPONSE_BYTES_KEY = "x-response-bytes"
ECHO_BYTES = 100


@dataclass
class Counts:
    lease_calls: int = 0
    leases: int = 0  # granted by LeaseWork
    report_calls: int = 0
    reports: int = 0  # (with --echo: the reference's calls)
    report_leases: int = 0  # granted in the answers to ReportWork
    refused_reports: int = 0
    heartbeats: int = 0
    errors: int = 0
    first_error: str = ""

    def error(self, error: grpc.aio.AioRpcError) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = f"{error.code().name}: {error.details()}"


class SimulatedWorker:
    """One worker with ``slots`` slots whose frames end as soon as they are leased."""

    def __init__(
        self, host: str, slots: int, metadata: tuple[tuple[str, str], ...], unary: bool
    ) -> None:
        self.host = host
        self.unary = unary
        self.stream: ReportStream | None = None
        self.slots = slots
        self.metadata = metadata
        self.worker_id = ""
        self.heartbeat_seconds = 5.0
        self.busy = 0  # leases held, not yet reported
        self.ended: list[str] = []  # leases whose frame ended, to report

    async def register(self, stub: worker_pb2_grpc.WorkerServiceAsyncStub) -> None:
        request = worker_pb2.RegisterWorkerRequest(host=self.host, slots=self.slots)
        response = await stub.RegisterWorker(request, metadata=self.metadata, timeout=60)
        self.worker_id = response.worker_id
        self.heartbeat_seconds = max(response.heartbeat_seconds, 1)

    def take(self, leases: Iterable[worker_pb2.Lease]) -> None:
        """Leases granted: their frames end at once, ready to be reported."""
        for lease in leases:
            self.busy += 1
            self.ended.append(lease.lease_id)

    async def lease_loop(
        self, stub: worker_pb2_grpc.WorkerServiceAsyncStub, counts: Counts
    ) -> None:
        while True:
            if self.ended:
                await self.report(stub, counts)
                continue
            request = worker_pb2.LeaseWorkRequest(
                worker_id=self.worker_id,
                max_leases=self.slots - self.busy,
                wait_seconds=LEASE_WAIT_SECONDS,
            )
            try:
                response = await stub.LeaseWork(request, metadata=self.metadata)
            except grpc.aio.AioRpcError as error:
                counts.error(error)
                await asyncio.sleep(0.5)
                continue
            counts.lease_calls += 1
            counts.leases += len(response.leases)
            self.take(response.leases)

    async def report(self, stub: worker_pb2_grpc.WorkerServiceAsyncStub, counts: Counts) -> None:
        """Report the ended leases and take the next ones in the same call."""
        ended = self.ended[:MAX_REPORTS]
        request = worker_pb2.ReportWorkRequest(
            worker_id=self.worker_id,
            reports=[
                worker_pb2.WorkReport(lease_id=lease_id, outcome=worker_pb2.WORK_OUTCOME_EXITED)
                for lease_id in ended
            ],
            max_leases=self.slots - self.busy + len(ended),
        )
        if self.stream is None:
            self.stream = ReportStream(stub)
            self.stream.unary = self.unary
        try:
            response = await self.stream.report(
                request, self.metadata, lambda: stub.ReportWork(request, metadata=self.metadata)
            )
        except grpc.aio.AioRpcError as error:
            counts.error(error)
            await asyncio.sleep(0.5)
            return  # reported again
        del self.ended[: len(ended)]
        self.busy -= len(ended)
        counts.report_calls += 1
        counts.reports += len(ended)
        counts.refused_reports += sum(not accepted for accepted in response.reports_accepted)
        counts.report_leases += len(response.leases)
        self.take(response.leases)

    async def heartbeat_loop(
        self, stub: worker_pb2_grpc.WorkerServiceAsyncStub, counts: Counts
    ) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds / 2)
            # As a real worker: every lease held (here: granted, not yet reported).
            request = worker_pb2.HeartbeatRequest(worker_id=self.worker_id, lease_ids=self.ended)
            try:
                await stub.Heartbeat(request, metadata=self.metadata, timeout=30)
                counts.heartbeats += 1
            except grpc.aio.AioRpcError as error:
                counts.error(error)


async def run(args: argparse.Namespace, stop: asyncio.Event) -> Counts:
    token = os.environ.get("LATCHWORK_TOKEN", "")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    counts = Counts()
    channels = [
        grpc.aio.insecure_channel(args.address, options=CHANNEL_OPTIONS)
        for _ in range(1 if args.one_connection else args.workers)
    ]
    try:
        stubs = [
            worker_pb2_grpc.WorkerServiceStub(channels[i % len(channels)])
            for i in range(args.workers)
        ]
        workers = [
            SimulatedWorker(
                f"{args.prefix}{args.first + i:04d}", args.slots, metadata, args.unary_reports
            )
            for i in range(args.workers)
        ]
        await asyncio.gather(*(w.register(s) for w, s in zip(workers, stubs, strict=True)))
        tasks = [
            asyncio.create_task(loop)
            for w, s in zip(workers, stubs, strict=True)
            for loop in (w.lease_loop(s, counts), w.heartbeat_loop(s, counts))
        ]
        print("ready", flush=True)
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for worker in workers:
            if worker.stream is not None:
                worker.stream.close()
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    return counts


async def echo(args: argparse.Namespace, stop: asyncio.Event) -> Counts:
    """The reference: as many loops as the workers have slots, over as many connections, each
    calling the do-nothing server's unary method with a lease's worth of bytes each way."""
    counts = Counts()
    channels = [
        grpc.aio.insecure_channel(args.address, options=CHANNEL_OPTIONS)
        for _ in range(1 if args.one_connection else args.workers)
    ]
    metadata = ((RESPONSE_BYTES_KEY, str(ECHO_BYTES)),)
    payload = bytes(ECHO_BYTES)

    async def loop(channel: grpc.aio.Channel) -> None:
        call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(ECHO_METHOD)
        while True:
            await call(payload, metadata=metadata)
            counts.reports += 1

    try:
        tasks = [
            asyncio.create_task(loop(channels[i % len(channels)]))
            for i in range(args.workers * args.slots)
        ]
        print("ready", flush=True)
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    return counts


async def main_async(args: argparse.Namespace) -> Counts:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    return await (echo if args.echo else run)(args, stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", required=True, help="the supervisor, HOST:PORT")
    parser.add_argument("--workers", type=int, default=100, help="simulated workers (100)")
    parser.add_argument("--slots", type=int, default=4, help="slots of each worker (4)")
    parser.add_argument("--first", type=int, default=0, help="number of the first host name")
    parser.add_argument("--prefix", default="farm", help="host names: PREFIX0000, ... (farm)")
    parser.add_argument(
        "--one-connection",
        action="store_true",
        help="one channel (one TCP connection) for all the workers of the process",
    )
    parser.add_argument(
        "--unary-reports",
        action="store_true",
        help="a ReportWork call per report, not requests on an open ReportWorkStream call",
    )
    parser.add_argument(
        "--echo",
        action="store_true",
        help="the reference: call the do-nothing server (bench/trivial_server.py) instead",
    )
    args = parser.parse_args(argv)
    counts = asyncio.run(main_async(args))
    print(json.dumps(asdict(counts)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
