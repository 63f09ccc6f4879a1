"""Callback firings per second, end to end, in a real ``latchwork serve``.

Each repeat starts a fresh ``latchwork serve --slots 0`` (nothing runs by itself) and plays
two fan-outs, timed from the supervisor's own event log:

* **job fan-out**: one Submit of job A (one frame) and ``--jobs`` blocked jobs, each with the
  qube callback ``complete-job-A`` -> ``unblock-self``. This script then acts as a remote
  worker over the WorkerService: it leases A's frame and reports it done; A completes, which
  fires every callback. Measured from A's ``complete`` job event to the end of the last
  callback run (its record in ``ListCallbackRuns``: start time + duration), and, at the
  client, from the ReportWork call to the arrival of the last callback event on a Subscribe
  stream (``include_callback_runs``).
* **frame-to-frame**: job A and job B of ``--frames`` frames each, B with
  ``dependency: link-done-work-A`` (desugared into held work plus the callback
  ``done-work-A-*`` -> ``unblock-work-self``). A is killed with ControlJobs: its frames all end
  in one transaction, which fires B's callback once per frame, each with its own binding.

Every firing is its own run and its own transaction (the run record, the action, its events).
References measured in the same run, on the same supervisor: the same number of blocked jobs
unblocked by an operator over gRPC, one ControlJobs call per job (one transaction each, plus
a round trip), and all of them in one ControlJobs call (one transaction).

Run: ``.venv/bin/python bench/callback_firings.py [--jobs 2000 --frames 2000 --repeats 3]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eventstream import METADATA, Collector, event_seconds
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
from latchwork.server.supervisor import RUN_BUDGET
from latchwork.v1 import (
    event_pb2,
    supervisor_pb2,
    supervisor_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
)

OK = event_pb2.EVENT_NAME_COMPLETE  # a callback event named complete: the run went well


def submit(
    stub: supervisor_pb2_grpc.SupervisorServiceStub, jobs: list[dict[str, Any]]
) -> supervisor_pb2.SubmitResponse:
    request = supervisor_pb2.SubmitRequest(
        jobs=[job_spec_from_dict(j, f"jobs[{i}]") for i, j in enumerate(jobs)]
    )
    return stub.Submit(request, metadata=METADATA, timeout=120)


def frame(name: str, frames: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "prototype": "cmdrange",
        "package": {"cmdline": "true", "range": f"1-{frames}"},
        **fields,
    }


class Farm:
    """One supervisor, with this script as its only (remote) worker."""

    def __init__(self, address: str, pid: int) -> None:
        self.channel = grpc.insecure_channel(address)
        self.stub = supervisor_pb2_grpc.SupervisorServiceStub(self.channel)
        self.worker = worker_pb2_grpc.WorkerServiceStub(self.channel)
        self.pid = pid
        self.worker_id = self.worker.RegisterWorker(
            worker_pb2.RegisterWorkerRequest(host="bench", slots=1), timeout=10
        ).worker_id

    def callback_stream(self, pgrp: int, after_seq: int, runs: int) -> Collector:
        """The pgrp's complete/failed/killed events, until ``runs`` callback events came."""
        seen = [0]

        def done(event: event_pb2.Event) -> bool:
            if event.type == event_pb2.EVENT_TYPE_CALLBACK:
                seen[0] += 1
            return seen[0] >= runs

        # Only what is measured: the stream's own cost is not the subject here.
        request = supervisor_pb2.SubscribeRequest(
            pgrps=[pgrp],
            after_seq=after_seq,
            include_callback_runs=True,
            names=[OK, event_pb2.EVENT_NAME_FAILED, event_pb2.EVENT_NAME_KILLED],
        )
        return Collector(self.stub, request, done, timeout=600)

    def runs(self) -> list[supervisor_pb2.CallbackRun]:
        """Every callback run record, paging through ListCallbackRuns."""
        runs: list[supervisor_pb2.CallbackRun] = []
        token = ""
        while True:
            page = self.stub.ListCallbackRuns(
                supervisor_pb2.ListCallbackRunsRequest(page_size=1000, page_token=token),
                metadata=METADATA,
                timeout=60,
            )
            runs.extend(page.runs)
            token = page.next_page_token
            if not token:
                return runs

    def control(self, action: supervisor_pb2.Action.ValueType, job_ids: list[int]) -> None:
        self.stub.ControlJobs(
            supervisor_pb2.ControlJobsRequest(action=action, job_ids=job_ids),
            metadata=METADATA,
            timeout=120,
        )

    def close(self) -> None:
        self.channel.close()


@dataclass(frozen=True)
class Result:
    """One fan-out: firings, the log's span, the client's span, the supervisor's CPU."""

    firings: int
    failed: int
    log_s: float
    client_s: float
    cpu_s: float
    call_s: float


def run_end(run: supervisor_pb2.CallbackRun) -> float:
    return run.start_time.ToNanoseconds() / 1e9 + run.duration_ms / 1e3


def job_fan_out(farm: Farm, jobs: int, timeout: float) -> Result:
    callback = {"triggers": "complete-job-A", "code": "unblock-self"}
    held = [frame(f"B{i}", status="blocked", callbacks=[callback]) for i in range(jobs)]
    # A goes first in the queue: the jobs of earlier rounds are pending too.
    response = submit(farm.stub, [frame("A", priority=1), *held])
    job_a = response.jobs[0].id
    leases = farm.worker.LeaseWork(
        worker_pb2.LeaseWorkRequest(worker_id=farm.worker_id, max_leases=1, wait_seconds=5),
        timeout=10,
    ).leases
    if len(leases) != 1 or leases[0].job_id != job_a:
        raise SystemExit(f"expected to lease A's frame, got {leases}")
    stream = farm.callback_stream(response.pgrp, response.seq, jobs)
    cpu_before = process_cpu_seconds(farm.pid)
    start = time.perf_counter()
    farm.worker.ReportWork(
        worker_pb2.ReportWorkRequest(
            worker_id=farm.worker_id,
            lease_id=leases[0].lease_id,
            outcome=worker_pb2.WORK_OUTCOME_EXITED,
            exit_code=0,
        ),
        timeout=timeout,
    )
    call_s = time.perf_counter() - start
    if not stream.wait(timeout):
        raise SystemExit(f"only {len(stream.events)} events in {timeout:.0f} s; see the log")
    cpu_s = process_cpu_seconds(farm.pid) - cpu_before
    client_s = stream.arrivals[-1] - start
    completed = [
        e for e in stream.events
        if e.job_id == job_a and e.type == event_pb2.EVENT_TYPE_JOB
        and e.name == event_pb2.EVENT_NAME_COMPLETE
    ]  # fmt: skip
    if not completed:
        raise SystemExit("A's complete event is missing from the stream")
    return _result(farm, stream, event_seconds(completed[0]), jobs, client_s, cpu_s, call_s)


def frame_fan_out(farm: Farm, frames: int, timeout: float) -> Result:
    response = submit(
        farm.stub,
        [frame("A", frames), frame("B", frames, dependency="link-done-work-A")],
    )
    job_a = response.jobs[0].id
    stream = farm.callback_stream(response.pgrp, response.seq, frames)
    cpu_before = process_cpu_seconds(farm.pid)
    start = time.perf_counter()
    farm.control(supervisor_pb2.ACTION_KILL, [job_a])
    call_s = time.perf_counter() - start
    if not stream.wait(timeout):
        raise SystemExit(f"only {len(stream.events)} events in {timeout:.0f} s; see the log")
    cpu_s = process_cpu_seconds(farm.pid) - cpu_before
    client_s = stream.arrivals[-1] - start
    killed = [
        e for e in stream.events
        if e.job_id == job_a and e.type == event_pb2.EVENT_TYPE_WORK
        and e.name == event_pb2.EVENT_NAME_KILLED
    ]  # fmt: skip
    if len(killed) != frames:
        raise SystemExit(f"expected {frames} killed frames of A, saw {len(killed)}")
    return _result(farm, stream, event_seconds(killed[0]), frames, client_s, cpu_s, call_s)


def _result(
    farm: Farm,
    stream: Collector,
    origin: float,
    expected: int,
    client_s: float,
    cpu_s: float,
    call_s: float,
) -> Result:
    callback_events = [e for e in stream.events if e.type == event_pb2.EVENT_TYPE_CALLBACK]
    failed = sum(1 for e in callback_events if e.name != OK)
    wanted = {e.callback_run_id for e in callback_events}
    runs = [r for r in farm.runs() if r.id in wanted]
    if len(runs) != expected:
        raise SystemExit(f"expected {expected} callback runs, ListCallbackRuns has {len(runs)}")
    log_s = max(run_end(r) for r in runs) - origin
    return Result(len(runs), failed, log_s, client_s, cpu_s, call_s)


def unblock_references(farm: Farm, jobs: int) -> tuple[float, float]:
    """Seconds to unblock ``jobs`` blocked jobs one ControlJobs call each, and in one call."""
    one_by_one = submit(farm.stub, [frame(f"R{i}", status="blocked") for i in range(jobs)])
    all_at_once = submit(farm.stub, [frame(f"S{i}", status="blocked") for i in range(jobs)])
    start = time.perf_counter()
    for job in one_by_one.jobs:
        farm.control(supervisor_pb2.ACTION_UNBLOCK, [job.id])
    single_s = time.perf_counter() - start
    start = time.perf_counter()
    farm.control(supervisor_pb2.ACTION_UNBLOCK, [job.id for job in all_at_once.jobs])
    batch_s = time.perf_counter() - start
    return single_s, batch_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000, help="jobs waiting on A (2000)")
    parser.add_argument("--frames", type=int, default=2000, help="frames of A and B (2000)")
    parser.add_argument("--repeats", type=int, default=3, help="fresh supervisors (3)")
    parser.add_argument("--timeout", type=float, default=300.0, help="per fan-out (s)")
    add_workdir_flag(parser)
    args = parser.parse_args(argv)

    print(
        f"== callback firings: {args.jobs} jobs on `complete-job-A`; "
        f"{args.frames} frames on `done-work-A-*`"
    )
    print(f"   machine: {machine()}")
    load = OtherLoad()
    results: dict[str, list[Result]] = {"job": [], "frame": []}
    singles: list[float] = []
    batches: list[float] = []
    with tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp:
        for repeat in range(args.repeats):
            with supervisor(Path(tmp) / f"firings{repeat}", slots=0) as served:
                farm = Farm(served.address, served.pid)
                # Warm-up: the first Submit, Subscribe, lease and callback of this process.
                job_fan_out(farm, 2, args.timeout)
                results["job"].append(job_fan_out(farm, args.jobs, args.timeout))
                results["frame"].append(frame_fan_out(farm, args.frames, args.timeout))
                single, batch = unblock_references(farm, args.jobs)
                singles.append(single)
                batches.append(batch)
                farm.close()
        workdir = Path(tmp).parent
    load_note = load.report()

    print(f"   workdir: {workdir}; supervisor: latchwork serve --slots 0, fresh each repeat")
    print(f"   repeats: {args.repeats}; medians, every repeat in brackets")
    print(f"   {load_note}")
    print()
    for key, label in (
        ("job", f"job fan-out, {args.jobs} callbacks (complete-job-A -> unblock-self)"),
        ("frame", f"frame-to-frame, {args.frames} firings (done-work-A-* -> unblock-work-self)"),
    ):
        rs = results[key]
        n = rs[0].firings
        log_s = [r.log_s for r in rs]
        client_s = [r.client_s for r in rs]
        rates = [r.firings / r.log_s for r in rs]
        print(f"   {label}")
        print(
            f"     firings/s (supervisor log: A's end -> end of the last run)"
            f"  {median(rates):8.0f}   {listing(rates, digits=0)}"
        )
        print(
            f"     time, supervisor log                {median(log_s) * 1e3:8.1f} ms"
            f"  {listing(log_s, 1e3, 1)}  = {median(log_s) / n * 1e3:.3f} ms/firing"
        )
        print(
            f"     time, client (call -> last event)   {median(client_s) * 1e3:8.1f} ms"
            f"  {listing(client_s, 1e3, 1)}"
        )
        print(
            f"     the triggering call returned after  "
            f"{median([r.call_s for r in rs]) * 1e3:8.1f} ms"
            f"  (its commit runs up to {RUN_BUDGET:,} firings before it answers)"
        )
        cpu = median([r.cpu_s for r in rs])
        print(
            f"     supervisor CPU, call -> last event  {cpu * 1e3:8.0f} ms"
            f"  ({cpu / median(client_s):.0%} of one core; 10 ms ticks; the stream's work too)"
        )
        print(f"     runs that failed                    {sum(r.failed for r in rs):8d}")
    print(f"   reference, same supervisors: unblocking {args.jobs} blocked jobs by ControlJobs")
    print(
        f"     one call per job                    {median(singles) * 1e3:8.1f} ms"
        f"  {listing(singles, 1e3, 1)}  = {args.jobs / median(singles):.0f} jobs/s"
    )
    print(
        f"     all in one call                     {median(batches) * 1e3:8.1f} ms"
        f"  {listing(batches, 1e3, 1)}  = {args.jobs / median(batches):.0f} jobs/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
