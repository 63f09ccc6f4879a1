"""Sandbox overhead: one Python callback run N times in-process vs through the SandboxPool.

The callback is what a frame-to-frame dependency does (read the job and the event, unblock the
bound work item of another job, print a line), on an owner job of ``--frames`` work items in a
process group of ten jobs: the snapshots travel to the worker with every run.

* ``in-process exec``: the code compiled once with the sandbox's policy, then per run fresh
  globals (guards, ``qb``, ``event``, ``job``) and ``exec``, in this process, without limits.
  This is the reference of the ratio: the least any in-process runner would do.
* ``in-process execute()``: the worker's own run function (the same, plus collecting the run's
  garbage and building the reply), still in this process: what the worker does per run.
* ``sandbox``: ``SandboxPool.run`` with one worker, one run at a time: the round trip
  (JSON both ways over pipes, rlimit and timer re-arming, the run, validation in the parent).
* ``sandbox, N workers``: ``--workers`` runs in flight at a time: throughput.

Rounds alternate the order of the measurements; medians are reported, every round in brackets.
Also reported: how long a worker takes to start (spawn to ready) and p50/p99 round trips.

Run: ``.venv/bin/python bench/sandbox_overhead.py [--runs 2000 --rounds 3 --workers 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import OtherLoad, listing, machine, median
from latchwork.sandbox.python.api import Qb, callback_names, recorded_actions
from latchwork.sandbox.python.policy import PrintCollector, compile_callback, run_globals
from latchwork.sandbox.python.pool import Limits, PythonCall, SandboxPool
from latchwork.sandbox.python.protocol import decode, encode
from latchwork.sandbox.python.worker import execute, warm_up

CODE = """\
done = [w.name for w in job.work if w.status == 'complete']
if event.binding:
    qb.workunblock('%d:%s' % (job.pgrp + 1, event.binding))
print('frame', event.binding, 'of', job.label, len(done), 'done')
"""


def make_call(frames: int) -> PythonCall:
    owner = {
        "id": 12,
        "pgrp": 10,
        "pid": 0,
        "label": "render",
        "name": "sh010 render",
        "user": "bench",
        "status": "running",
        "priority": 50,
        "cpus": 4,
        "data": {"shot": "sh010", "seq": "sq01"},
        "env": {"RENDERER": "arnold"},
        "work": [
            {"name": str(i), "status": "complete" if i % 3 else "running", "retries": 0}
            for i in range(1, frames + 1)
        ],
    }
    jobs: dict[str, dict[str, object]] = {
        str(i): {**owner, "id": i, "label": f"job{i}", "work": []} for i in range(10, 20)
    }
    event = {
        "seq": 1000,
        "name": "complete",
        "type": "work",
        "job_id": 12,
        "work_name": "7",
        "subjob_id": 1,
        "host": "node1",
        "status": "complete",
        "message": "",
        "binding": "7",
    }
    return PythonCall(
        code=CODE, owner_id=12, binding="7", event=event, job=owner, jobs=jobs, tree=None
    )


def request_of(call: PythonCall) -> dict[str, Any]:
    return {
        "owner_id": call.owner_id,
        "binding": call.binding,
        "event": call.event,
        "job": call.job,
        "jobs": call.jobs,
        "tree": call.tree,
    }


def in_process_exec(call: PythonCall, runs: int) -> tuple[float, int]:
    """Seconds for ``runs`` plain execs of the compiled code; actions of the last run."""
    code, message, _ = compile_callback(call.code)
    assert code is not None, message
    actions = 0
    start = time.perf_counter()
    for _ in range(runs):
        collector = PrintCollector(64 * 1024)
        qb = Qb(call.owner_id, call.job, call.jobs)
        names = callback_names(qb, call.event, call.job, call.tree, call.binding)
        exec(code, run_globals(collector, names))
        actions = len(recorded_actions(qb))
    return time.perf_counter() - start, actions


def in_process_execute(call: PythonCall, runs: int) -> float:
    code, _, _ = compile_callback(call.code)
    assert code is not None
    request = request_of(call)
    start = time.perf_counter()
    for _ in range(runs):
        reply = execute(code, request, 64 * 1024)
    elapsed = time.perf_counter() - start
    assert reply["error"] == "" and len(reply["actions"]) == 1, reply
    return elapsed


async def sandbox_sequential(pool: SandboxPool, call: PythonCall, runs: int) -> list[float]:
    """Round-trip seconds of ``runs`` runs, one at a time."""
    trips: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        result = await pool.run(call)
        trips.append(time.perf_counter() - start)
        if result.error or len(result.actions) != 1:
            raise SystemExit(f"sandbox run failed: {result}")
    return trips


async def sandbox_parallel(pool: SandboxPool, call: PythonCall, runs: int, width: int) -> float:
    """Seconds for ``runs`` runs with ``width`` in flight at a time."""
    queue = iter(range(runs))

    async def lane() -> None:
        for _ in queue:
            result = await pool.run(call)
            if result.error:
                raise SystemExit(f"sandbox run failed: {result}")

    start = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(width)))
    return time.perf_counter() - start


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile, as in dependency_latency.py."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


async def measure(args: argparse.Namespace) -> int:
    n, width = args.runs, args.workers
    call = make_call(args.frames)
    payload = len(repr(request_of(call)))
    print(f"== sandbox overhead: one callback, {n} runs, snapshots of ~{payload // 1024} KiB")
    print(f"   machine: {machine()}")
    load = OtherLoad()
    warm_up()
    gc.collect()
    gc.freeze()  # as the worker does: execute()'s per-run collection skips what came before
    limits = Limits(runs_per_worker=max(n * args.rounds * 2, 500))

    starts: list[float] = []
    for _ in range(5):
        start = time.perf_counter()
        async with SandboxPool(1, limits):
            starts.append(time.perf_counter() - start)

    times: dict[str, list[float]] = {"exec": [], "execute": [], "sandbox": [], "parallel": []}
    trips: list[float] = []
    async with SandboxPool(1, limits) as single, SandboxPool(width, limits) as several:
        # Warm-up: compile caches, first allocations, both pools.
        in_process_exec(call, 50)
        in_process_execute(call, 50)
        await sandbox_sequential(single, call, 50)
        await sandbox_parallel(several, call, 50, width)
        for round_no in range(args.rounds):
            steps = ["exec", "execute", "sandbox", "parallel"]
            for step in steps if round_no % 2 == 0 else steps[::-1]:
                if step == "exec":
                    times["exec"].append(in_process_exec(call, n)[0])
                elif step == "execute":
                    times["execute"].append(in_process_execute(call, n))
                elif step == "sandbox":
                    round_trips = await sandbox_sequential(single, call, n)
                    trips.extend(round_trips)
                    times["sandbox"].append(sum(round_trips))
                else:
                    times["parallel"].append(await sandbox_parallel(several, call, n, width))
        replaced = single.replaced + several.replaced

    print(f"   rounds: {args.rounds}, order alternating; medians, every round in brackets")
    print(f"   {load.report()}")
    # A worker asks to be replaced after a run when its ru_maxrss is above half its memory
    # limit; a worker started by vfork + exec (as asyncio does) begins with the peak RSS of
    # the process that started it, this one: above the threshold, every run pays a start.
    print(
        f"   workers replaced during the measurement: {replaced} (expected 0); this process's "
        f"peak RSS {peak_rss_mib():.0f} MiB, the workers' recycling threshold "
        f"{limits.memory_bytes / 2**21:.0f} MiB"
    )
    print()
    rows = [
        ("in-process exec (reference)", "exec"),
        ("in-process execute() (the worker's run)", "execute"),
        ("sandbox, 1 worker, sequential", "sandbox"),
        (f"sandbox, {width} workers, {width} in flight", "parallel"),
    ]
    for label, key in rows:
        seconds = median(times[key])
        print(
            f"   {label:<42} {seconds / n * 1e6:9.1f} us/run {n / seconds:9.0f} runs/s"
            f"  {listing([t / n * 1e6 for t in times[key]], digits=1)}"
        )
    print()
    reference = median(times["exec"])
    sandbox = median(times["sandbox"])
    print(f"   {'ratio sandbox / in-process exec':<42} {sandbox / reference:9.1f}")
    print(
        f"   {'ratio sandbox / in-process execute()':<42} {sandbox / median(times['execute']):9.1f}"
    )
    print(
        f"   {'sandbox round trip p50 / p99 / max':<42} {percentile(trips, 0.5) * 1e6:9.1f} /"
        f" {percentile(trips, 0.99) * 1e6:.1f} / {max(trips) * 1e6:.1f} us"
        f"  (mean {statistics.fmean(trips) * 1e6:.1f})"
    )
    print(
        f"   {'overhead per run vs in-process exec':<42} {(sandbox - reference) / n * 1e6:9.1f} us"
    )
    print(
        f"   {'worker start (spawn to ready), median':<42} {median(starts) * 1e3:9.1f} ms"
        f"  {listing([s * 1e3 for s in starts], digits=1)}"
    )
    wire = {"code": call.code, **request_of(call)}
    encode_s = timed(lambda: encode(wire), 500)
    body = encode(wire)[4:]
    decode_s = timed(lambda: decode(body), 500)
    print(
        f"   {'of which the request JSON (encode, decode)':<42} {encode_s * 1e6:9.1f} us +"
        f" {decode_s * 1e6:.1f} us  ({len(body)} bytes; in this process)"
    )
    return 0


def peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM of /proc/self/status), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(function: Callable[[], object], repeat: int) -> float:
    function()
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000, help="runs per measurement (2000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the parallel pool (2)")
    parser.add_argument("--frames", type=int, default=100, help="work items of the owner (100)")
    args = parser.parse_args(argv)
    return asyncio.run(measure(args))


if __name__ == "__main__":
    sys.exit(main())
