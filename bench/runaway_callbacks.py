"""Runaway callbacks: does the supervisor stay responsive while callbacks feed each other?

One ``latchwork serve --slots 0`` on a fresh data directory. The runaway is issue 10's
three-line loop, one job (user ``alice``) with the qube callbacks ``blocked-job-self`` ->
``unblock-self``, ``unblocked-job-self`` -> ``block-self`` and ``submit-job-self`` ->
``block-self``. A client sends a gRPC health ``Check`` every ``--interval-ms`` on a schedule
(each on time whether or not the previous one was answered, so a stall shows in every check it
delays) and another user (``bob``) submits one trivial job every ``--submit-ms``; both record
their latencies:

* idle, for ``--idle-seconds``;
* during the runaway: ``--loops`` loop jobs submitted one after another (the next as soon as
  the previous Submit is answered), until every loop is contained (a ``suspended`` callback
  event for each, read from a Subscribe stream) or ``--seconds`` pass.

Also printed: the events written per loop until its containment (the log's head before and
after, less bob's submissions), the time from a loop's Submit to its ``suspended`` event, and
the database's growth. On code without a firing budget (the baseline before issue 10) nothing
is contained: the figures are then those of ``--seconds`` of runaway, after which the loop
jobs are removed (which stops them).

Run: ``.venv/bin/python bench/runaway_callbacks.py [--loops 200 --interval-ms 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    HealthProbe,
    OtherLoad,
    add_workdir_flag,
    health_check,
    machine,
    supervisor,
)
from latchwork.client.jobspec import job_spec_from_dict
from latchwork.v1 import event_pb2, supervisor_pb2, supervisor_pb2_grpc

LOOP = [
    {"triggers": "blocked-job-self", "code": "unblock-self"},
    {"triggers": "unblocked-job-self", "code": "block-self"},
    {"triggers": "submit-job-self", "code": "block-self"},
]


def metadata(user: str) -> tuple[tuple[str, str], ...]:
    return (("latchwork-user", user),)


def submit_request(
    name: str, user: str, callbacks: list[dict[str, str]]
) -> supervisor_pb2.SubmitRequest:
    spec = {"name": name, "user": user, "package": {"cmdline": "true"}, "callbacks": callbacks}
    return supervisor_pb2.SubmitRequest(jobs=[job_spec_from_dict(spec, "jobs[0]")])


@dataclass
class Samples:
    """Latencies (seconds) of answered calls, and how many failed."""

    values: list[float] = field(default_factory=list)
    failures: int = 0

    def line(self) -> str:
        if not self.values:
            return f"no answers ({self.failures} failed)"
        ordered = sorted(self.values)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        failed = f", {self.failures} failed" if self.failures else ""
        return (
            f"p50 {statistics.median(ordered) * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms  "
            f"max {ordered[-1] * 1000:7.2f} ms  (n={len(ordered)}{failed})"
        )


async def probe_health(
    channel: grpc.aio.Channel, interval: float, out: Samples, stop: asyncio.Event
) -> None:
    """:class:`~bench.harness.HealthProbe` on ``channel``, its latencies into ``out``."""
    probe = HealthProbe(interval)
    await probe.run_on(channel, stop)
    out.values.extend(latency for _, latency in probe.samples)
    out.failures += probe.failures


async def probe_submit(
    stub: supervisor_pb2_grpc.SupervisorServiceAsyncStub,
    interval: float,
    out: Samples,
    stop: asyncio.Event,
) -> int:
    """Bob's trivial Submits, one at a time; returns how many were made."""
    count = 0
    while not stop.is_set():
        sent = time.monotonic()
        try:
            await stub.Submit(
                submit_request(f"bob{count}", "bob", []), metadata=metadata("bob"), timeout=60
            )
        except grpc.RpcError:
            out.failures += 1
        else:
            out.values.append(time.monotonic() - sent)
        count += 1
        await asyncio.sleep(max(interval - (time.monotonic() - sent), 0))
    return count


async def head_seq(stub: supervisor_pb2_grpc.SupervisorServiceAsyncStub) -> int:
    """The log's head, as of one more of bob's submissions (its one event included)."""
    response = await stub.Submit(
        submit_request("mark", "bob", []), metadata=metadata("bob"), timeout=60
    )
    return int(response.seq)


def database_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("latchwork.db*"))


@dataclass
class Phase:
    """What one phase measured."""

    health: Samples = field(default_factory=Samples)
    submit: Samples = field(default_factory=Samples)
    loops: int = 0
    contained: int = 0
    seconds: float = 0.0
    events: int = 0
    grown_bytes: int = 0
    to_containment: list[float] = field(default_factory=list)


async def phase(address: str, args: argparse.Namespace, runaway: bool, data_dir: Path) -> Phase:
    result = Phase()
    health, submits = result.health, result.submit
    async with grpc.aio.insecure_channel(address) as channel:
        stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
        await health_check(channel)(health_pb2.HealthCheckRequest())
        start_seq = await head_seq(stub)
        start_bytes = database_bytes(data_dir)
        stop = asyncio.Event()
        probes = asyncio.gather(
            probe_health(channel, args.interval_ms / 1000, health, stop),
            probe_submit(stub, args.submit_ms / 1000, submits, stop),
        )
        started = time.monotonic()
        if not runaway:
            await asyncio.sleep(args.idle_seconds)
            stop.set()
            await probes
            return result
        suspended_at: dict[int, float] = {}
        submitted_at: dict[int, float] = {}
        all_suspended = asyncio.Event()
        stream = stub.Subscribe(
            supervisor_pb2.SubscribeRequest(
                after_seq=start_seq,
                users=["alice"],
                names=[event_pb2.EVENT_NAME_SUSPENDED],
                types=[event_pb2.EVENT_TYPE_CALLBACK],
                include_callback_runs=True,
            ),
            metadata=metadata("bench"),
        )

        async def watch() -> None:
            async for item in stream:
                if item.HasField("event"):
                    suspended_at.setdefault(item.event.job_id, time.monotonic())
                    if len(suspended_at) >= args.loops:
                        all_suspended.set()

        watcher = asyncio.create_task(watch())
        for i in range(args.loops):
            sent = time.monotonic()
            response = await stub.Submit(
                submit_request(f"loop{i}", "alice", LOOP), metadata=metadata("alice"), timeout=60
            )
            submitted_at[response.jobs[0].id] = sent
            if time.monotonic() - started > args.seconds:
                break
        left = max(args.seconds - (time.monotonic() - started), 0.1)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_suspended.wait(), left)
        elapsed = time.monotonic() - started
        stop.set()
        bob_count = (await probes)[1]
        end_seq = await head_seq(stub)
        stream.cancel()
        watcher.cancel()
        contained = [j for j in submitted_at if j in suspended_at]
        result.loops = len(submitted_at)
        result.contained = len(contained)
        result.seconds = elapsed
        result.events = end_seq - start_seq - bob_count - 1
        result.grown_bytes = database_bytes(data_dir) - start_bytes
        result.to_containment = sorted(suspended_at[j] - submitted_at[j] for j in contained)
        if len(contained) < len(submitted_at):  # no budget: stop the loops by removing them
            await stub.ControlJobs(
                supervisor_pb2.ControlJobsRequest(
                    action=supervisor_pb2.ACTION_REMOVE, job_ids=list(submitted_at)
                ),
                metadata=metadata("alice"),
            )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=int, default=200, help="runaway jobs, one after another")
    parser.add_argument("--seconds", type=float, default=10.0, help="give up on containment")
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--interval-ms", type=float, default=10.0, help="between health checks")
    parser.add_argument("--submit-ms", type=float, default=100.0, help="between bob's Submits")
    add_workdir_flag(parser)
    args = parser.parse_args(argv)

    print("runaway callbacks: health Check and another user's Submit, idle vs during runaways")
    print(f"machine: {machine()}")
    load = OtherLoad()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        data_dir = Path(tmp) / "data"
        with supervisor(data_dir, slots=0) as served:
            idle = asyncio.run(phase(served.address, args, False, data_dir))
            during = asyncio.run(phase(served.address, args, True, data_dir))
    print(f"{'':28}{'idle':62}| during the runaways")
    print(f"  {'health Check':26}{idle.health.line():62}| {during.health.line()}")
    print(f"  {'bob Submit (1 job)':26}{idle.submit.line():62}| {during.submit.line()}")
    loops, contained, seconds = during.loops, during.contained, during.seconds
    events, grown, times = during.events, during.grown_bytes / 2**20, during.to_containment
    print(f"  loops submitted: {loops}, contained: {contained}, in {seconds:.1f} s")
    if contained == loops:
        print(
            f"  events written per loop until containment: {events / loops:.0f} "
            f"({events} in all); Submit -> suspended event p50 "
            f"{statistics.median(times) * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms; "
            f"database +{grown:.1f} MiB"
        )
    else:
        print(
            f"  NOT CONTAINED: {events} events in {seconds:.1f} s "
            f"({events / seconds:.0f}/s), database +{grown:.1f} MiB; the loops were removed"
        )
    print(f"  {load.report()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
