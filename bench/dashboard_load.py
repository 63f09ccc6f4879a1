"""Dashboard load: Subscribe and dependency latency without and with 10 dashboard clients.

Issue 15's acceptance: with 10 dashboard clients following the stream and 100,000 jobs held,
Subscribe and dependency latency p99 move by no more than 20 %. One ``latchwork serve --slots
2 --http-listen 127.0.0.1:0`` first holds ``--jobs`` blocked cmdrange jobs of ``--frames``
frames (Submits of ``--batch`` jobs). Then, ``--rounds`` times, three phases (the alone phase
first and last in turn, so drift and other load fall on all):

* ``alone``: no HTTP client at all;
* ``dashboards``: ``--dashboards`` clients in a process of their own
  (``bench/dashboard_clients.py``), each logged in as a wrangler of its own (``wrangler1``,
  ``wrangler2``, ...; ``--same-user``: all as one), following ``GET /api/events`` (SSE, every
  event parsed) and reading ``GET /api/overview`` every ``--poll`` seconds, as the overview
  page does; the phase is measured once every stream is open;
* ``control``, right after it: no HTTP client, but a process of the clients' priority that
  burns as much CPU as they used in the phase before. Browsers run on other machines; here
  the clients share the supervisor's two cores, and what their CPU alone does to the
  latencies (the ratio control / alone) is the machine's, not the supervisor's. The ratio
  dashboards / control is the supervisor's own share of the dashboards' cost.

``--isolate`` pins this script and the supervisor (with its threads and frames) to the first
core and the dashboard clients and the burner to the second, so that the clients take no CPU
time from the supervisor, as browsers on other machines would not.

Each phase measures, in this order:

* Subscribe latency, as ``bench/subscribe_throughput.py`` does: one live gRPC subscriber
  (``after_seq = -1``), one job blocked / unblocked ``--changes`` times, one ControlJobs call at
  a time; the latency is the arrival at the subscriber minus the event's ``time`` (the
  supervisor's clock when it made the change). The toggled job has ``hosts: nowhere``, so
  unblocking it never starts it;
* dependency latency, as ``bench/dependency_latency.py``'s ``dependency`` kind does:
  ``--pairs`` pairs of one-frame jobs, B with ``dependency: link-complete-job-A``, one pair at
  a time, from A's work ``complete`` event to B's work ``running`` event (the supervisor's
  event log).

Printed: p50 / p99 / max of both latencies per phase (every round's samples pooled), the
ratios dashboards / alone and dashboards / control, each p99 ratio with a 90 % interval found
by resampling whole rounds (:func:`ratio_interval`: how far the noise between rounds alone
could move it), the same ratios of the alone phase's even rounds over its odd rounds (an A/A
ratio: what the noise of this machine makes of two runs of one condition), every round's p99
(the spread), the supervisor's CPU and the other processes'
CPU per phase, and what the dashboard clients saw (events, their latency, the time an overview
took). ``--save FILE`` writes every round's samples as JSON; ``--pooled FILE ...`` prints the
ratios and intervals of several saved runs pooled, and runs nothing.

Run: ``.venv/bin/python bench/dashboard_load.py [--jobs 100000 --rounds 4 --dashboards 10]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import random
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dashboard_clients import run_dashboards, set_priority
from bench.dependency_latency import Follower, jobs_of
from bench.dependency_latency import percentile as nearest_rank
from bench.eventstream import METADATA
from bench.harness import (
    OtherLoad,
    Served,
    add_workdir_flag,
    listing,
    machine,
    median,
    supervisor,
)
from bench.subscribe_throughput import measure_latency
from latchwork.client.jobspec import job_spec_from_dict
from latchwork.v1 import supervisor_pb2, supervisor_pb2_grpc

PHASES = ("alone", "dashboards", "control")
LABELS = {
    "alone": "alone",
    "dashboards": "with the dashboard clients",
    "control": "control: alone + a CPU burner as busy as the clients",
}
_DASHBOARD = re.compile(r"latchwork serve: dashboard on (http://\S+?)/?\s*$")


# --- the supervisor -------------------------------------------------------------------------


def dashboard_url(served: Served, timeout: float = 30.0) -> str:
    """The base URL of the supervisor's HTTP side, from its ``dashboard on`` stdout line."""
    assert served.process is not None and served.process.stdout is not None
    for line in served.printed:
        if match := _DASHBOARD.search(line):
            return match.group(1)
    # Printed after the ready line: read on, in a thread (the pipe's text buffer may already
    # hold the line, so waiting on the file descriptor could miss it).
    stdout = served.process.stdout
    lines: queue.Queue[str] = queue.Queue()
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if not line:
            break
        if match := _DASHBOARD.search(line):
            return match.group(1)
    raise SystemExit(
        "the supervisor printed no 'latchwork serve: dashboard on http://HOST:PORT/' line "
        f"(does it have the HTTP side?); see {served.log_path}"
    )


def hold_jobs(
    stub: supervisor_pb2_grpc.SupervisorServiceStub, jobs: int, frames: int, batch: int
) -> None:
    """``jobs`` blocked cmdrange jobs of ``frames`` frames, ``batch`` jobs per Submit."""
    for first in range(0, jobs, batch):
        specs = [
            job_spec_from_dict(
                {
                    "name": f"held{first + i}",
                    "prototype": "cmdrange",
                    "package": {"cmdline": "true", "range": f"1-{frames}"},
                    "status": "blocked",
                },
                f"jobs[{i}]",
            )
            for i in range(min(batch, jobs - first))
        ]
        request = supervisor_pb2.SubmitRequest(jobs=specs)
        stub.Submit(request, metadata=METADATA, timeout=600)


def toggled_job(stub: supervisor_pb2_grpc.SupervisorServiceStub) -> int:
    """A blocked job no host suits: block / unblock it as often as we like, it never runs."""
    spec = {"name": "toggled", "package": {"cmdline": "true"}, "status": "blocked"}
    request = supervisor_pb2.SubmitRequest(jobs=[job_spec_from_dict({**spec, "hosts": "nowhere"})])
    return int(stub.Submit(request, metadata=METADATA, timeout=30).jobs[0].id)


# --- the dashboard clients ------------------------------------------------------------------


class Dashboards:
    """The dashboard clients' process, for one phase: open on enter, stopped on exit."""

    def __init__(
        self,
        base_url: str,
        users: list[str],
        poll: float,
        stream: str,
        priority: str,
        cpus: tuple[int, ...] = (),
    ) -> None:
        self.ctx = multiprocessing.get_context("spawn")
        self.stop, self.ready, self.results = self.ctx.Event(), self.ctx.Queue(), self.ctx.Queue()
        self.process = self.ctx.Process(
            target=run_dashboards,
            args=(
                base_url,
                users,
                poll,
                stream,
                self.stop,
                self.ready,
                self.results,
                priority,
                cpus,
            ),
            daemon=True,
        )
        self.outcome: dict[str, Any] = {}

    def __enter__(self) -> Dashboards:
        self.process.start()
        deadline = time.monotonic() + 120
        answer = "no answer within 120 s"
        while time.monotonic() < deadline:
            try:
                answer = self.ready.get(timeout=1)
                break
            except queue.Empty:
                if not self.process.is_alive():
                    answer = f"the process ended (exit code {self.process.exitcode})"
                    break
        if answer != "ok":
            self.process.join(10)
            raise SystemExit(f"the dashboard clients failed: {answer}")
        time.sleep(1.0)  # past the streams' first bytes and the first overview polls
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.outcome = self.results.get(timeout=60)
        self.process.join(10)
        if "error" in self.outcome:
            raise SystemExit(f"the dashboard clients failed: {self.outcome['error']}")

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)


def burn(cores: float, priority: str, stop: Any, cpus: tuple[int, ...] = ()) -> None:
    """The control's body: busy for ``cores`` of every 10 ms at ``priority`` (on ``cpus``),
    until ``stop``."""
    set_priority(priority, cpus)
    period = 0.010
    busy = min(cores, 1.0) * period
    while not stop.is_set():
        started = time.process_time()
        while time.process_time() - started < busy:
            pass
        time.sleep(period - busy)


class Burner:
    """The control phase's stand-in for the dashboard clients: a process of the same priority
    using as much CPU as they did in the phase before, and asking the supervisor nothing. The
    clients run on the supervisor's own two cores, where browsers would not: what their CPU
    alone does to the latencies is measured by this, and is not the supervisor's doing."""

    def __init__(self, cores: float, priority: str, cpus: tuple[int, ...] = ()) -> None:
        self.ctx = multiprocessing.get_context("spawn")
        self.stop = self.ctx.Event()
        self.process = self.ctx.Process(
            target=burn, args=(cores, priority, self.stop, cpus), daemon=True
        )

    def __enter__(self) -> Burner:
        self.process.start()
        time.sleep(1.0)  # as long as the clients are given to settle
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.process.join(10)

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)


# --- CPU per phase --------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """A live process's CPU seconds, with its waited-for children's (the frames it ran)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    user, nice, system = (int(x) for x in Path("/proc/stat").read_text().split()[1:4])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


class PhaseCpu:
    """CPU of the supervisor, of the dashboard clients and of every other process in a phase."""

    def __init__(self, server_pid: int, clients_pid: int = 0) -> None:
        self.server_pid, self.clients_pid = server_pid, clients_pid
        self.wall = time.monotonic()
        self.machine = _machine_busy_seconds()
        self.server = _cpu_seconds(server_pid)
        self.clients = _cpu_seconds(clients_pid) if clients_pid else 0.0
        self.own = sum(os.times()[:2])

    def end(self) -> dict[str, float]:
        """Cores used on average: the supervisor's, the clients'; and the other processes'
        share of the whole machine."""
        wall = time.monotonic() - self.wall
        server = _cpu_seconds(self.server_pid) - self.server
        clients = _cpu_seconds(self.clients_pid) - self.clients if self.clients_pid else 0.0
        own = sum(os.times()[:2]) - self.own
        other = _machine_busy_seconds() - self.machine - server - clients - own
        cores = len(os.sched_getaffinity(0))
        return {
            "seconds": wall,
            "server": server / wall,
            "clients": clients / wall,
            "other": max(other, 0.0) / wall / cores,
        }


# --- one phase ------------------------------------------------------------------------------


def measure_phase(
    stub: supervisor_pb2_grpc.SupervisorServiceStub,
    follower: Follower,
    toggled: int,
    changes: int,
    pairs: int,
    timeout: float,
) -> tuple[list[float], list[float]]:
    """(Subscribe latencies, dependency latencies), seconds."""
    subscribe, _ = measure_latency(stub, toggled, 1, changes)
    dependency = []
    for _ in range(pairs):
        request = supervisor_pb2.SubmitRequest(
            jobs=[job_spec_from_dict(j) for j in jobs_of("dependency")]
        )
        response = stub.Submit(request, metadata=METADATA, timeout=30)
        follower.wait_ended([j.id for j in response.jobs], timeout)
        dependency.append(follower.latency("dependency", response)[0])
    return subscribe, dependency


def _row(label: str, values: list[float]) -> str:
    ms = [v * 1e3 for v in values]
    return (
        f"   {label:<36} p50 {nearest_rank(ms, 0.5):7.2f}  p99 {nearest_rank(ms, 0.99):7.2f}  "
        f"max {max(ms):7.2f} ms  ({len(ms)} samples)"
    )


Rounds = dict[str, list[list[float]]]
"""Per phase, every round's latencies (seconds)."""


def pooled_ratio(measured: list[list[float]], base: list[list[float]], fraction: float) -> float:
    """The ``fraction`` percentile of every round of ``measured`` pooled, over ``base``'s."""
    return nearest_rank([x for r in measured for x in r], fraction) / nearest_rank(
        [x for r in base for x in r], fraction
    )


def ratio_interval(
    measured: list[list[float]],
    base: list[list[float]],
    fraction: float = 0.99,
    *,
    resamples: int = 1000,
    seed: int = 1,
) -> tuple[float, float]:
    """A 90 % interval of :func:`pooled_ratio`, by a bootstrap over rounds.

    Why rounds: a round's phases run a few seconds apart, so what the machine does in those
    seconds (another tenant of the hypervisor, the kernel's writeback) moves both; samples of
    one phase are not independent of each other. So whole rounds are drawn with replacement,
    the same rounds for both sides, and the ratio is taken again. With few rounds (the default
    4) the interval is coarse; it narrows with ``--rounds`` and with runs pooled."""
    rng = random.Random(seed)
    count = len(measured)
    ratios = []
    for _ in range(resamples):
        picks = [rng.randrange(count) for _ in range(count)]
        ratios.append(
            pooled_ratio([measured[i] for i in picks], [base[i] for i in picks], fraction)
        )
    ratios.sort()
    return ratios[int(0.05 * resamples)], ratios[int(0.95 * resamples) - 1]


def alone_halves(rounds: list[list[float]]) -> tuple[list[list[float]], list[list[float]]]:
    """The alone phase's even rounds and odd rounds, as many of each: two samples of the same
    condition. Their ratio is what the machine's noise alone makes of a ratio (an A/A test);
    a bound on the dashboards' ratio that is tighter than it cannot be decided by a run."""
    pairs = len(rounds) // 2
    return rounds[0 : 2 * pairs : 2], rounds[1 : 2 * pairs : 2]


def _ratio_of(label: str, measured: list[list[float]], base: list[list[float]]) -> str:
    p50 = pooled_ratio(measured, base, 0.5)
    p99 = pooled_ratio(measured, base, 0.99)
    low, high = ratio_interval(measured, base)
    return f"   {label:<36} p50 {p50:5.2f}   p99 {p99:5.2f} (90 % interval {low:.2f}-{high:.2f})"


def _ratio(label: str, rounds: Rounds, base: str) -> str:
    return _ratio_of(label, rounds["dashboards"], rounds[base])


def print_ratios(subscribe: Rounds, dependency: Rounds) -> None:
    print("   ratios, with dashboard clients / alone (what a user of this box sees):")
    print(_ratio("Subscribe", subscribe, "alone"))
    print(_ratio("dependency", dependency, "alone"))
    print("   ratios, with dashboard clients / control (the supervisor's own share):")
    print(_ratio("Subscribe", subscribe, "control"))
    print(_ratio("dependency", dependency, "control"))
    if len(subscribe["alone"]) >= 2:
        print("   noise: alone, even rounds / odd rounds (the same condition, an A/A ratio):")
        print(_ratio_of("Subscribe", *alone_halves(subscribe["alone"])))
        print(_ratio_of("dependency", *alone_halves(dependency["alone"])))


def print_pooled(paths: list[str]) -> int:
    """The ratios of the runs saved with ``--save`` at ``paths``, their rounds pooled."""
    subscribe: Rounds = {phase: [] for phase in PHASES}
    dependency: Rounds = {phase: [] for phase in PHASES}
    for path in paths:
        saved = json.loads(Path(path).read_text())
        for phase in PHASES:
            subscribe[phase].extend(saved["subscribe"][phase])
            dependency[phase].extend(saved["dependency"][phase])
    print(f"   {len(paths)} run(s), {len(subscribe['alone'])} rounds pooled")
    print_ratios(subscribe, dependency)
    return 0


def round_order(round_: int) -> tuple[str, ...]:
    """The phases of round ``round_``: the control always right after the dashboards (it
    burns what they used), the alone phase first and last in turn."""
    return PHASES if round_ % 2 == 0 else ("dashboards", "control", "alone")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="blocked jobs held (100000)")
    parser.add_argument("--frames", type=int, default=2, help="frames per held job (2)")
    parser.add_argument("--batch", type=int, default=1000, help="held jobs per Submit (1000)")
    parser.add_argument("--dashboards", type=int, default=10, help="dashboard clients (10)")
    parser.add_argument(
        "--poll", type=float, default=2.0, help="overview period, s; 0: no overview (2)"
    )
    parser.add_argument(
        "--stream",
        choices=("events", "bytes", "none"),
        default="events",
        help="how the clients follow /api/events: events (every event's JSON parsed, as the "
        "page does), bytes (read, not parsed: the supervisor's work alone, without the "
        "clients' CPU on its cores), none (to see the overview's share)",
    )
    parser.add_argument(
        "--same-user",
        action="store_true",
        help="every dashboard client logs in as one user (default: wrangler1, wrangler2, ...)",
    )
    parser.add_argument(
        "--clients-priority",
        choices=("idle", "nice", "normal"),
        default="idle",
        help="CPU priority of the dashboard clients' process: they stand for browsers on other "
        "machines, so by default (idle: SCHED_IDLE) they run only on a core nothing else wants; "
        "nice: nice 19 (still takes slices from the supervisor); normal: they compete",
    )
    parser.add_argument(
        "--isolate",
        action="store_true",
        help="the supervisor (with the frames it runs) and this script's measuring clients on "
        "the first core, the dashboard clients and the control's burner on the second: the "
        "clients stand for browsers on other machines, and take no CPU from the supervisor",
    )
    parser.add_argument("--rounds", type=int, default=4, help="rounds of both phases (4)")
    parser.add_argument("--changes", type=int, default=500, help="changes per phase (500)")
    parser.add_argument("--pairs", type=int, default=200, help="dependency pairs per phase (200)")
    parser.add_argument("--slots", type=int, default=2, help="local slots (2)")
    parser.add_argument("--timeout", type=float, default=60.0, help="per pair, s (60)")
    parser.add_argument("--save", help="write every round's samples to this JSON file")
    parser.add_argument(
        "--pooled",
        nargs="+",
        metavar="FILE",
        help="print the ratios of runs saved with --save, pooled, and run nothing",
    )
    add_workdir_flag(parser)
    args = parser.parse_args(argv)
    if args.pooled:
        return print_pooled(args.pooled)
    users = ["wrangler" if args.same_user else f"wrangler{i + 1}" for i in range(args.dashboards)]
    clients_cpus: tuple[int, ...] = ()
    if args.isolate:
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2:
            parser.error("--isolate needs two cores")
        # Before the supervisor starts: it, its threads and its frames inherit the first core.
        os.sched_setaffinity(0, {cores[0]})
        clients_cpus = (cores[1],)

    print(
        f"== dashboard load: Subscribe and dependency latency, alone and with {args.dashboards} "
        f"dashboard clients, {args.jobs:,} jobs held"
    )
    print(f"   machine: {machine()}")
    load = OtherLoad()
    subscribe: Rounds = {phase: [] for phase in PHASES}
    dependency: Rounds = {phase: [] for phase in PHASES}
    cpu: dict[str, list[dict[str, float]]] = {phase: [] for phase in PHASES}
    seen: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp:
        served = supervisor(Path(tmp) / "dashboard", slots=args.slots)
        served.argv += ["--http-listen", "127.0.0.1:0"]
        with served, grpc.insecure_channel(served.address) as channel:
            base_url = dashboard_url(served)
            stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
            started = time.monotonic()
            hold_jobs(stub, args.jobs, args.frames, args.batch)
            held_s = time.monotonic() - started
            toggled = toggled_job(stub)
            warm = stub.Submit(
                supervisor_pb2.SubmitRequest(
                    jobs=[job_spec_from_dict(j) for j in jobs_of("dependency")]
                ),
                metadata=METADATA,
                timeout=30,
            )
            follower = Follower(stub, warm.seq - 1)
            follower.wait_ended([j.id for j in warm.jobs], args.timeout)
            for round_ in range(args.rounds):
                for phase in round_order(round_):
                    if phase == "alone":
                        phase_cpu = PhaseCpu(served.pid)
                        sub, dep = measure_phase(
                            stub, follower, toggled, args.changes, args.pairs, args.timeout
                        )
                        cpu[phase].append(phase_cpu.end())
                    elif phase == "control":
                        with Burner(
                            cpu["dashboards"][-1]["clients"], args.clients_priority, clients_cpus
                        ) as b:
                            phase_cpu = PhaseCpu(served.pid, b.pid)
                            sub, dep = measure_phase(
                                stub, follower, toggled, args.changes, args.pairs, args.timeout
                            )
                            cpu[phase].append(phase_cpu.end())
                    else:
                        with Dashboards(
                            base_url,
                            users,
                            args.poll,
                            args.stream,
                            args.clients_priority,
                            clients_cpus,
                        ) as clients:
                            phase_cpu = PhaseCpu(served.pid, clients.pid)
                            sub, dep = measure_phase(
                                stub, follower, toggled, args.changes, args.pairs, args.timeout
                            )
                            cpu[phase].append(phase_cpu.end())
                        seen.append(clients.outcome)
                    subscribe[phase].append(sub)
                    dependency[phase].append(dep)
            follower.collector.close()
    load_note = load.report()

    print(
        f"   workdir: {Path(tmp).parent}; latchwork serve --slots {args.slots}; "
        f"{args.jobs:,} blocked jobs of {args.frames} frame(s) held (submitted in {held_s:.0f} s)"
    )
    print(f"   {load_note}")
    print(
        f"   {args.rounds} round(s) of the three phases (alone first and last in turn); per "
        f"phase {args.changes} changes and {args.pairs} dependency pairs; samples pooled"
    )
    print()
    pooled_sub = {phase: [x for r in subscribe[phase] for x in r] for phase in PHASES}
    pooled_dep = {phase: [x for r in dependency[phase] for x in r] for phase in PHASES}
    for phase in PHASES:
        print(f"   {LABELS[phase]}:")
        print(_row("Subscribe, change -> subscriber", pooled_sub[phase]))
        print(_row("dependency, A complete -> B running", pooled_dep[phase]))
        server = [c["server"] for c in cpu[phase]]
        client_cores = [c["clients"] for c in cpu[phase]]
        other = [c["other"] for c in cpu[phase]]
        seconds = [c["seconds"] for c in cpu[phase]]
        print(
            f"   per round: phase {listing(seconds, 1, 1)} s; supervisor {listing(server, 1, 2)} "
            f"cores, clients or burner {listing(client_cores, 1, 2)} cores; other processes "
            f"{listing(other, 100, 0)} % of the machine"
        )
    print()
    print_ratios(subscribe, dependency)
    print()
    print("   p99 per round (ms), in the order run:")
    for what, data in (("Subscribe", subscribe), ("dependency", dependency)):
        for phase in PHASES:
            p99s = [nearest_rank(r, 0.99) for r in data[phase]]
            print(f"   {what:<11} {phase:<11} {listing(p99s, 1e3, 2)}")
    print()
    who = "all as one user" if args.same_user else "one user each"
    does = [
        *([f"SSE ({args.stream})"] if args.stream != "none" else []),
        *([f"/api/overview every {args.poll:g} s"] * (args.poll > 0)),
    ]
    does.append(f"CPU priority {args.clients_priority}")
    if args.isolate:
        does.append(f"on core {clients_cpus[0]}, the supervisor on core {cores[0]}")
    print(f"   the {args.dashboards} dashboard clients ({who}; {' + '.join(does)}), all rounds:")
    _print_clients(seen)
    _print_cost(cpu, seen)
    if args.save:
        saved = {"argv": sys.argv[1:], "subscribe": subscribe, "dependency": dependency}
        Path(args.save).write_text(json.dumps(saved))
        print(f"   samples saved to {args.save}")
    return 0


def _print_cost(cpu: dict[str, list[dict[str, float]]], seen: list[dict[str, Any]]) -> None:
    """The supervisor's extra CPU per event and dashboard client, medians of the rounds."""
    spent = {phase: median([c["server"] * c["seconds"] for c in cpu[phase]]) for phase in PHASES}
    deliveries = median([sum(r["events"] for r in outcome["reports"]) for outcome in seen])
    if deliveries:
        extra = (spent["dashboards"] - spent["alone"]) / deliveries
        print(
            f"   supervisor CPU per phase (median): alone {spent['alone']:.1f} s, with the "
            f"clients {spent['dashboards']:.1f} s: {extra * 1e6:.0f} µs more per event "
            "delivered to a dashboard client (its overview polls included)"
        )


def _print_clients(seen: list[dict[str, Any]]) -> None:
    reports = [r for outcome in seen for r in outcome["reports"]]
    latencies = [x for r in reports for x in r["latencies"]]
    overview = [x for r in reports for x in r["overview_seconds"]]
    unanswered = [x for r in reports for x in r["overview_unanswered"]]
    events = [r["events"] for r in reports]
    print(f"   events received per client and phase: {min(events)}-{max(events)}")
    if latencies:
        print(_row("SSE, change -> dashboard client", latencies))
    if overview:
        print(_row("GET /api/overview, answered", overview))
    if unanswered:
        print(
            f"   GET /api/overview still unanswered when a phase ended: {len(unanswered)}, "
            f"asked {min(unanswered):.1f}-{max(unanswered):.1f} s before"
        )


if __name__ == "__main__":
    sys.exit(main())
