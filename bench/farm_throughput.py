"""Farm-scale throughput: many remote workers, frames that end at once, dependency chains.

One ``latchwork serve --slots 0`` (no local pool; ``--store URL`` is passed on to it) with a
tokens file, as a farm runs it. ``--workers`` simulated workers (200 by default, 4 slots each)
in ``--client-processes`` processes of asyncio tasks (``bench/farm_workers.py``) register with
a worker token, lease over real gRPC and end each lease ``EXITED 0`` at once, reporting the
ended leases together in one ReportWork request that takes the next leases (``max_leases``),
sent on the worker's open ReportWorkStream call (``--unary-reports``: a call each): what
remains is the supervisor's cost per frame (its share of those calls and their transaction,
events, scheduling). Heartbeats go out as a real worker sends them.

``--frames`` frames are submitted (with a user token) as cmdrange jobs of ``--job-frames``
frames of ``true`` (``cpus`` ``--job-cpus``), in chains of ``--chain`` jobs: every job of a
chain but the first has ``dependency: link-complete-job-<previous>``. A feeder submits
``--chains-per-submit`` chains per Submit whenever fewer than ``--backlog`` frames are
unfinished, so the supervisor always holds work to lease and submits go on during the run,
as on a farm.

Printed: frames/s over the whole run (first Submit to the last job's end) and over the steady
middle (10 % to 90 % of the jobs complete, from the supervisor's event times); the
supervisor's CPU per frame over both (``/proc/<pid>/stat``, so Submits, heartbeats and the
event stream this script reads are in it); the dependency latency under that load from the
event log: the predecessor's job ``complete`` event to the dependent's first ``running`` event
(and to its ``unblocked`` event: the trigger alone, without the lease; that one also split by
whether one of the feeder's Submit calls overlapped the wait); the supervisor's peak
RSS (``VmHWM``); what the client processes cost; the calls the workers made.

Reference measured in the same run (``--reference-seconds``): the same client processes and
connections, as many loops as the workers have slots, calling the do-nothing unary method of
``bench/trivial_server.py`` (a ``grpc.aio`` server like the supervisor's) with a lease's worth
of bytes: the server's CPU per call, times the worker calls per frame, is what gRPC alone
costs per frame before the supervisor does anything.

Run: ``.venv/bin/python bench/farm_throughput.py [--frames 1000000 | --quick] [--store URL |
--store postgresql]`` (the latter starts a PostgreSQL server, as the tests do).
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dependency_latency import percentile
from bench.farm_throughput_events import Follower
from bench.harness import (
    OtherLoad,
    Served,
    add_store_flag,
    add_workdir_flag,
    machine,
    process_cpu_seconds,
    run_with_store,
    trivial_server,
)
from bench.harness import supervisor as supervisor_process
from latchwork.client.jobspec import job_spec_from_dict
from latchwork.v1 import supervisor_pb2, supervisor_pb2_grpc


def submission(index: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One Submit: ``chains_per_submit`` chains of ``chain`` jobs, each but the first of a
    chain depending on the previous one."""
    jobs: list[dict[str, Any]] = []
    for chain in range(args.chains_per_submit):
        for position in range(args.chain):
            label = f"c{chain}j{position}"
            job: dict[str, Any] = {
                "name": f"farm-{index}-{label}",
                "label": label,
                "prototype": "cmdrange",
                "package": {"cmdline": "true", "range": f"1-{args.job_frames}"},
                "cpus": args.job_cpus,
            }
            if position:
                job["dependency"] = f"link-complete-job-c{chain}j{position - 1}"
            jobs.append(job)
    return jobs


def start_workers(
    args: argparse.Namespace, address: str, token: str, *, echo: bool = False
) -> list[subprocess.Popen[str]]:
    """The client processes, each with its share of the workers, once all are registered."""
    script = Path(__file__).with_name("farm_workers.py")
    procs: list[subprocess.Popen[str]] = []
    per = math.ceil(args.workers / args.client_processes)
    for first in range(0, args.workers, per):
        count = min(per, args.workers - first)
        argv = [sys.executable, str(script), "--address", address, "--workers", str(count)]
        argv += ["--slots", str(args.slots), "--first", str(first)]
        argv += ["--one-connection"] if args.one_connection else []
        argv += ["--echo"] if echo else []
        argv += ["--unary-reports"] if args.unary_reports else []
        procs.append(
            subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "LATCHWORK_TOKEN": token},
            )
        )
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit("a client process of simulated workers failed to start")
    return procs


def stop_workers(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    counts = []
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
    for proc in procs:
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.wait(60)
        counts.append(json.loads(out.strip().splitlines()[-1]))
    return counts


def bare_grpc_cpu_per_call(args: argparse.Namespace, workdir: Path) -> tuple[float, int]:
    """The reference: the same client processes and connections calling a do-nothing
    ``grpc.aio`` server for ``--reference-seconds``; (its CPU seconds per call, calls)."""
    with trivial_server(workdir) as served:
        clients = start_workers(args, served.address, "", echo=True)
        cpu = process_cpu_seconds(served.pid)
        time.sleep(args.reference_seconds)
        cpu = process_cpu_seconds(served.pid) - cpu
        # Calls are counted from the clients' start to their stop, a little more than the
        # window: the reference per call comes out a little low, never high.
        calls = sum(c["reports"] for c in stop_workers(clients))
    return cpu / max(calls, 1), calls


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak RSS) and VmRSS of a process, KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0])
    return fields


def shown(store: str) -> str:
    """The store's URL for the output, its password masked."""
    parts = urllib.parse.urlsplit(store)
    if not parts.password:
        return store
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def write_tokens(path: Path, user_token: str, worker_token: str) -> None:
    path.write_text(
        f'[[token]]\ntoken = "{user_token}"\nuser = "bench"\n\n'
        f'[[token]]\ntoken = "{worker_token}"\nuser = "farm"\nrole = "worker"\n'
    )
    path.chmod(0o600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--frames", type=int, default=1_000_000, help="frames (1000000), whole Submits"
    )
    parser.add_argument(
        "--quick", action="store_true", help="--frames 20000 (21,000: whole Submits)"
    )
    parser.add_argument("--workers", type=int, default=200, help="simulated workers (200)")
    parser.add_argument("--slots", type=int, default=4, help="slots per worker (4)")
    parser.add_argument("--client-processes", type=int, default=2, help="for the workers (2)")
    parser.add_argument("--job-frames", type=int, default=100, help="frames per job (100)")
    parser.add_argument("--job-cpus", type=int, default=25, help="cpus of each job (25)")
    parser.add_argument("--chain", type=int, default=3, help="jobs per dependency chain (3)")
    parser.add_argument("--chains-per-submit", type=int, default=10, help="per Submit (10)")
    parser.add_argument("--backlog", type=int, default=30_000, help="unfinished frames (30000)")
    parser.add_argument(
        "--open", action="store_true", help="no tokens file (open mode): no token checks"
    )
    parser.add_argument(
        "--one-connection",
        action="store_true",
        help="one connection per client process instead of one per worker",
    )
    parser.add_argument(
        "--unary-reports",
        action="store_true",
        help="the workers report with a ReportWork call each, not on an open ReportWorkStream",
    )
    parser.add_argument(
        "--reference-seconds",
        type=float,
        default=10.0,
        help="how long the bare gRPC reference runs (10; 0: none)",
    )
    add_store_flag(parser)
    add_workdir_flag(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.frames = 20_000
    return run_with_store(args, _run)


def _run(args: argparse.Namespace) -> int:
    per_submit = args.chain * args.chains_per_submit
    submits = math.ceil(args.frames / (per_submit * args.job_frames))
    jobs = submits * per_submit
    frames = jobs * args.job_frames

    print(
        f"== farm throughput: {args.workers} simulated workers x {args.slots} slots in "
        f"{args.client_processes} processes; {frames:,} frames in {jobs:,} jobs of "
        f"{args.job_frames} (cpus {args.job_cpus}), chains of {args.chain}"
    )
    print(f"   machine: {machine()}")
    print(f"   store: {shown(args.store) if args.store else 'SQLite in the data directory'}")
    load = OtherLoad()
    user_token, worker_token = (f"farm-bench-{secrets.token_hex(12)}" for _ in range(2))
    user = (("authorization", f"Bearer {user_token}"),)
    env = {}
    if args.open:
        user, worker_token = (("latchwork-user", "bench"),), ""
    with tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp:
        tokens = Path(tmp) / "tokens.toml"
        if not args.open:
            write_tokens(tokens, user_token, worker_token)
            env["LATCHWORK_TOKENS_FILE"] = str(tokens)
        served: Served = supervisor_process(Path(tmp) / "farm", slots=0, env=env)
        if args.store:
            served.argv += ["--store", args.store]
        with served, grpc.insecure_channel(served.address) as channel:
            pid = served.pid
            workers = start_workers(args, served.address, worker_token)
            stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
            follower = Follower(channel, user, pid, jobs)
            worker_cpu = [process_cpu_seconds(p.pid) for p in workers]
            cpu_start = process_cpu_seconds(pid)
            start = time.perf_counter()
            predecessor: dict[int, int] = {}
            submit_calls: list[tuple[float, float]] = []
            for index in range(submits):
                follower.wait_until_done(index * per_submit - args.backlog // args.job_frames)
                request = supervisor_pb2.SubmitRequest(
                    jobs=[job_spec_from_dict(j) for j in submission(index, args)]
                )
                began = time.time()  # (the clock of the supervisor's event times)
                ids = [j.id for j in stub.Submit(request, metadata=user, timeout=300).jobs]
                submit_calls.append((began, time.time()))
                for position, job_id in enumerate(ids):
                    if position % args.chain:
                        predecessor[job_id] = ids[position - 1]
            follower.wait_until_done(jobs)
            elapsed = time.perf_counter() - start
            cpu = process_cpu_seconds(pid) - cpu_start
            worker_cpu = [
                process_cpu_seconds(p.pid) - c for p, c in zip(workers, worker_cpu, strict=True)
            ]
            memory = memory_kib(pid)
            follower.close()
            counts = stop_workers(workers)
        reference = bare_grpc_cpu_per_call(args, Path(tmp)) if args.reference_seconds else None
    load_note = load.report()
    report(args, frames, elapsed, cpu, worker_cpu, memory, counts, follower, predecessor)
    report_submit_overlap(follower, predecessor, submit_calls)
    if reference is not None:
        per_call, calls = reference
        # Unary calls only: reports on open streams are messages, not calls.
        reports = "report_calls" if args.unary_reports else "no_calls"
        calls_per_frame = sum(
            c["lease_calls"] + c.get(reports, 0) + c["heartbeats"] for c in counts
        )
        calls_per_frame /= frames
        print()
        print(
            f"   reference, same run: a do-nothing grpc.aio server (bench/trivial_server.py), "
            f"the same client processes and connections, {args.workers * args.slots} loops of "
            f"unary calls for {args.reference_seconds:.0f} s: {per_call * 1e6:.0f} us of server "
            f"CPU per call ({calls:,} calls); at the {calls_per_frame:.2f} unary worker calls "
            f"per frame above that is {per_call * calls_per_frame * 1e3:.3f} ms of CPU per frame "
            f"before any supervisor work"
            + ("" if args.unary_reports else " (the ReportWork requests went on open streams)")
        )
    print(f"   {load_note}")
    return 0


def report(
    args: argparse.Namespace,
    frames: int,
    elapsed: float,
    cpu: float,
    client_cpu: list[float],
    memory: dict[str, int],
    counts: list[dict[str, Any]],
    follower: Follower,
    predecessor: dict[int, int],
) -> None:
    ms = 1e3
    print(
        f"   latchwork serve --slots 0, {'open mode' if args.open else 'tokens file'}"
        f"{' --store ' + shown(args.store) if args.store else ''}"
        f"; run took {elapsed:.1f} s"
    )
    print()
    print(f"   {'':<46} {'whole run':>12} {'steady 10-90 %':>15}")
    ends = sorted(follower.complete.values())
    low, high = sorted(follower.cpu_at)
    window = ends[high - 1] - ends[low - 1]
    window_frames = (high - low) * args.job_frames
    window_cpu = follower.cpu_at[high] - follower.cpu_at[low]
    print(f"   {'frames/s':<46} {frames / elapsed:12,.0f} {window_frames / window:15,.0f}")
    print(
        f"   {'supervisor CPU per frame (ms)':<46} {cpu / frames * ms:12.3f} "
        f"{window_cpu / window_frames * ms:15.3f}"
    )
    print(
        f"   {'supervisor CPU use (cores)':<46} {cpu / elapsed:12.2f} {window_cpu / window:15.2f}"
    )
    print(
        f"   {'client processes CPU per frame (ms), each':<46} "
        + " ".join(f"{c / frames * ms:.3f}" for c in client_cpu)
    )
    print(
        f"   supervisor RSS: peak {memory['VmHWM'] / 1024:,.0f} MiB, "
        f"at the end {memory['VmRSS'] / 1024:,.0f} MiB"
    )
    calls = {key: sum(c[key] for c in counts) for key in counts[0] if key != "first_error"}
    per_call = calls["leases"] / max(calls["lease_calls"], 1)
    per_report = calls["reports"] / max(calls["report_calls"], 1)
    leases_back = calls["report_leases"] / max(calls["report_calls"], 1)
    print(
        f"   workers: {calls['lease_calls']:,} LeaseWork calls ({per_call:.2f} leases each), "
        f"{calls['report_calls']:,} ReportWork "
        f"{'calls' if args.unary_reports else 'requests on open streams'} ({per_report:.2f} "
        "reports and "
        f"{leases_back:.2f} new leases each; {calls['refused_reports']} reports refused), "
        f"{calls['heartbeats']:,} heartbeats, {calls['errors']} errors"
        + "".join(f"; {c['first_error']}" for c in counts if c["first_error"])
    )
    to_running = [follower.running[b] - follower.complete[a] for b, a in predecessor.items()]
    to_unblocked = [
        follower.unblocked[b] - follower.complete[a]
        for b, a in predecessor.items()
        if b in follower.unblocked
    ]
    print()
    print(f"   dependency latency under that load, {len(to_running):,} dependent jobs (ms)")
    print(f"   {'':<46} {'p50':>7} {'p99':>7} {'max':>7}")
    for label, values in (
        ("predecessor complete -> dependent running", to_running),
        ("predecessor complete -> dependent unblocked", to_unblocked),
    ):
        if values:
            print(
                f"   {label:<46} {percentile(values, 0.5) * ms:7.2f} "
                f"{percentile(values, 0.99) * ms:7.2f} {max(values) * ms:7.2f}"
            )


def report_submit_overlap(
    follower: Follower, predecessor: dict[int, int], submit_calls: list[tuple[float, float]]
) -> None:
    """The dependency latency (to the release) split by whether a Submit call of the feeder
    overlapped the wait: a Submit's commit is made at once, holding the supervisor's loop
    (docs/benchmarks.md, session 15)."""
    starts = [start for start, _ in submit_calls]

    def overlapped(begin: float, end: float) -> bool:
        index = bisect.bisect_right(starts, end) - 1  # the last call begun before the wait ended
        return index >= 0 and submit_calls[index][1] >= begin

    split: dict[bool, list[float]] = {True: [], False: []}
    for b, a in predecessor.items():
        if b in follower.unblocked:
            begin, end = follower.complete[a], follower.unblocked[b]
            split[overlapped(begin, end)].append(end - begin)
    print(f"   predecessor complete -> dependent unblocked, by Submit calls ({len(starts)} calls):")
    for label, values in (("overlapping one", split[True]), ("overlapping none", split[False])):
        if values:
            print(
                f"   {'  ' + label + f' ({len(values):,})':<46} "
                f"{percentile(values, 0.5) * 1e3:7.2f} {percentile(values, 0.99) * 1e3:7.2f} "
                f"{max(values) * 1e3:7.2f}"
            )


if __name__ == "__main__":
    sys.exit(main())
