"""History and memory: Submit latency, RSS and restart time as a supervisor's history grows.

One ``latchwork serve --slots 0`` on a fresh data directory. Batches of ``--batch`` blocked
cmdrange jobs of ``--frames`` frames each are submitted, one Submit per batch, until ``--jobs``
jobs are held; after each batch the Submit's latency (call to answer) and the supervisor's RSS
(``VmRSS`` in /proc) are recorded. Then the supervisor is stopped (SIGTERM) and started again
on the same data directory, timed from the start to its first answered requests: a gRPC health
``Check``, then a ``ListJobs`` (first page).

``--finished`` makes the history finished rather than live, the state the issue's memory goal
is about: each batch is killed right after its Submit, in one ``ControlJobs(KILL)`` of its 1,000
job ids (the cheapest honest way to finish jobs: no process runs, and a killed job is as final
as a complete one), then ``--live`` blocked jobs are submitted on top and stay live.

``--keep-finished SECONDS`` (5 by default) is the supervisor's ``keep_finished_seconds``:
finished jobs leave its memory that long after they finished, and are read from the store when
asked for (issue 16, item 1). After the last Submit the script waits for the supervisor's next
pass of retiring (that long and a few seconds more) and reads its RSS again: the figure the
goal is about. A server runs with 60 by default.

``--callbacks`` gives every job what a pipeline's jobs have: a callback of its own (qube
``failed-work-self-*`` → ``retry-work-self``), and, but for the first job of each Submit, a
dependency on the job before it (``link-complete-job-<label>``, a callback watching another
job). The callbacks of finished jobs leave memory with their jobs and a restart leaves them in
the store (``server/dormant_callbacks.py``), which is what this measures.

``--trace-gc`` records every collection of Python's cyclic garbage collector in the supervisor
(through a ``sitecustomize`` put first on its PYTHONPATH, nothing in the server's code) and
prints the slow ones, to see where Submit's outliers come from.

Run: ``.venv/bin/python bench/history_memory.py [--jobs 100000] [--finished] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    OtherLoad,
    Served,
    add_workdir_flag,
    machine,
    process_cpu_seconds,
    supervisor,
)
from bench.submit_throughput import build_request, job_dicts
from latchwork.server.app import retire_period
from latchwork.v1 import job_pb2, supervisor_pb2, supervisor_pb2_grpc

METADATA = (("latchwork-user", "bench"),)
MIB = 1024 * 1024
MAX_CALLBACKS_PER_SUBMIT = 500  # the supervisor's callbacks_per_submit (docs/limits.md)

# The goals (issue 16, item 1).
GOAL_RSS_MIB = 150.0  # with 1,000,000 finished frames and 10,000 live jobs
GOAL_RESTART_S = 2.0  # start to serving, with that history
GOAL_P99_OVER_P50 = 2.0  # Submit p99 at most twice its p50 while history grows

GC_TRACE = '''\
"""Bench only (bench/history_memory.py --trace-gc): log every cyclic collection."""
import gc, os, time  # noqa: E401

_out = open(os.path.join(os.environ["LATCHWORK_BENCH_GC_DIR"], f"gc-{os.getpid()}.log"), "a")
_began = [0.0, 0.0]


def _timed(phase, info):
    if phase == "start":
        _began[:] = [time.perf_counter(), time.thread_time()]
        return
    wall, cpu = time.perf_counter() - _began[0], time.thread_time() - _began[1]
    # Nothing here may walk the heap: gc.get_freeze_count() alone counts a list of millions.
    _out.write(
        f"{time.time():.6f} {info['generation']} {wall * 1000:.3f} {cpu * 1000:.3f} "
        f"{info['collected']}\\n"
    )
    _out.flush()


gc.callbacks.append(_timed)
'''


def with_callbacks(dicts: list[dict[str, object]]) -> None:
    """Give each job a callback of its own, and each but the first a dependency on the job
    before it in the same Submit (``--callbacks``)."""
    for i, job in enumerate(dicts):
        job["label"] = f"j{i}"
        job["callbacks"] = [
            {"triggers": "failed-work-self-*", "language": "qube", "code": "retry-work-self"}
        ]
        if i:
            job["dependency"] = f"link-complete-job-j{i - 1}"


@dataclass
class Batch:
    jobs_held: int  # after this batch
    submit_s: float
    submit_cpu_s: float  # the supervisor's, user + sys, 10 ms ticks
    kill_s: float
    rss_mib: float
    finished: bool


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / MIB
    raise RuntimeError(f"no VmRSS for pid {pid}")


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile, interpolated between the samples (Python's inclusive method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def grow(
    stub: supervisor_pb2_grpc.SupervisorServiceStub,
    pid: int,
    request: supervisor_pb2.SubmitRequest,
    batches: int,
    *,
    finish: bool,
    held: int,
    log: list[Batch],
) -> int:
    """Submit ``batches`` copies of ``request`` (killing each when ``finish``); jobs held after."""
    per_batch = len(request.jobs)
    for _ in range(batches):
        cpu = process_cpu_seconds(pid)
        start = time.perf_counter()
        response = stub.Submit(request, metadata=METADATA, timeout=600)
        submit_s = time.perf_counter() - start
        submit_cpu_s = process_cpu_seconds(pid) - cpu
        if len(response.jobs) != per_batch:
            raise SystemExit(f"unexpected answer: {len(response.jobs)} jobs")
        kill_s = 0.0
        if finish:
            kill = supervisor_pb2.ControlJobsRequest(
                action=supervisor_pb2.ACTION_KILL, job_ids=[job.id for job in response.jobs]
            )
            start = time.perf_counter()
            killed = stub.ControlJobs(kill, metadata=METADATA, timeout=600)
            kill_s = time.perf_counter() - start
            statuses = [r.job_status for r in killed.results]
            if statuses != [job_pb2.JOB_STATUS_KILLED] * per_batch:
                raise SystemExit("a job of the batch was not killed")
        held += per_batch
        log.append(Batch(held, submit_s, submit_cpu_s, kill_s, rss_mib(pid), finish))
        if len(log) % 10 == 0:
            last = log[-10:]
            print(
                f"   {held:>9,} jobs  Submit {min(b.submit_s for b in last) * 1000:6.0f}-"
                f"{max(b.submit_s for b in last) * 1000:6.0f} ms"
                + (f"  kill {max(b.kill_s for b in last) * 1000:5.0f} ms max" if finish else "")
                + f"  RSS {log[-1].rss_mib:7.1f} MiB",
                flush=True,
            )
    return held


def restart(served: Served) -> dict[str, float]:
    """Stop ``served`` (SIGTERM) and start it again: seconds to each milestone, and RSS."""
    start = time.perf_counter()
    served.stop(timeout=120)
    stopped = time.perf_counter() - start
    served.printed.clear()
    start = time.perf_counter()
    served.start(timeout=600)
    ready = time.perf_counter() - start
    with grpc.insecure_channel(served.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        health.Check(health_pb2.HealthCheckRequest(), timeout=600)  # type: ignore[attr-defined]
        checked = time.perf_counter() - start
        listed = supervisor_pb2_grpc.SupervisorServiceStub(channel).ListJobs(
            supervisor_pb2.ListJobsRequest(), metadata=METADATA, timeout=600
        )
        listed_s = time.perf_counter() - start
    cpu = process_cpu_seconds(served.pid)
    if not listed.jobs:
        raise SystemExit("ListJobs after the restart listed no jobs")
    return {
        "stop": stopped,
        "ready": ready,
        "check": checked,
        "list": listed_s,
        "rss": rss_mib(served.pid),
        "cpu": cpu,
    }


def gc_report(gc_dir: Path, pid: int, slow_ms: float) -> None:
    """The supervisor's collections by generation; those over ``slow_ms`` of its CPU."""
    path = gc_dir / f"gc-{pid}.log"
    if not path.exists():
        print("   gc trace: nothing recorded")
        return
    rows = [line.split() for line in path.read_text().splitlines()]
    print(
        f"   cyclic collections in the supervisor (pid {pid}), thread CPU ms "
        "(wall ms in brackets: the machine's load is in it):"
    )
    for gen in (0, 1, 2):
        cpu = [float(row[3]) for row in rows if row[1] == str(gen)]
        wall = [float(row[2]) for row in rows if row[1] == str(gen)]
        if cpu:
            print(
                f"     generation {gen}: {len(cpu):6} collections, total {sum(cpu):7.0f} "
                f"({sum(wall):.0f}), max {max(cpu):6.1f} ({max(wall):.1f}), "
                f"over {slow_ms:.0f} ms: {sum(1 for t in cpu if t >= slow_ms)}"
            )
    for row in [row for row in rows if float(row[3]) >= slow_ms][:40]:
        print(
            f"     gen {row[1]} {float(row[3]):7.1f} ms CPU ({float(row[2]):.1f} wall), "
            f"collected {row[4]}"
        )


def goal(limit: str, met: bool, applies: bool = True) -> str:
    if not applies:
        return f"goal {limit} with 1,000,000 finished frames and 10,000 live jobs: not this run"
    return f"goal {limit}: {'met' if met else 'NOT met'}"


def report(
    log: list[Batch],
    args: argparse.Namespace,
    live: int,
    rss_start: float,
    settled: float,
    again: dict[str, float],
) -> None:
    submits = [b.submit_s for b in log]
    p50, p99 = percentile(submits, 50), percentile(submits, 99)
    worst = max(range(len(log)), key=lambda i: log[i].submit_s)
    finished_frames = sum(args.frames * args.batch for b in log if b.finished)
    rss_end = log[-1].rss_mib
    per_1000 = (rss_end - rss_start) / ((log[-1].jobs_held - 1) / 1000)
    print(
        f"   held at the end: {log[-1].jobs_held:,} jobs, {finished_frames:,} finished frames, "
        f"{live:,} live jobs"
    )
    spread = goal(f"<= {GOAL_P99_OVER_P50:.0f}", p99 <= GOAL_P99_OVER_P50 * p50)
    print(
        f"   Submit of {args.batch:,} jobs, {len(submits)} calls: p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms (p99/p50 {p99 / p50:.2f}; {spread}), "
        f"max {submits[worst] * 1000:.0f} ms "
        f"(batch {worst + 1}, {log[worst].jobs_held:,} jobs held)"
    )
    cpus = [b.submit_cpu_s for b in log]
    print(
        f"   the supervisor's CPU per Submit: p50 {percentile(cpus, 50) * 1000:.0f} ms, "
        f"p99 {percentile(cpus, 99) * 1000:.0f} ms, max {max(cpus) * 1000:.0f} ms "
        "(user+sys, 10 ms ticks; the figure a busy machine disturbs least)"
    )
    if args.finished:
        kills = [b.kill_s for b in log if b.finished]
        print(
            f"   ControlJobs(KILL) of {args.batch:,} jobs: p50 "
            f"{percentile(kills, 50) * 1000:.0f} ms, max {max(kills) * 1000:.0f} ms"
        )
    full = finished_frames >= 1_000_000 and live >= 10_000
    rss_note = f" ({goal(f'<= {GOAL_RSS_MIB:.0f} MiB', settled <= GOAL_RSS_MIB, full)})"
    print(
        f"   RSS: {rss_start:.0f} MiB after the first Submit, {rss_end:.0f} MiB at the end "
        f"({per_1000:.2f} MiB per 1,000 jobs), {settled:.0f} MiB once finished jobs older "
        f"than {args.keep_finished:g} s left memory{rss_note}"
    )
    ready = goal(f"<= {GOAL_RESTART_S:.0f} s", again["list"] <= GOAL_RESTART_S, full)
    print(
        f"   restart: SIGTERM to exit {again['stop']:.2f} s; start to 'serving on' "
        f"{again['ready']:.2f} s, to the first health Check answered {again['check']:.2f} s, "
        f"to the first ListJobs answered {again['list']:.2f} s "
        f"({ready}); the supervisor's CPU up to then {again['cpu']:.2f} s, "
        f"RSS then {again['rss']:.0f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs submitted (100000)")
    parser.add_argument("--batch", type=int, default=1000, help="jobs per Submit (1000)")
    parser.add_argument("--frames", type=int, default=10, help="frames per job (10)")
    parser.add_argument(
        "--finished",
        action="store_true",
        help="kill each batch right after its Submit, then add --live blocked jobs",
    )
    parser.add_argument(
        "--live", type=int, default=10_000, help="live jobs on top, with --finished (10000)"
    )
    parser.add_argument(
        "--keep-finished",
        type=float,
        default=5.0,
        help="the supervisor's keep_finished_seconds (5)",
    )
    parser.add_argument(
        "--callbacks",
        action="store_true",
        help="a callback on every job, and each job of a Submit depending on the one before",
    )
    parser.add_argument("--quick", action="store_true", help="--jobs 10000 (--live 1000)")
    parser.add_argument("--trace-gc", action="store_true", help="log the supervisor's collections")
    parser.add_argument("--slow-ms", type=float, default=20.0, help="a slow collection (20 ms)")
    add_workdir_flag(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.jobs, args.live = 10_000, 1_000
    if args.batch <= 0 or args.jobs % args.batch or (args.finished and args.live % args.batch):
        parser.error("--jobs (and --live) must be multiples of --batch")
    if args.callbacks and 2 * args.batch - 1 > MAX_CALLBACKS_PER_SUBMIT:
        parser.error(
            f"--callbacks: at most {MAX_CALLBACKS_PER_SUBMIT // 2} jobs per Submit (a "
            f"Submit has at most {MAX_CALLBACKS_PER_SUBMIT} callbacks); try --batch 100"
        )
    live = args.live if args.finished else 0

    kind = ("finished (killed)" if args.finished else "blocked") + (
        ", with callbacks and chains" if args.callbacks else ""
    )
    print(
        f"== history and memory: {args.jobs:,} {kind} jobs x {args.frames} frames in Submits "
        f"of {args.batch:,}" + (f", then {live:,} blocked" if live else "")
    )
    print(f"   machine: {machine()}")
    dicts = job_dicts(args.batch, args.frames)
    if args.callbacks:
        with_callbacks(dicts)
    request = build_request(dicts)
    load = OtherLoad()
    log: list[Batch] = []
    with tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp:
        env: dict[str, str] = {"LATCHWORK_KEEP_FINISHED_SECONDS": str(args.keep_finished)}
        gc_dir = Path(tmp) / "gc-trace"
        if args.trace_gc:
            gc_dir.mkdir()
            (gc_dir / "sitecustomize.py").write_text(GC_TRACE)
            path = os.environ.get("PYTHONPATH", "")
            env |= {
                "PYTHONPATH": str(gc_dir) + (os.pathsep + path if path else ""),
                "LATCHWORK_BENCH_GC_DIR": str(gc_dir),
            }
        served = supervisor(Path(tmp) / "history", slots=0, env=env)
        try:
            served.start()
            with grpc.insecure_channel(served.address) as channel:
                stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
                stub.Submit(build_request(job_dicts(1, 1)), metadata=METADATA, timeout=30)
                rss_start = rss_mib(served.pid)
                held = grow(
                    stub,
                    served.pid,
                    request,
                    args.jobs // args.batch,
                    finish=args.finished,
                    held=1,
                    log=log,
                )
                live_batches = live // args.batch
                grow(stub, served.pid, request, live_batches, finish=False, held=held, log=log)
                # The supervisor's next pass of retiring, and a margin.
                time.sleep(args.keep_finished + retire_period(args.keep_finished) + 2)
                settled = rss_mib(served.pid)
            if args.trace_gc:
                gc_report(gc_dir, served.pid, args.slow_ms)
            again = restart(served)
            if args.trace_gc:
                print("   after the restart, up to its first answers:")
                gc_report(gc_dir, served.pid, args.slow_ms)
        finally:
            served.stop(timeout=120)
    print(f"   {load.report()}")
    report(log, args, live, rss_start, settled, again)
    return 0


if __name__ == "__main__":
    sys.exit(main())
