"""History reads: what a long read of the retired jobs costs everyone else on the supervisor.

One ``latchwork serve --slots 0`` holds ``--jobs`` finished jobs of ``--frames`` frames, all
retired (out of memory, in the store only: ``keep_finished_seconds`` 1), built as
``history_memory.py --finished`` builds them (Submits of 1,000 jobs, each killed at once), and
``--live`` blocked jobs on top, held in memory (which a listing looks at first).
A probe (``harness.HealthProbe``, in a thread) sends a gRPC health ``Check`` every 10 ms, each
on time whether the last was answered or not, as any other client of the supervisor would,
and times its answer; a check counts for the phase during which it was sent. Each round has
five phases, the probe running through each:

* **idle**: nothing else (the reference of the ratios);
* **snapshot**: one ``Subscribe`` with ``snapshot: true``, read through to its
  ``snapshot_end`` (every job, the retired ones read from the store);
* **one job**: the same with ``job_ids`` naming one retired job (what ``qb.waitfor`` asks
  for), ``--one-job`` times;
* **search**: ``ListJobs`` with a name pattern that matches nothing (every row of the
  history looked at, in SQL), ``--searches`` times back to back;
* **first page**: ``ListJobs`` with no filter, ``--searches`` times.

Printed per phase: the read's time (median), and the probe's p50, p99 and max during it, with
the ratio of its p99 and max to the idle phase's. Before the reads left the event loop (issue
16, session 17), a snapshot held the loop, and so every other call, for seconds.

Run: ``.venv/bin/python bench/history_reads.py [--jobs 100000 --frames 10 --rounds 2]``
(``--store postgresql`` starts a PostgreSQL server, as the tests do).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    HealthProbe,
    OtherLoad,
    add_store_flag,
    add_workdir_flag,
    machine,
    run_with_store,
    supervisor,
)
from bench.history_memory import METADATA, grow, percentile
from bench.submit_throughput import build_request, job_dicts
from latchwork.server.app import retire_period
from latchwork.v1 import supervisor_pb2, supervisor_pb2_grpc

PROBE_PERIOD_S = 0.01
PHASES = ("idle", "snapshot", "one job", "search", "first page")


@dataclass
class Phase:
    """One phase's figures over the rounds: the reads' seconds, its spans of time (monotonic)
    and the probe's latencies of the checks sent during them."""

    reads: list[float] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    probes: list[float] = field(default_factory=list)
    items: int = 0


class ProbeThread:
    """:class:`~bench.harness.HealthProbe` (a check every 10 ms, on time, answered or not)
    on an event loop of its own, in a thread, while the benchmark makes its blocking calls."""

    def __init__(self, address: str) -> None:
        self.probe = HealthProbe(PROBE_PERIOD_S)
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, args=(address,), daemon=True)
        self._thread.start()

    def _run(self, address: str) -> None:
        self._loop.run_until_complete(self.probe.run(address, self._stop))

    def stop(self) -> list[tuple[float, float]]:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        self._loop.close()
        return self.probe.samples


def run_phase(phase: Phase, read: Callable[[], int], repeats: int) -> None:
    began = time.monotonic()
    for _ in range(repeats):
        start = time.perf_counter()
        phase.items = read()
        phase.reads.append(time.perf_counter() - start)
    phase.spans.append((began, time.monotonic()))


def attribute(phases: dict[str, Phase], samples: list[tuple[float, float]]) -> None:
    """Each check's latency to the phase during which it was sent."""
    for sent, latency in samples:
        for phase in phases.values():
            if any(began <= sent < ended for began, ended in phase.spans):
                phase.probes.append(latency)
                break


def idle(seconds: float) -> Callable[[], int]:
    def read() -> int:
        time.sleep(seconds)
        return 0

    return read


def snapshot(
    stub: supervisor_pb2_grpc.SupervisorServiceStub, job_ids: list[int] | None = None
) -> Callable[[], int]:
    def read() -> int:
        request = supervisor_pb2.SubscribeRequest(snapshot=True, job_ids=job_ids or [])
        stream = stub.Subscribe(request, metadata=METADATA, timeout=3600)
        for count, message in enumerate(stream):
            if message.HasField("snapshot_end"):
                stream.cancel()
                return count
        raise SystemExit("the snapshot ended without its snapshot_end")

    return read


def listing(stub: supervisor_pb2_grpc.SupervisorServiceStub, name_glob: str) -> Callable[[], int]:
    def read() -> int:
        request = supervisor_pb2.ListJobsRequest(name_glob=name_glob)
        return len(stub.ListJobs(request, metadata=METADATA, timeout=600).jobs)

    return read


def report(phases: dict[str, Phase]) -> None:
    base = phases["idle"].probes
    base_p99, base_max = percentile(base, 99), max(base)
    for name in PHASES:
        phase = phases[name]
        probes = phase.probes
        p99, worst = percentile(probes, 99), max(probes)
        took = f"{statistics.median(phase.reads) * 1000:9.0f} ms" if name != "idle" else " " * 12
        print(
            f"   {name:<11} {took}  {phase.items:>7,} jobs   probe p50 "
            f"{statistics.median(probes) * 1000:6.2f}  p99 {p99 * 1000:7.2f}  max "
            f"{worst * 1000:8.1f} ms ({len(probes):>5} checks)   ratio to idle: p99 "
            f"{p99 / base_p99:7.2f}  max {worst / base_max:8.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="finished jobs (100,000)")
    parser.add_argument("--frames", type=int, default=10, help="frames per job (10)")
    parser.add_argument(
        "--live", type=int, default=0, help="blocked jobs held in memory on top (0)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the five phases (2)")
    parser.add_argument("--searches", type=int, default=20, help="listings per phase (20)")
    parser.add_argument("--one-job", type=int, default=5, help="snapshots of one job per phase (5)")
    parser.add_argument("--idle-seconds", type=float, default=3.0, help="the idle phase (3 s)")
    parser.add_argument("--quick", action="store_true", help="--jobs 5000 --rounds 1")
    add_store_flag(parser)
    add_workdir_flag(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.jobs, args.rounds = 5_000, 1
    return run_with_store(args, _run)


def _run(args: argparse.Namespace) -> int:
    batch = min(1_000, max(args.jobs, args.live))
    store = "PostgreSQL" if args.store else "SQLite"
    print(
        f"== history reads: {args.jobs:,} retired jobs and {args.live:,} live ones x "
        f"{args.frames} frames ({store}); a health Check every {PROBE_PERIOD_S * 1000:.0f} ms "
        "meanwhile"
    )
    print(f"   machine: {machine()}")
    load = OtherLoad()
    keep = 1.0
    with tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp:
        served = supervisor(
            Path(tmp) / "history", slots=0, env={"LATCHWORK_KEEP_FINISHED_SECONDS": str(keep)}
        )
        if args.store:
            served.argv += ["--store", args.store]
        try:
            served.start()
            with grpc.insecure_channel(served.address) as channel:
                stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
                started = time.perf_counter()
                request = build_request(job_dicts(batch, args.frames))
                grow(stub, served.pid, request, args.jobs // batch, finish=True, held=0, log=[])
                grow(stub, served.pid, request, args.live // batch, finish=False, held=0, log=[])
                print(f"   history built in {time.perf_counter() - started:.0f} s", flush=True)
                time.sleep(keep + retire_period(keep) + 2)  # every job retired
                phases = {name: Phase() for name in PHASES}
                probe = ProbeThread(served.address)
                try:
                    for _ in range(args.rounds):
                        run_phase(phases["idle"], idle(args.idle_seconds), 1)
                        run_phase(phases["snapshot"], snapshot(stub), 1)
                        one_job = snapshot(stub, [args.jobs // 2 or 1])
                        run_phase(phases["one job"], one_job, args.one_job)
                        run_phase(phases["search"], listing(stub, "*_none_*"), args.searches)
                        run_phase(phases["first page"], listing(stub, ""), args.searches)
                finally:
                    attribute(phases, probe.stop())
        finally:
            served.stop(timeout=120)
    print(f"   {load.report()}")
    report(phases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
