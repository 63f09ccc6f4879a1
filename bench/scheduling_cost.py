"""Scheduling cost: the lease decision with 500 hosts and 10,000 pending jobs of mixed routing.

Issue 12, item 8. What is measured is the supervisor's lease decision, so the supervisor is
built in this process (``Supervisor`` over a real ``SqliteStore``, ``freeze_long_lived`` as
``latchwork serve`` builds it) and called through its façade, without gRPC and without 500
worker processes. The hosts register as real workers do (``register_worker`` with a
``HostInfo``: varied slots, memory, GPUs, OS, properties, groups, clusters, a few with their own
restrictions); the jobs are submitted through ``Supervisor.submit`` in batches of 1,000.

Two set-ups, each its own supervisor and data directory, measured in alternating rounds:

* **mixed**: ``--jobs`` jobs, a quarter without routing attributes, the rest spread evenly over
  ``--routings`` distinct routings (memory/GPU/processor reservations, licences, group lists,
  requirements expressions, host lists, restrictions, and about 5 % that no host suits);
* **plain** (the reference): as many jobs, same frames and priorities, no routing attributes.

Each set-up first fills its farm (every host leases its slots). A sample then picks a host at
random (the same sequence in both set-ups), ends its oldest frame (a report, not timed: what
makes a real worker ask) and times the host's next lease. Even samples time the decision alone
(``routing.host_of`` + ``scheduler.next``, the chosen work offered back, then an untimed lease
to move on); odd samples time the whole ``Supervisor.lease(worker, 1)``, its commit included.

A third supervisor measures the worst case: a host that suits none of ``--jobs`` routed jobs
(drawn from the same mix, those that suit it left out), so each decision sets aside
``MAX_REFUSED_QUEUES`` (64) queues and gives nothing.

Run: ``.venv/bin/python bench/scheduling_cost.py [--hosts 500 --jobs 10000 --routings 200]``.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import OtherLoad, add_workdir_flag, machine
from latchwork.server.core.model import JobSpec, Prototype
from latchwork.server.core.routing.hosts import Resources
from latchwork.server.core.routing.routing import JobRouting, suits
from latchwork.server.core.scheduler import MAX_REFUSED_QUEUES, RoutingKey, parse_key, routing_key
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.host_registry import HostInfo
from latchwork.server.leases import LeaseGrant
from latchwork.server.output import OutputStore
from latchwork.server.store import SqliteStore
from latchwork.server.supervisor import Supervisor

LICENCES = {"nuke": 20, "maya": 40, "houdini": 30}
GROUPS = ("comp", "fx", "lighting", "anim", "sim", "edit", "gpu", "render", "cache", "farm")
RENDERERS = ("arnold", "karma", "redshift", "vray")
SITES = ("lon", "van", "mtl")
CLUSTERS = ("/", "/show/a", "/show/b", "/show/c/comp", "/lib")
BATCH = 1_000
NEVER = {
    "reservations": ("host.memory=1024000", "host.gpus=16", "host.processors=64"),
    "requirements": ("host.os == beos", "host.renderer == mantra"),
    "hosts": ("retired-01,retired-02",),
    "groups": ("nosuchgroup",),
}
"""Routings no host of the farm suits."""


class Sink:
    """A worker's side of the effects; nothing runs here."""

    def kill(self, lease_id: str) -> None: ...

    def suspend(self, lease_id: str) -> None: ...

    def resume(self, lease_id: str) -> None: ...


# --- the farm and the jobs --------------------------------------------------------------------


def make_hosts(count: int, rng: random.Random) -> list[HostInfo]:
    hosts = []
    for n in range(count):
        slots = rng.choice((2, 4, 8, 16))
        hosts.append(
            HostInfo(
                f"node-{n:04d}",
                slots=slots,
                resources=Resources(
                    cores=slots * 2,
                    memory_mb=rng.choice((16_000, 32_000, 64_000, 128_000, 256_000)),
                    gpus=rng.choice((0, 0, 0, 1, 2, 4)),
                    os=rng.choices(("linux", "windows", "macos"), (80, 15, 5))[0],
                    arch=rng.choices(("x86_64", "arm64"), (90, 10))[0],
                ),
                properties={
                    "renderer": rng.choice(RENDERERS),
                    "site": rng.choice(SITES),
                    "gen": rng.choice(("g5", "g6", "g7")),
                },
                groups=tuple(rng.sample(GROUPS, rng.randint(0, 3))),
                cluster=rng.choice(CLUSTERS),
                restrictions="/show/+" if rng.random() < 0.05 else "",
            )
        )
    return hosts


def _requirements(rng: random.Random) -> str:
    memory = rng.choice((16_000, 32_000, 64_000, 128_000))
    renderer, site = rng.choice(RENDERERS), rng.choice(SITES)
    return rng.choice(
        (
            f"host.os == linux and host.memory >= {memory}",
            f"host.renderer == {renderer}",
            f"host.renderer == {renderer} or host.gpus >= {rng.randint(1, 4)}",
            f"host.site == {site} and host.gen != g5",
            f"(host.site == {site} or host.renderer == {renderer}) and host.cores >= 8",
            f"not (host.renderer in '{renderer},{rng.choice(RENDERERS)}')",
            f"host.groups has {rng.choice(GROUPS)}",
            f"host.memory.avail >= {memory}",
            "host.arch == arm64 and host.os == macos",
            f"host.os == windows and host.site == {site}",
        )
    )


def _routing(rng: random.Random, host_names: Sequence[str]) -> dict[str, str]:
    """One routing of the mix (JobSpec fields), about 5 % of them suiting no host."""
    kind = rng.choices(
        ("reserve", "licence", "groups", "requirements", "hosts", "clusters", "never"),
        (20, 10, 20, 25, 10, 10, 5),
    )[0]
    attrs: dict[str, str] = {}
    if kind == "reserve":
        parts = [f"host.memory={rng.choice((4000, 8000, 16000, 32000, 64000, 96000))}"]
        if rng.random() < 0.5:
            parts.append(f"host.processors={rng.choice((2, 4))}")
        if rng.random() < 0.2:
            parts.append(f"host.gpus={rng.randint(1, 2)}")
        attrs["reservations"] = ",".join(parts)
    elif kind == "licence":
        attrs["reservations"] = f"global.{rng.choice(tuple(LICENCES))}=1"
    elif kind == "groups":
        attrs["groups"] = ",".join(rng.sample(GROUPS, rng.randint(1, 2)))
        if rng.random() < 0.3:
            attrs["omitgroups"] = rng.choice(GROUPS)
    elif kind == "requirements":
        attrs["requirements"] = _requirements(rng)
    elif kind == "hosts":
        names = ",".join(rng.sample(host_names, min(len(host_names), rng.randint(3, 12))))
        attrs["hosts" if rng.random() < 0.6 else "omithosts"] = names
    elif kind == "clusters":
        attrs["restrictions"] = rng.choice(("/show/+", "/show/a", "/lib || /show/b", "/show/c/+"))
        attrs["cluster"] = rng.choice(("", "/show/a", "/show/b"))
    else:
        never = rng.choice(tuple(NEVER))
        attrs[never] = rng.choice(NEVER[never])
    if kind != "licence" and rng.random() < 0.2:
        attrs.setdefault("reservations", f"host.memory={rng.choice((2000, 8000))}")
    return attrs


def routing_pool(count: int, rng: random.Random, host_names: Sequence[str]) -> list[dict[str, str]]:
    """``count`` distinct routings of the mix."""
    pool: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for _ in range(count * 100):
        if len(pool) >= count:
            break
        attrs = _routing(rng, host_names)
        pool.setdefault(tuple(sorted(attrs.items())), attrs)
    return list(pool.values())


def job_specs(
    priorities: Sequence[int],
    frames: int,
    cpus: int,
    routings: Sequence[dict[str, str]],
    plain_share: float,
    rng: random.Random,
) -> list[JobSpec]:
    """One job per priority; ``plain_share`` of them (all when ``routings`` is empty) without
    routing attributes, the others with one of ``routings``."""
    specs = []
    for n, priority in enumerate(priorities):
        plain = not routings or rng.random() < plain_share
        attrs = {} if plain else rng.choice(routings)
        specs.append(
            JobSpec(
                name=f"job{n}",
                cmdline="render QB_FRAME_NUMBER",
                prototype=Prototype.CMDRANGE,
                frame_range=f"1-{frames}",
                cpus=cpus,
                priority=priority,
                **attrs,  # type: ignore[arg-type]
            )
        )
    return specs


# --- one set-up: a supervisor, its hosts and jobs --------------------------------------------


@dataclass
class Leasable:
    """Which routings have work that could start now (pending frames, a free instance), kept
    by this script from the grants and reports, to tell a host that had nothing it could
    run from one passed over by the bound on queues set aside."""

    cpus: int
    key_of: dict[int, RoutingKey] = field(default_factory=dict)
    pending: dict[int, int] = field(default_factory=dict)
    running: dict[int, int] = field(default_factory=dict)
    by_key: dict[RoutingKey, int] = field(default_factory=dict)
    routes: dict[RoutingKey, JobRouting] = field(default_factory=dict)

    def add(self, job_id: int, key: RoutingKey, frames: int) -> None:
        self.key_of[job_id], self.pending[job_id], self.running[job_id] = key, frames, 0
        self.by_key[key] = self.by_key.get(key, 0) + 1
        if key not in self.routes:
            self.routes[key] = parse_key(key)

    def _ok(self, job_id: int) -> bool:
        return self.pending[job_id] > 0 and self.running[job_id] < self.cpus

    def change(self, job_id: int, pending: int, running: int) -> None:
        before = self._ok(job_id)
        self.pending[job_id] += pending
        self.running[job_id] += running
        self.by_key[self.key_of[job_id]] += self._ok(job_id) - before

    def suiting(self, sup: Supervisor, worker: str) -> int:
        host = sup.routing.host_of(worker)
        assert host is not None
        return sum(
            1
            for key, count in self.by_key.items()
            if count and suits(self.routes[key], host, sup.routing.licences)
        )


@dataclass
class Setup:
    name: str
    sup: Supervisor
    store: SqliteStore
    workers: list[str]
    slots: list[int]
    leasable: Leasable
    running: dict[str, deque[tuple[str, int]]] = field(default_factory=dict)
    decision_ns: list[list[int]] = field(default_factory=list)
    lease_ns: list[list[int]] = field(default_factory=list)
    empty: int = 0
    passed_over: int = 0
    lease_outcomes: dict[bool, list[int]] = field(default_factory=lambda: {True: [], False: []})

    def frames_running(self) -> int:
        return sum(len(leases) for leases in self.running.values())

    def pending_jobs(self) -> int:
        return sum(1 for count in self.leasable.pending.values() if count)

    def fill(self) -> None:
        for worker, slots in zip(self.workers, self.slots, strict=True):
            self.took(worker, self.sup.lease(worker, slots))

    def took(self, worker: str, grants: Sequence[LeaseGrant]) -> None:
        queue = self.running.setdefault(worker, deque())
        for grant in grants:
            queue.append((grant.lease_id, grant.job_id))
            self.leasable.change(grant.job_id, -1, +1)

    def heap_entries(self) -> tuple[int, int]:
        """Diagnostic, from the scheduler's private state: (entries in its heap of queues
        that are current, distinct queues among them); the bound on a decision counts entries
        set aside, so the two should be equal."""
        scheduler = self.sup.index.scheduler
        queues = scheduler._queues  # noqa: SLF001
        # An entry is (priority, job id, listing, key); it is current when it is its queue's
        # latest listing.
        current = [
            entry[3]
            for entry in scheduler._tops  # noqa: SLF001
            if entry[3] in queues and queues[entry[3]].listing == entry[2]
        ]
        return len(current), len(set(current))

    def end_oldest(self, worker: str) -> None:
        queue = self.running.get(worker)
        if queue:
            lease_id, job_id = queue.popleft()
            self.sup.report(lease_id, WorkOutcome.EXITED, 0)
            self.leasable.change(job_id, 0, -1)

    def decide(self, worker: str) -> tuple[int, bool]:
        """The decision alone, timed; what it chose is offered back. (ns, chose something)"""
        routing, scheduler = self.sup.routing, self.sup.index.scheduler
        start = time.perf_counter_ns()
        host = routing.host_of(worker)
        picked = scheduler.next(host, routing.licences)
        elapsed = time.perf_counter_ns() - start
        if picked is not None:
            scheduler.offer(picked[0], picked[1])
        return elapsed, picked is not None

    def sample_round(self, picks: Sequence[int]) -> None:
        decisions: list[int] = []
        leases: list[int] = []
        for n, index in enumerate(picks):
            worker = self.workers[index]
            self.end_oldest(worker)
            if n % 2 == 0:
                elapsed, _ = self.decide(worker)
                decisions.append(elapsed)
                grants = self.sup.lease(worker, 1)
            else:
                start = time.perf_counter_ns()
                grants = self.sup.lease(worker, 1)
                leases.append(time.perf_counter_ns() - start)
                self.lease_outcomes[bool(grants)].append(leases[-1])
            self.took(worker, grants)
            if not grants:
                self.empty += 1
                self.passed_over += self.leasable.suiting(self.sup, worker) > 0
        self.decision_ns.append(decisions)
        self.lease_ns.append(leases)


def build(
    name: str, root: Path, hosts: Sequence[HostInfo], specs: Sequence[JobSpec], cpus: int
) -> Setup:
    data = root / name
    data.mkdir(parents=True)
    store = SqliteStore(data / "latchwork.db")
    sup = Supervisor(
        store, OutputStore(data / "output"), freeze_long_lived=True, global_resources=LICENCES
    )
    workers = [sup.register_worker(info.name, Sink(), info) for info in hosts]
    leasable = Leasable(cpus)
    for start in range(0, len(specs), BATCH):
        for job in sup.submit(specs[start : start + BATCH]).jobs:
            leasable.add(job.id, routing_key(job.spec), len(job.work))
    return Setup(name, sup, store, workers, [info.slots for info in hosts], leasable)


# --- figures ---------------------------------------------------------------------------------


def percentile(values: Sequence[int], q: float) -> float:
    """Nearest rank: the smallest sample with at least ``q`` of them at or below it."""
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(q * len(ordered)) - 1)])


def flat(rounds: Sequence[Sequence[int]]) -> list[int]:
    return [value for samples in rounds for value in samples]


def us(ns: float) -> str:
    return f"{ns / 1000:8.1f}"


def row(label: str, rounds: Sequence[Sequence[int]]) -> str:
    samples = flat(rounds)
    p50s = " ".join(f"{percentile(r, 0.5) / 1000:.1f}" for r in rounds)
    p99s = " ".join(f"{percentile(r, 0.99) / 1000:.1f}" for r in rounds)
    return (
        f"   {label:<24}{us(percentile(samples, 0.5))}{us(percentile(samples, 0.99))}"
        f"{us(max(samples))}{us(sum(samples) / len(samples))}   p50 [{p50s}]  p99 [{p99s}]"
    )


def ratio_row(label: str, mixed: Sequence[Sequence[int]], plain: Sequence[Sequence[int]]) -> str:
    def ratios(q: float) -> str:
        each = [percentile(m, q) / percentile(p, q) for m, p in zip(mixed, plain, strict=True)]
        overall = percentile(flat(mixed), q) / percentile(flat(plain), q)
        return f"{overall:5.2f} [{' '.join(f'{r:.2f}' for r in each)}]"

    return f"   {label:<24} p50 {ratios(0.5)}   p99 {ratios(0.99)}"


# --- the worst case: a host that suits nothing ----------------------------------------------

PROBE = HostInfo(
    "odd-probe",
    slots=1,
    resources=Resources(cores=1, memory_mb=1000, os="plan9", arch="riscv64"),
    cluster="/odd",
)


def worst_case(setup: Setup, probes: int) -> tuple[list[int], list[int], int]:
    """(decision ns, lease ns, grants) of the probe host, alternating."""
    worker = setup.workers[-1]
    decisions, leases, granted = [], [], 0
    for n in range(probes):
        if n % 2 == 0:
            elapsed, chose = setup.decide(worker)
            decisions.append(elapsed)
            granted += chose
        else:
            start = time.perf_counter_ns()
            grants = setup.sup.lease(worker, 1)
            leases.append(time.perf_counter_ns() - start)
            granted += len(grants)
    return decisions, leases, granted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=500, help="hosts (500)")
    parser.add_argument("--jobs", type=int, default=10_000, help="pending jobs (10000)")
    parser.add_argument("--frames", type=int, default=10, help="frames per job (10)")
    parser.add_argument("--cpus", type=int, default=4, help="instances per job (4)")
    parser.add_argument("--routings", type=int, default=200, help="distinct routings (200)")
    parser.add_argument("--plain-share", type=float, default=0.25, help="mixed jobs without")
    parser.add_argument("--samples", type=int, default=2000, help="per set-up and round (2000)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (5)")
    parser.add_argument("--probes", type=int, default=1000, help="worst-case samples (1000)")
    parser.add_argument("--seed", type=int, default=12)
    add_workdir_flag(parser)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    hosts = make_hosts(args.hosts, rng)
    names = [info.name for info in hosts]
    pool = routing_pool(args.routings, rng, names)
    priorities = [rng.randint(1, 100) for _ in range(args.jobs)]
    mixed_specs = job_specs(priorities, args.frames, args.cpus, pool, args.plain_share, rng)
    plain_specs = job_specs(priorities, args.frames, args.cpus, (), 1.0, rng)

    print(f"== scheduling cost: the lease decision, {args.hosts} hosts, {args.jobs} pending jobs")
    print(f"   machine: {machine()}")
    load = OtherLoad()
    with tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp:
        root = Path(tmp)
        started = time.monotonic()
        mixed = build("mixed", root, hosts, mixed_specs, args.cpus)
        plain = build("plain", root, hosts, plain_specs, args.cpus)
        worst = build("worst", root, [*hosts, PROBE], [], args.cpus)
        probe = worst.sup.routing.host_of(worst.workers[-1])
        assert probe is not None
        licences = worst.sup.routing.licences
        refusing = [
            attrs
            for attrs in pool
            if not suits(parse_key(routing_key(JobSpec(**attrs))), probe, licences)  # type: ignore[arg-type]
        ]
        worst_specs = job_specs(priorities, args.frames, args.cpus, refusing, 0.0, rng)
        for start in range(0, len(worst_specs), BATCH):
            worst.sup.submit(worst_specs[start : start + BATCH])
        setups = (mixed, plain)
        pending_before = [s.pending_jobs() for s in setups]
        for setup in setups:
            setup.fill()
        running_before = [s.frames_running() for s in setups]
        print(f"   built in {time.monotonic() - started:.0f} s (3 supervisors, data in {root})")
        for round_no in range(args.rounds):
            picks = random.Random(args.seed * 1000 + round_no).choices(
                range(args.hosts), k=args.samples
            )
            for setup in setups if round_no % 2 == 0 else setups[::-1]:
                setup.sample_round(picks)
        heaps = [setup.heap_entries() for setup in setups]
        worst_decisions, worst_leases, worst_granted = worst_case(worst, args.probes)
        for setup in (*setups, worst):
            setup.store.close()
    load_note = load.report()

    plain_jobs = sum(1 for s in mixed_specs if routing_key(s) == routing_key(JobSpec()))
    print(
        f"   mixed: {plain_jobs} jobs without routing attributes, {args.jobs - plain_jobs} over "
        f"{len(pool)} distinct routings (licences {LICENCES}); plain: {args.jobs} jobs without"
    )
    print(
        f"   jobs of {args.frames} frames, cpus {args.cpus}, priorities 1-100; "
        f"{sum(info.slots for info in hosts)} slots on the farm, filled before the rounds"
    )
    print(
        f"   pending jobs before / after the rounds: mixed {pending_before[0]} / "
        f"{mixed.pending_jobs()}, plain {pending_before[1]} / {plain.pending_jobs()}"
    )
    print(
        f"   frames running after the fill / after the rounds: mixed {running_before[0]} / "
        f"{mixed.frames_running()}, plain {running_before[1]} / {plain.frames_running()}"
    )
    print(
        f"   {args.rounds} rounds of {args.samples} asks per set-up (half timed as the decision "
        f"alone, half as the whole lease), order alternating"
    )
    print(f"   {load_note}")
    print()
    print(f"   {'microseconds':<24}{'p50':>8}{'p99':>8}{'max':>8}{'mean':>8}   every round")
    for setup in setups:
        print(row(f"{setup.name}: decision", setup.decision_ns))
        print(row(f"{setup.name}: whole lease", setup.lease_ns))
    print()
    print(ratio_row("decision mixed / plain", mixed.decision_ns, plain.decision_ns))
    print(ratio_row("lease mixed / plain", mixed.lease_ns, plain.lease_ns))
    for setup in setups:
        granted, nothing = setup.lease_outcomes[True], setup.lease_outcomes[False]
        print(
            f"   {setup.name}: whole leases that granted a frame: {len(granted)}, p50 "
            f"{percentile(granted, 0.5) / 1000 if granted else 0:.1f} us; that gave nothing: "
            f"{len(nothing)}, p50 {percentile(nothing, 0.5) / 1000 if nothing else 0:.1f} us"
        )
    for setup, (entries, queues) in zip(setups, heaps, strict=True):
        total = args.rounds * args.samples
        print(
            f"   {setup.name}: {setup.empty} of {total} leases gave nothing, {setup.passed_over} "
            f"of them while work of a routing that suited the host could start (passed over: "
            f"{MAX_REFUSED_QUEUES} heap entries set aside first); the scheduler's heap of "
            f"queues held {entries} current entries for {queues} queues after the rounds"
        )
    print()
    print(
        f"   worst case: host {PROBE.name} suits none of {args.jobs} jobs over "
        f"{len(refusing)} routings (queues set aside per decision: "
        f"{min(len(refusing), MAX_REFUSED_QUEUES)}); {worst_granted} grants"
    )
    print(row("worst: decision", [worst_decisions]))
    print(row("worst: whole lease", [worst_leases]))
    plain_p50 = percentile(flat(plain.decision_ns), 0.5)
    print(
        f"   worst decision p50 / plain decision p50: "
        f"{percentile(worst_decisions, 0.5) / plain_p50:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
