"""Callback firings per second, end to end, in a real ``latchwork serve``.

Each repeat starts a fresh ``latchwork serve --slots 0`` (nothing runs by itself) and plays
two fan-outs per callback language (``--language``: ``qube``, ``python`` or ``both``, the
default, in the same supervisors), timed from the supervisor's own event log:

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

The ``python`` variants do the same with Python callbacks, which run in the RestrictedPython
sandbox pool (``sandbox_workers`` = 2 worker processes) and whose actions the supervisor checks
and applies when the run comes back: ``complete-job-A`` -> ``qb.unblock(qb.jobid())`` on each
of ``--python-jobs`` blocked jobs, and on B (``--python-frames`` work items, submitted
blocked) ``done-work-A-*`` -> ``qb.workunblock('%d:%s' % (qb.jobid(), event.binding))``. Their
sizes are smaller by default (a sandbox run is a round trip to another process); the ratio
python / qube of the time per firing is printed.

``--held-jobs N`` first submits N blocked jobs of 10 frames that nothing touches, to see the
same fan-outs in a supervisor that holds many jobs (and has a larger peak RSS, which the
sandbox workers it starts inherit; the supervisor's peak RSS is printed).

Every firing is its own run and its own transaction (the run record, the action, its events).
References measured in the same run, on the same supervisor: the same number of blocked jobs
unblocked by an operator over gRPC, one ControlJobs call per job (one transaction each, plus
a round trip), and all of them in one ControlJobs call (one transaction).

Run: ``.venv/bin/python bench/callback_firings.py [--jobs 2000 --frames 2000 --python-jobs 1000
--python-frames 1000 --repeats 3 --language both]``.
"""

from __future__ import annotations

import argparse
import os
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
from latchwork.server.core.limits import DEFAULT_LIMITS
from latchwork.server.supervisor import RUN_BUDGET_SECONDS
from latchwork.v1 import (
    event_pb2,
    supervisor_pb2,
    supervisor_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
)

OK = event_pb2.EVENT_NAME_COMPLETE  # a callback event named complete: the run went well
LANGUAGES = ("qube", "python")
# The callback of each job of the job fan-out, per language; the Python callback of B in
# frame-to-frame (the qube one comes from B's `dependency: link-done-work-A`).
JOB_CALLBACK = {
    "qube": {"triggers": "complete-job-A", "code": "unblock-self"},
    "python": {
        "triggers": "complete-job-A",
        "language": "python",
        "code": "qb.unblock(qb.jobid())",
    },
}
FRAME_CALLBACK = {
    "triggers": "done-work-A-*",
    "language": "python",
    "code": "qb.workunblock('%d:%s' % (qb.jobid(), event.binding))",
}


SUBMIT_CHUNK = min(DEFAULT_LIMITS.jobs_per_submit, DEFAULT_LIMITS.callbacks_per_submit)
"""Jobs per Submit call: the most a Submit may carry when each has a callback
(docs/limits.md)."""


def submit(
    stub: supervisor_pb2_grpc.SupervisorServiceStub, jobs: list[dict[str, Any]]
) -> supervisor_pb2.SubmitResponse:
    """Submit ``jobs`` into one process group, ``SUBMIT_CHUNK`` per call; one answer for all
    (the group, every job, the seq of the last call)."""
    answer = supervisor_pb2.SubmitResponse()
    for first in range(0, len(jobs), SUBMIT_CHUNK):
        chunk = jobs[first : first + SUBMIT_CHUNK]
        request = supervisor_pb2.SubmitRequest(
            jobs=[job_spec_from_dict(j, f"jobs[{i}]") for i, j in enumerate(chunk)],
            pgrp=answer.pgrp,
        )
        reply = stub.Submit(request, metadata=METADATA, timeout=120)
        answer.jobs.extend(reply.jobs)
        answer.pgrp, answer.seq = reply.pgrp, reply.seq
    return answer


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
            if event.event_type == event_pb2.EVENT_TYPE_CALLBACK:
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
    """One fan-out: firings, the log's span, the client's span, the CPU used."""

    firings: int
    failed: int
    log_s: float
    client_s: float
    cpu_s: float
    call_s: float
    workers_cpu_s: float  # the sandbox workers' (python)
    tasks: int  # processes and threads started on the machine meanwhile


def children_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process's children: the live ones and those it has reaped (Linux).

    With ``--slots 0`` the supervisor's only children are its sandbox workers.
    """
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[13]) + int(fields[14])) / tick  # cutime, cstime: reaped children
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(stat[1]) == pid:  # ppid
            total += (int(stat[11]) + int(stat[12])) / tick
    return total


def tasks_started() -> int:
    """Processes and threads started on the machine since boot (``processes`` of /proc/stat)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("processes "):
            return int(line.split()[1])
    return 0


class CpuMeter:
    """Since it was made: CPU seconds of the supervisor and of its sandbox workers, and the
    tasks started on the machine (a sandbox worker start is two: the process and the
    supervisor's asyncio child-watcher thread)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.own = process_cpu_seconds(pid)
        self.children = children_cpu_seconds(pid)
        self.tasks = tasks_started()

    def read(self) -> tuple[float, float, int]:
        return (
            process_cpu_seconds(self.pid) - self.own,
            children_cpu_seconds(self.pid) - self.children,
            tasks_started() - self.tasks,
        )


def run_end(run: supervisor_pb2.CallbackRun) -> float:
    return run.start_time.ToNanoseconds() / 1e9 + run.duration_ms / 1e3


def job_fan_out(farm: Farm, jobs: int, timeout: float, language: str = "qube") -> Result:
    callback = JOB_CALLBACK[language]
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
    meter = CpuMeter(farm.pid)
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
    cpu = meter.read()
    client_s = stream.arrivals[-1] - start
    completed = [
        e for e in stream.events
        if e.job_id == job_a and e.event_type == event_pb2.EVENT_TYPE_JOB
        and e.name == event_pb2.EVENT_NAME_COMPLETE
    ]  # fmt: skip
    if not completed:
        raise SystemExit("A's complete event is missing from the stream")
    return _result(farm, stream, event_seconds(completed[0]), jobs, client_s, cpu, call_s)


def frame_fan_out(farm: Farm, frames: int, timeout: float, language: str = "qube") -> Result:
    if language == "qube":
        held = frame("B", frames, dependency="link-done-work-A")
    else:  # the same frames, submitted blocked, released by the Python callback
        held = {
            "name": "B",
            "label": "B",
            "prototype": "cmdrange",
            "package": {"cmdline": "true"},
            "agenda": [{"name": str(i), "status": "blocked"} for i in range(1, frames + 1)],
            "callbacks": [FRAME_CALLBACK],
        }
    response = submit(farm.stub, [frame("A", frames), held])
    job_a = response.jobs[0].id
    stream = farm.callback_stream(response.pgrp, response.seq, frames)
    meter = CpuMeter(farm.pid)
    start = time.perf_counter()
    farm.control(supervisor_pb2.ACTION_KILL, [job_a])
    call_s = time.perf_counter() - start
    if not stream.wait(timeout):
        raise SystemExit(f"only {len(stream.events)} events in {timeout:.0f} s; see the log")
    cpu = meter.read()
    client_s = stream.arrivals[-1] - start
    killed = [
        e for e in stream.events
        if e.job_id == job_a and e.event_type == event_pb2.EVENT_TYPE_WORK
        and e.name == event_pb2.EVENT_NAME_KILLED
    ]  # fmt: skip
    if len(killed) != frames:
        raise SystemExit(f"expected {frames} killed frames of A, saw {len(killed)}")
    return _result(farm, stream, event_seconds(killed[0]), frames, client_s, cpu, call_s)


def _result(
    farm: Farm,
    stream: Collector,
    origin: float,
    expected: int,
    client_s: float,
    cpu: tuple[float, float, int],
    call_s: float,
) -> Result:
    callback_events = [e for e in stream.events if e.event_type == event_pb2.EVENT_TYPE_CALLBACK]
    failed = sum(1 for e in callback_events if e.name != OK)
    wanted = {e.callback_run_id for e in callback_events}
    runs = [r for r in farm.runs() if r.id in wanted]
    if len(runs) != expected:
        raise SystemExit(f"expected {expected} callback runs, ListCallbackRuns has {len(runs)}")
    log_s = max(run_end(r) for r in runs) - origin
    return Result(len(runs), failed, log_s, client_s, cpu[0], call_s, cpu[1], cpu[2])


def hold_jobs(farm: Farm, count: int) -> None:
    """Submit ``count`` blocked jobs of 10 frames, 5,000 per Submit, that nothing touches."""
    for first in range(0, count, 5000):
        size = min(5000, count - first)
        submit(farm.stub, [frame(f"H{i}", 10, status="blocked") for i in range(size)])


def peak_rss_mib(pid: int) -> float:
    """A process's peak RSS (VmHWM of /proc/PID/status), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


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
    parser.add_argument("--jobs", type=int, default=2000, help="qube: jobs waiting on A (2000)")
    parser.add_argument("--frames", type=int, default=2000, help="qube: frames of A and B (2000)")
    parser.add_argument(
        "--python-jobs", type=int, default=1000, help="python: jobs waiting on A (1000)"
    )
    parser.add_argument(
        "--python-frames", type=int, default=1000, help="python: frames of A and B (1000)"
    )
    parser.add_argument(
        "--language",
        choices=("qube", "python", "both"),
        default="both",
        help="callback language(s) measured, in the same supervisors (both)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="fresh supervisors (3)")
    parser.add_argument(
        "--held-jobs", type=int, default=0, help="blocked jobs submitted first, untouched (0)"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="per fan-out (s)")
    add_workdir_flag(parser)
    args = parser.parse_args(argv)

    languages = LANGUAGES if args.language == "both" else (args.language,)
    sizes = {"qube": (args.jobs, args.frames), "python": (args.python_jobs, args.python_frames)}
    print(
        "== callback firings: "
        + "; ".join(
            f"{language}: {sizes[language][0]} jobs on `complete-job-A`, "
            f"{sizes[language][1]} frames on `done-work-A-*`"
            for language in languages
        )
    )
    print(f"   machine: {machine()}")
    load = OtherLoad()
    results: dict[tuple[str, str], list[Result]] = {
        (language, key): [] for language in languages for key in ("job", "frame")
    }
    singles: list[float] = []
    batches: list[float] = []
    peaks: list[float] = []
    with tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp:
        for repeat in range(args.repeats):
            with supervisor(Path(tmp) / f"firings{repeat}", slots=0) as served:
                farm = Farm(served.address, served.pid)
                hold_jobs(farm, args.held_jobs)
                # Warm-up: the first Submit, Subscribe, lease and callback of this process (and
                # the first sandbox runs).
                for language in languages:
                    job_fan_out(farm, 2, args.timeout, language)
                # The languages take turns going first.
                for language in languages if repeat % 2 == 0 else languages[::-1]:
                    jobs, frames = sizes[language]
                    results[language, "job"].append(job_fan_out(farm, jobs, args.timeout, language))
                    results[language, "frame"].append(
                        frame_fan_out(farm, frames, args.timeout, language)
                    )
                single, batch = unblock_references(farm, args.jobs)
                singles.append(single)
                batches.append(batch)
                peaks.append(peak_rss_mib(served.pid))
                farm.close()
        workdir = Path(tmp).parent
    load_note = load.report()

    print(f"   workdir: {workdir}; supervisor: latchwork serve --slots 0, fresh each repeat")
    print(
        f"   repeats: {args.repeats}; languages take turns going first; "
        "medians, every repeat in brackets"
    )
    print(f"   {load_note}")
    if args.held_jobs:
        print(f"   each supervisor also held {args.held_jobs:,} blocked jobs of 10 frames")
    print(
        f"   supervisor peak RSS (VmHWM) at the end of each repeat: {listing(peaks, digits=0)} MiB"
    )
    per_firing: dict[tuple[str, str], float] = {}
    for language in languages:
        jobs, frames = sizes[language]
        job_code = JOB_CALLBACK[language]["code"]
        frame_code = "unblock-work-self" if language == "qube" else FRAME_CALLBACK["code"]
        for key, label in (
            ("job", f"{language}: job fan-out, {jobs} callbacks (complete-job-A -> {job_code})"),
            (
                "frame",
                f"{language}: frame-to-frame, {frames} firings (done-work-A-* -> {frame_code})",
            ),
        ):
            print()
            per_firing[language, key] = report(label, results[language, key], language)
    print()
    print(f"   reference, same supervisors: unblocking {args.jobs} blocked jobs by ControlJobs")
    print(
        f"     one call per job                    {median(singles) * 1e3:8.1f} ms"
        f"  {listing(singles, 1e3, 1)}  = {args.jobs / median(singles):.0f} jobs/s"
    )
    print(
        f"     all in one call                     {median(batches) * 1e3:8.1f} ms"
        f"  {listing(batches, 1e3, 1)}  = {args.jobs / median(batches):.0f} jobs/s"
    )
    if len(languages) == 2:
        print()
        print("   ratio python / qube, time per firing (medians)")
        for key, label in (("job", "job fan-out"), ("frame", "frame-to-frame")):
            qube, python = per_firing["qube", key], per_firing["python", key]
            sizes_note = f"{sizes['python'][key == 'frame']} vs {sizes['qube'][key == 'frame']}"
            print(
                f"     {label:<34} {python / qube:8.1f}"
                f"  ({python * 1e3:.3f} / {qube * 1e3:.3f} ms; {sizes_note} firings)"
            )
    return 0


def report(label: str, rs: list[Result], language: str) -> float:
    """Print one fan-out's figures; returns the median time per firing (s)."""
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
    inline = (
        f"(the firings run in the event loop, in slices of {RUN_BUDGET_SECONDS * 1e3:.0f} ms)"
        if language == "qube"
        else "(its commit only queues the runs for the sandbox)"
    )
    print(
        f"     the triggering call returned after  "
        f"{median([r.call_s for r in rs]) * 1e3:8.1f} ms  {inline}"
    )
    cpu = median([r.cpu_s for r in rs])
    print(
        f"     supervisor CPU, call -> last event  {cpu * 1e3:8.0f} ms"
        f"  ({cpu / median(client_s):.0%} of one core; 10 ms ticks; the stream's work too)"
    )
    if language == "python":
        workers = median([r.workers_cpu_s for r in rs])
        print(
            f"     sandbox workers' CPU, the same span {workers * 1e3:8.0f} ms"
            f"  ({workers / median(client_s):.0%} of one core; {workers / n * 1e6:.0f} us/firing;"
            " workers started to replace recycled ones included)"
        )
        print(
            f"     tasks started on the machine        {listing([r.tasks for r in rs], digits=0)}"
            "  (2 per sandbox worker start; workers are replaced after 500 runs)"
        )
    print(f"     runs that failed                    {sum(r.failed for r in rs):8d}")
    return median(log_s) / n


if __name__ == "__main__":
    sys.exit(main())
