"""Health latency: does the supervisor keep answering while it takes the largest legal Submit?

One ``latchwork serve --slots 0`` on a fresh data directory. A client sends a gRPC health
``Check`` every ``--interval-ms`` on a schedule (each one on time, whether or not the previous
one was answered, so a stall of the server shows in every check it delays), and records each
latency:

* idle: for ``--idle-seconds``;
* during ``--rounds`` Submits of the largest legal submission (sent from another thread), from
  the moment each is sent until it is answered. Between rounds the checks go on but are not
  counted.

The largest legal submission is built from the limits (``latchwork.server.core.limits``):
``jobs_per_submit`` jobs sharing ``work_items_per_submit`` frames and ``instances_per_submit``
instances (``cpus``), as many Python callbacks of
the largest size as ``code_bytes_per_submit`` allows (one per job), a qube callback on every
other job up to ``callbacks_per_submit``, and environment variables filling the request up to
``request_bytes``. The Python code is plain statements (``v0 = 0``, one per line), about 150 ms
to check each; every round's code differs, so nothing comes from a cache.

On code that has no such limits (the baseline before issue 10) the same numbers are used, from
this script's copy of them, so that both sides take the very same submission.

Run: ``.venv/bin/python bench/health_latency.py [--rounds 3 --interval-ms 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import HealthProbe, OtherLoad, add_workdir_flag, machine, supervisor
from latchwork.client.jobspec import job_spec_from_dict
from latchwork.v1 import supervisor_pb2, supervisor_pb2_grpc

METADATA = (("latchwork-user", "bench"),)

# The documented defaults (docs/limits.md), for code that does not have the limits module.
_SAME_AS_LIMITS = {
    "jobs_per_submit": 2_000,
    "work_items_per_submit": 100_000,
    "instances_per_submit": 10_000,
    "callbacks_per_submit": 500,
    "code_bytes_per_submit": 512 * 2**10,
    "code_bytes": 64 * 2**10,
    "request_bytes": 4 * 2**20,
}


def limits() -> tuple[dict[str, int], str]:
    try:
        from latchwork.server.core.limits import DEFAULT_LIMITS
    except ImportError:
        return dict(_SAME_AS_LIMITS), "this script's copy (the server code has no limits)"
    found = {name: int(getattr(DEFAULT_LIMITS, name)) for name in _SAME_AS_LIMITS}
    return found, "latchwork.server.core.limits"


def python_code(size: int, tag: str) -> str:
    """Plain Python of exactly ``size`` bytes, unique to ``tag``."""
    head = f"# {tag}\n"
    lines = []
    total = len(head)
    index = 0
    while total < size:
        line = f"v{index} = {index}\n"
        lines.append(line)
        total += len(line)
        index += 1
    code = head + "".join(lines)
    return code[: size - 1].rsplit("\n", 1)[0] + "\n"


def largest_submit(limit: dict[str, int], tag: str) -> supervisor_pb2.SubmitRequest:
    jobs = limit["jobs_per_submit"]
    frames = limit["work_items_per_submit"] // jobs
    cpus = limit["instances_per_submit"] // jobs
    # Room for the qube callbacks' code first (their 12 bytes count too), then Python code.
    qube_room = len("unblock-self") * min(limit["callbacks_per_submit"], jobs)
    python = min((limit["code_bytes_per_submit"] - qube_room) // limit["code_bytes"], jobs)
    qube = min(limit["callbacks_per_submit"] - python, jobs - python)
    dicts: list[dict[str, object]] = []
    for i in range(jobs):
        job: dict[str, object] = {
            "name": f"big{i}",
            "prototype": "cmdrange",
            "package": {"cmdline": "true", "range": f"1-{frames}"},
            "status": "blocked",
            "cpus": cpus,
        }
        if i < python:
            code = python_code(limit["code_bytes"], f"{tag} job {i}")
            job["callbacks"] = [{"triggers": "done-job-self", "language": "python", "code": code}]
        elif i - python < qube:
            job["callbacks"] = [{"triggers": "done-job-self", "code": "unblock-self"}]
        dicts.append(job)
    request = supervisor_pb2.SubmitRequest(
        jobs=[job_spec_from_dict(d, f"jobs[{i}]") for i, d in enumerate(dicts)]
    )
    # Fill the rest of the request with an environment variable on every job.
    room = limit["request_bytes"] - request.ByteSize()
    per_job = room // jobs - 24  # the map entry's own bytes
    if per_job > 0:
        for spec in request.jobs:
            spec.env["FILL"] = "x" * per_job
    if request.ByteSize() > limit["request_bytes"]:
        raise SystemExit(f"built {request.ByteSize()} bytes, over {limit['request_bytes']}")
    return request


def summary(latencies: list[float]) -> tuple[float, float, float]:
    if not latencies:
        return (float("nan"),) * 3
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="largest legal Submits (3)")
    parser.add_argument("--interval-ms", type=float, default=10.0, help="check period (10 ms)")
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="idle phase (5 s)")
    add_workdir_flag(parser)
    args = parser.parse_args(argv)

    limit, source = limits()
    print("== health latency: idle, and during the largest legal Submit")
    print(f"   machine: {machine()}")
    print(f"   limits from {source}: " + ", ".join(f"{k}={v}" for k, v in limit.items()))
    requests = [largest_submit(limit, f"round {r}") for r in range(args.rounds)]
    print(
        f"   submission: {len(requests[0].jobs)} jobs, "
        f"{sum(1 for j in requests[0].jobs for c in j.callbacks if c.language == 'python')} "
        f"Python callbacks of {limit['code_bytes']} bytes, "
        f"{sum(len(j.callbacks) for j in requests[0].jobs)} callbacks in all, "
        f"{requests[0].ByteSize() / 2**20:.2f} MiB"
    )
    load = OtherLoad()
    durations: list[float] = []
    windows: list[tuple[float, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp,
        supervisor(Path(tmp) / "health", slots=0) as served,
    ):
        probe = HealthProbe(args.interval_ms / 1000)

        def submits(idle_end: float) -> None:
            time.sleep(max(idle_end - time.monotonic(), 0))
            with grpc.insecure_channel(
                served.address,
                options=[
                    ("grpc.max_send_message_length", 64 * 2**20),
                    ("grpc.max_receive_message_length", 64 * 2**20),
                ],
            ) as channel:
                stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
                for request in requests:
                    start = time.monotonic()
                    reply = stub.Submit(request, metadata=METADATA, timeout=600)
                    end = time.monotonic()
                    windows.append((start, end))
                    durations.append(end - start)
                    if len(reply.jobs) != len(request.jobs):
                        raise SystemExit("the Submit did not create every job")
                    time.sleep(1.0)

        async def measure() -> None:
            stop = asyncio.Event()
            idle_start = time.monotonic() + 0.5
            idle_end = idle_start + args.idle_seconds
            task = asyncio.create_task(probe.run(served.address, stop))
            await asyncio.to_thread(submits, idle_end)
            stop.set()
            await task
            windows.insert(0, (idle_start, idle_end))

        asyncio.run(measure())
    idle_window, busy_windows = windows[0], windows[1:]
    idle = [lat for sent, lat in probe.samples if idle_window[0] <= sent < idle_window[1]]
    busy = [lat for sent, lat in probe.samples if any(a <= sent < b for a, b in busy_windows)]
    print(f"   {load.report()}")
    print(f"   check every {args.interval_ms:g} ms; failed checks: {probe.failures}")
    print("   Submit durations (s): " + " ".join(f"{d:.2f}" for d in durations))
    print()
    print(f"   {'':28} {'checks':>7} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} {'>100 ms':>8}")
    rows = (("idle", idle), ("during the largest Submit", busy))
    for label, values in rows:
        p50, p99, worst = summary(values)
        slow = sum(1 for v in values if v > 0.1)
        print(
            f"   {label:28} {len(values):7d} {p50 * 1000:9.2f} {p99 * 1000:9.2f} "
            f"{worst * 1000:9.2f} {slow:8d}"
        )
    (i50, i99, imax), (b50, b99, bmax) = summary(idle), summary(busy)
    print(
        f"   {'ratio (during / idle)':28} {'':7} {b50 / i50:9.1f} {b99 / i99:9.1f} "
        f"{bmax / imax:9.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
