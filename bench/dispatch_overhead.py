"""Dispatch overhead: N frames of ``true`` through the supervisor vs spawned directly.

Supervisor: one cmdrange job of ``--frames`` frames running ``true``, ``cpus`` = ``--parallel``,
on a ``latchwork serve --slots <parallel>``, so that many frames run at once. Timed from the
Submit call to the arrival of the job's COMPLETE event on a Subscribe stream (opened right after
Submit with ``after_seq`` = the Submit's seq, so no event can be missed and none is waited for
twice). The supervisor is started once, before the first round, and warmed up with a small job.

Direct baselines, in this process, same parallelism:

* ``direct``: what a simple script does, a ``ThreadPoolExecutor(parallel)`` running
  ``subprocess.run(["/bin/sh", "-c", "true"])`` for each frame; this is the reference of the
  ratio;
* ``direct, supervisor-style``: the same pool, but each process spawned the way the
  supervisor's runner spawns it (stdout and stderr to fresh files, own session, environment
  copy with the LATCHWORK_* / QB_* variables, stdin from /dev/null), so that the difference
  between the two baselines is the price of that process hygiene, and what remains is the
  supervisor's bookkeeping.

Rounds alternate the order of the three runs; medians are reported.

Run: ``.venv/bin/python bench/dispatch_overhead.py [--frames 500 --rounds 5 --parallel 2]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    OtherLoad,
    add_workdir_flag,
    listing,
    machine,
    median,
    process_cpu_seconds,
    supervisor,
)
from latchwork.client.jobspec import job_spec_from_dict
from latchwork.v1 import event_pb2, supervisor_pb2, supervisor_pb2_grpc

METADATA = (("latchwork-user", "bench"),)
FINAL = {
    event_pb2.EVENT_NAME_COMPLETE,
    event_pb2.EVENT_NAME_FAILED,
    event_pb2.EVENT_NAME_KILLED,
    event_pb2.EVENT_NAME_REMOVED,
}


def frames_job(frames: int, parallel: int) -> supervisor_pb2.SubmitRequest:
    job = {
        "name": "dispatch",
        "prototype": "cmdrange",
        "package": {"cmdline": "true", "range": f"1-{frames}"},
        "cpus": parallel,
        "priority": 10,
    }
    return supervisor_pb2.SubmitRequest(jobs=[job_spec_from_dict(job)])


class SupervisorRun:
    """Submit a job and wait for its final event; returns wall seconds."""

    def __init__(self, address: str, pid: int) -> None:
        self.channel = grpc.insecure_channel(address)
        self.stub = supervisor_pb2_grpc.SupervisorServiceStub(self.channel)
        self.pid = pid
        self.cpu_s: list[float] = []

    def run(self, frames: int, parallel: int, timeout: float) -> float:
        request = frames_job(frames, parallel)
        cpu_before = process_cpu_seconds(self.pid)
        start = time.perf_counter()
        response = self.stub.Submit(request, metadata=METADATA, timeout=30)
        job_id = response.jobs[0].id
        stream = self.stub.Subscribe(
            supervisor_pb2.SubscribeRequest(
                after_seq=response.seq, job_ids=[job_id], types=[event_pb2.EVENT_TYPE_JOB]
            ),
            metadata=METADATA,
            timeout=timeout,
        )
        final = None
        for item in stream:
            if item.HasField("event") and item.event.name in FINAL:
                final = item.event
                break
        elapsed = time.perf_counter() - start
        stream.cancel()
        self.cpu_s.append(process_cpu_seconds(self.pid) - cpu_before)
        if final is None or final.name != event_pb2.EVENT_NAME_COMPLETE:
            raise SystemExit(f"job {job_id} did not complete: {final}")
        return elapsed

    def close(self) -> None:
        self.channel.close()


def direct_simple(frames: int, parallel: int) -> float:
    def one(_: int) -> int:
        return subprocess.run(["/bin/sh", "-c", "true"], check=False).returncode

    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        codes = list(pool.map(one, range(frames)))
    elapsed = time.perf_counter() - start
    if any(codes):
        raise SystemExit("a direct run of `true` failed")
    return elapsed


def direct_supervisor_style(
    frames: int, parallel: int, out_dir: Path, creations: list[float] | None = None
) -> float:
    """Like the supervisor's runner: files for output, own session, an environment copy.

    The time each output file took to create is appended to ``creations``: the state of the
    filesystem, measured while the benchmark runs (see docs/benchmarks.md on ext4).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    created = creations if creations is not None else []

    def create(path: Path) -> BinaryIO:
        start = time.perf_counter()
        handle = open(path, "wb")  # noqa: SIM115 - closed by the caller's with
        created.append(time.perf_counter() - start)
        return handle

    def one(frame: int) -> int:
        env = dict(os.environ)
        env.update(
            {
                "QB_FRAME_NUMBER": str(frame),
                "QB_FRAME_START": str(frame),
                "QB_FRAME_END": str(frame),
                "QB_FRAME_STEP": "1",
                "LATCHWORK_JOB_ID": "1",
                "LATCHWORK_PGRP": "1",
                "LATCHWORK_LABEL": "job1",
                "LATCHWORK_WORK_NAME": str(frame),
                "LATCHWORK_SUBJOB_ID": "0",
                "LATCHWORK_ATTEMPT": "1",
                "LATCHWORK_LEASE_ID": os.urandom(16).hex(),
                "QB_JOB_ID": "1",
                "QB_SUBJOB_ID": "0",
            }
        )
        with (
            create(out_dir / f"{frame}.1.out") as out,
            create(out_dir / f"{frame}.1.err") as err,
        ):
            process = subprocess.Popen(
                ["/bin/sh", "-c", "true"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        return process.wait()

    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        codes = list(pool.map(one, range(frames)))
    elapsed = time.perf_counter() - start
    if any(codes):
        raise SystemExit("a supervisor-style direct run of `true` failed")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=500, help="frames of `true` (500)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (5)")
    parser.add_argument("--parallel", type=int, default=2, help="slots, cpus and threads (2)")
    parser.add_argument("--timeout", type=float, default=120.0, help="per supervisor run (s)")
    add_workdir_flag(parser)
    args = parser.parse_args(argv)
    n, parallel = args.frames, args.parallel

    print(f"== dispatch overhead: {n} frames of `true`, {parallel} at a time")
    print(f"   machine: {machine()}")
    load = OtherLoad()
    times: dict[str, list[float]] = {"supervisor": [], "direct": [], "direct-style": []}
    creations: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp,
        supervisor(Path(tmp) / "dispatch", slots=parallel) as served,
    ):
        workdir = Path(tmp).parent
        sup = SupervisorRun(served.address, served.pid)
        # Warm-up: connection, first lease, first spawn, on both sides.
        sup.run(min(n, 4), parallel, args.timeout)
        direct_simple(min(n, 4), parallel)
        direct_supervisor_style(min(n, 4), parallel, Path(tmp) / "warm")
        sup.cpu_s.clear()
        runs: list[tuple[str, Callable[[int], float]]] = [
            ("supervisor", lambda r: sup.run(n, parallel, args.timeout)),
            ("direct", lambda r: direct_simple(n, parallel)),
            (
                "direct-style",
                lambda r: direct_supervisor_style(n, parallel, Path(tmp) / f"out{r}", creations),
            ),
        ]
        for round_no in range(args.rounds):
            order = runs if round_no % 2 == 0 else runs[::-1]
            for name, run in order:
                times[name].append(run(round_no))
        sup.close()

    load_note = load.report()
    sup_s = median(times["supervisor"])
    direct_s = median(times["direct"])
    style_s = median(times["direct-style"])
    print(
        f"   workdir: {workdir}; creating an output file there took "
        f"{median(creations) * 1e6:.0f} us (median, during the supervisor-style runs)"
    )
    print(f"   rounds: {args.rounds}, order alternating; medians, every round in brackets")
    print(f"   {load_note}")
    print()
    rows = [
        ("supervisor (Submit -> COMPLETE event)", "supervisor"),
        ("direct: subprocess.run in a thread pool", "direct"),
        ("direct, supervisor-style Popen", "direct-style"),
    ]
    for label, key in rows:
        seconds = median(times[key])
        print(
            f"   {label:<40} {seconds:7.3f} s  {seconds / n * 1000:5.2f} ms/frame"
            f"  {listing(times[key])}"
        )
    per_round = [s / d for s, d in zip(times["supervisor"], times["direct"], strict=True)]
    print()
    print(
        f"   {'ratio supervisor / direct':<40} {sup_s / direct_s:7.2f}"
        f"    {listing(per_round, digits=2)}"
    )
    print(f"   {'ratio supervisor / direct supervisor-style':<40} {sup_s / style_s:5.2f}")
    print(
        f"   {'overhead per frame vs direct':<40} {(sup_s - direct_s) / n * 1000:7.2f} ms"
        f"  (process hygiene alone: {(style_s - direct_s) / n * 1000:.2f} ms)"
    )
    cpu = median(sup.cpu_s)
    print(
        f"   {'supervisor CPU per frame':<40} {cpu / n * 1000:7.2f} ms"
        f"  (user+sys of serve, children excluded; {cpu / sup_s:.0%} of one core)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
