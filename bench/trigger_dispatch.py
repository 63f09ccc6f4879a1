"""Trigger dispatch: what one event costs with 1,000 vs 100,000 registered callbacks.

In-process, no gRPC: dispatch is a function call inside the supervisor's event loop, and
a whole ``latchwork serve`` would only add noise around a few hundred nanoseconds.

Part 1, the engine alone (``TriggerEngine.observe``). Two registries, ``--small`` and
``--large`` callbacks, each callback ``complete-job-<J>`` -> ``unblock-self`` on its own
watched job J, compiled like the supervisor compiles them (``parse_trigger`` + ``resolve``
against stand-in jobs). The events are what a farm produces while nothing is ready: work
``running``/``complete``, subjob and job ``running`` events of the watched jobs themselves,
and job ``complete`` events of jobs nobody watches; none matches any callback. Both
registries are built first and then timed in alternating rounds. Also timed:

* one event that matches exactly one callback among them (it latches and fires);
* the same-run references: a Python call per event that does nothing (the floor), and a
  linear scan of the registry per event (what an unindexed engine would pay);
* a known limit of the index: callbacks on *named* frames of one job
  (``complete-work-T-<k>``) share one index key, so an event of any frame of T visits
  all of them.

Part 2, the supervisor's commit path (``Supervisor.report_and_lease`` -> ``_commit`` ->
``Triggering.observe``), on a real SQLite store: two in-process supervisors holding the same
jobs (``--targets`` watched jobs, ``--owners`` blocked owner jobs, one runner job), one with
``--small`` and one with ``--large`` callbacks registered on the owners (via
``add_callbacks``), watching events of the targets that have not happened. A stand-in
worker ends a frame of the runner and leases the next one, ``--frames`` times per round;
none of its events matches. Timed: the whole call, and the part of it spent in
``Triggering.observe`` (wrapped from here, the server code is unchanged). Also timed, since
they do scan every callback: ``Supervisor.next_timer()`` (what the supervisor's timer task
runs twice after every commit that registers a callback) and ``callbacks_of`` (``GetJob``).

Run: ``.venv/bin/python bench/trigger_dispatch.py [--small 1000 --large 100000 --rounds 7]``.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import OtherLoad, add_workdir_flag, listing, machine, median
from latchwork.client.jobspec import job_spec_from_dict
from latchwork.server.api.convert import spec_from_pb
from latchwork.server.core.changes import Changes
from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.limits import DEFAULT_LIMITS
from latchwork.server.core.model import CallbackSpec, Job, JobSpec
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.core.triggers.engine import Callback, Firing, TriggerEngine
from latchwork.server.core.triggers.parser import parse_trigger
from latchwork.server.core.triggers.resolve import ResolveContext, resolve
from latchwork.server.output import OutputStore
from latchwork.server.store import SqliteStore
from latchwork.server.supervisor import Supervisor

OWNER_BASE = 10_000_000  # ids of the (stand-in) owner jobs, far from the watched ones

# --- part 1: the engine ---------------------------------------------------------------------


class _StandIn:
    """What resolution looks at in a job: id, label, pgrp, parent, subjobs, work items."""

    def __init__(self, job_id: int) -> None:
        self.id = job_id
        self.label = f"job{job_id}"
        self.pgrp = job_id
        self.pid = 0
        self.subjobs = [None]

    def work_named(self, name: str) -> object:
        return name


def _context(owner_id: int) -> ResolveContext:
    return ResolveContext(
        owner=cast(Job, _StandIn(owner_id)),
        job_by_id=lambda job_id: cast(Job, _StandIn(job_id)),
        job_by_label=lambda label: None,
    )


def _callback(callback_id: int, triggers: str, code: str = "unblock-self") -> Callback:
    owner = OWNER_BASE + callback_id
    expr = parse_trigger(triggers)
    return Callback(
        id=callback_id,
        job_id=owner,
        spec=CallbackSpec(triggers, "qube", code),
        expr=expr,
        watches=resolve(expr, _context(owner)),
    )


@dataclass
class Registry:
    size: int
    engine: TriggerEngine
    misses: list[Event]  # events that match no callback
    hit: Event  # the event of the one callback that matches
    frame_engine: TriggerEngine  # callbacks on named frames of one job
    frame_miss: Event


def build_registry(size: int, events: int, seed: int) -> Registry:
    engine = TriggerEngine(lambda job_id: None)
    for job_id in range(1, size + 1):
        engine.add(_callback(job_id, f"complete-job-{job_id}"))
    matched = size + 1  # watched by exactly one callback, which fires on every event
    engine.add(_callback(matched, f"complete-job-{matched}"))
    rnd = random.Random(seed)
    on_watched = [
        (EventName.RUNNING, EventType.WORK),
        (EventName.COMPLETE, EventType.WORK),
        (EventName.RUNNING, EventType.SUBJOB),
        (EventName.COMPLETE, EventType.SUBJOB),
        (EventName.RUNNING, EventType.JOB),
    ]
    misses = []
    for _ in range(events):
        if rnd.random() < 0.8:
            name, kind = rnd.choice(on_watched)
            job_id = rnd.randint(1, size)
        else:  # a job nobody watches ends
            name, kind, job_id = EventName.COMPLETE, EventType.JOB, rnd.randint(size + 2, 2 * size)
        misses.append(
            Event(name=name, type=kind, job_id=job_id, work_name=str(rnd.randint(1, 100)))
        )
    hit = Event(name=EventName.COMPLETE, type=EventType.JOB, job_id=matched)
    frame_engine = TriggerEngine(lambda job_id: None)
    target = 2 * size + 10
    for frame in range(1, size + 1):
        frame_engine.add(
            _callback(frame, f"complete-work-{target}-{frame}", code="unblock-work-self")
        )
    frame_miss = Event(
        name=EventName.COMPLETE, type=EventType.WORK, job_id=target, work_name=str(size + 1)
    )
    return Registry(size, engine, misses, hit, frame_engine, frame_miss)


def _noop(event: Event) -> list[Firing]:
    return []


def scan(engine: TriggerEngine, event: Event) -> int:
    """What an unindexed engine does per event: look at every watch of every callback."""
    found = 0
    for callback in engine.callbacks.values():
        for watch in callback.watches:
            if event.name in watch.names and event.type is watch.type:
                found += event.job_id == watch.job_id
    return found


def time_per_event(fn: Callable[[Event], object], events: Sequence[Event], passes: int) -> float:
    """Nanoseconds per call of ``fn``, over ``passes`` passes of ``events``."""
    start = time.perf_counter_ns()
    for _ in range(passes):
        for event in events:
            fn(event)
    return (time.perf_counter_ns() - start) / (passes * len(events))


def engine_part(args: argparse.Namespace) -> None:
    print("-- part 1: TriggerEngine.observe, in-process")
    build_s: dict[int, float] = {}
    registries: list[Registry] = []
    for size in (args.small, args.large):
        start = time.perf_counter()
        registries.append(build_registry(size, args.events, seed=size))
        build_s[size] = time.perf_counter() - start
    gc.collect()
    names = ("floor", "miss", "hit", "frames", "scan")
    samples: dict[tuple[str, int], list[float]] = {}
    for round_no in range(args.rounds):
        order = registries if round_no % 2 == 0 else registries[::-1]
        for reg in order:
            firings = len(reg.engine.observe(reg.hit))
            if firings != 1 or any(reg.engine.observe(e) for e in reg.misses[:100]):
                raise SystemExit(f"registry {reg.size}: the events do not match as intended")
            # The slow ones (O(registry) per event) get fewer events in the large registry.
            few = max(3, args.scan_events * args.small // reg.size)
            results = {
                "floor": time_per_event(_noop, reg.misses, args.passes),
                "miss": time_per_event(reg.engine.observe, reg.misses, args.passes),
                "hit": time_per_event(reg.engine.observe, [reg.hit] * 1000, args.passes),
                "frames": time_per_event(reg.frame_engine.observe, [reg.frame_miss] * few, 1),
                "scan": time_per_event(partial(scan, reg.engine), reg.misses[:few], 1),
            }
            for name in names:
                samples.setdefault((name, reg.size), []).append(results[name])

    small, large = args.small, args.large
    print(
        f"   registries: {small:,} and {large:,} callbacks (+1 that matches), built in "
        f"{build_s[small]:.2f} s and {build_s[large]:.1f} s; {args.events:,} distinct events, "
        f"{args.passes} passes per sample"
    )
    print(
        f"   rounds: {args.rounds}, order alternating; medians, every round in brackets "
        "(ns per event)"
    )
    print()
    rows = [
        ("floor", "reference: a Python call that does nothing"),
        ("miss", "observe(), event matching no callback"),
        ("hit", "observe(), event matching 1 callback (fires)"),
        ("scan", "reference: linear scan of the registry"),
        ("frames", "limit: named frames of one job, miss"),
    ]
    header = f"   {'':<46} {f'{small:,} callbacks':>16} {f'{large:,} callbacks':>18} {'ratio':>7}"
    print(header)
    for key, label in rows:
        a, b = median(samples[(key, small)]), median(samples[(key, large)])
        print(f"   {label:<46} {_ns(a):>16} {_ns(b):>18} {b / a:7.2f}")
    print()
    for key, _ in rows:
        for size in (small, large):
            print(f"   {key:<6} {size:>7,}: {listing(samples[(key, size)], digits=0)}")
    miss_small, miss_large = median(samples[("miss", small)]), median(samples[("miss", large)])
    floor = median(samples[("floor", small)] + samples[("floor", large)])
    print()
    print(
        f"   => no-match dispatch, {large:,} vs {small:,} callbacks: ratio "
        f"{miss_large / miss_small:.2f} ({_ns(miss_small)} vs {_ns(miss_large)} per event; "
        f"{_ns(miss_small - floor)} vs {_ns(miss_large - floor)} above the empty call)"
    )


def _ns(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} ms"
    if value >= 1e4:
        return f"{value / 1e3:.1f} us"
    return f"{value:.0f} ns"


# --- part 2: the supervisor's commit path ---------------------------------------------------

# Events of a blocked target that never happen while it stays blocked.
UNSEEN = (
    "running",
    "complete",
    "failed",
    "killed",
    "removed",
    "modified",
    "unblocked",
    "suspended",
    "resumed",
    "retried",
    "done",
)


class _Sink:
    def kill(self, lease_id: str) -> None: ...

    def suspend(self, lease_id: str) -> None: ...

    def resume(self, lease_id: str) -> None: ...


def _spec(job: dict[str, Any]) -> Any:
    return spec_from_pb(job_spec_from_dict(job))


class Held:
    """An in-process supervisor holding the same jobs with ``callbacks`` callbacks."""

    def _submit(self, specs: list[JobSpec]) -> list[Job]:
        """The jobs, as many per Submit as a Submit may carry (docs/limits.md)."""
        chunk = DEFAULT_LIMITS.jobs_per_submit
        return [job for first in range(0, len(specs), chunk)
                for job in self.sup.submit(specs[first : first + chunk]).jobs]  # fmt: skip

    def __init__(self, root: Path, callbacks: int, args: argparse.Namespace) -> None:
        self.callbacks = callbacks
        self.store = SqliteStore(root / "latchwork.db")
        self.sup = Supervisor(self.store, OutputStore(root / "output"))
        start = time.perf_counter()
        blocked = {"prototype": "cmdrange", "package": {"cmdline": "true", "range": "1"}}
        targets = self._submit(
            [_spec({**blocked, "name": f"t{i}", "status": "blocked"}) for i in range(args.targets)]
        )
        owners = self._submit(
            [_spec({**blocked, "name": f"o{i}", "status": "blocked"}) for i in range(args.owners)]
        )
        per_owner, extra = divmod(callbacks, len(owners))
        n = 0
        for index, owner in enumerate(owners):
            specs = []
            for _ in range(per_owner + (index < extra)):
                target = targets[n % len(targets)].id
                name = UNSEEN[(n // len(targets)) % len(UNSEEN)]
                specs.append(CallbackSpec(f"{name}-job-{target}", "qube", "unblock-self"))
                n += 1
            if specs:
                self.sup.add_callbacks(owner.id, specs)
        self.registered = len(self.sup.triggering.engine.callbacks)
        total_frames = args.frames * (args.rounds + 1) + 1
        self.runner = self.sup.submit(
            [_spec({"name": "runner", "prototype": "cmdrange",
                    "package": {"cmdline": "true", "range": f"1-{total_frames}"}})]
        ).jobs[0]  # fmt: skip
        self.build_s = time.perf_counter() - start
        self.worker = self.sup.register_worker("bench", _Sink())
        grants = self.sup.lease(self.worker, 1)
        self.lease = grants[0].lease_id
        self.observe_ns = 0
        self.observed_events = 0
        self.firings = 0
        original = self.sup.triggering.observe

        def timed_observe(changes: Changes, firings: list[Firing]) -> None:
            start = time.perf_counter_ns()
            original(changes, firings)
            self.observe_ns += time.perf_counter_ns() - start
            self.observed_events += len(changes.events)
            self.firings += len(firings)

        self.sup.triggering.observe = timed_observe  # type: ignore[method-assign]

    def frames(self, count: int) -> tuple[float, float, float]:
        """End ``count`` frames of the runner, leasing the next each time.

        Returns (us per call, us per call in Triggering.observe, events per call).
        """
        self.observe_ns = self.observed_events = 0
        start = time.perf_counter_ns()
        for _ in range(count):
            _, grants = self.sup.report_and_lease(
                self.lease, WorkOutcome.EXITED, 0, worker_id=self.worker, max_leases=1
            )
            self.lease = grants[0].lease_id
        elapsed = time.perf_counter_ns() - start
        return elapsed / count / 1e3, self.observe_ns / count / 1e3, self.observed_events / count

    def close(self) -> None:
        self.store.close()


def supervisor_part(args: argparse.Namespace, workdir: Path) -> None:
    print()
    print("-- part 2: Supervisor.report_and_lease -> _commit -> Triggering.observe, in-process")
    held = [Held(workdir / f"held{n}", n, args) for n in (args.small, args.large)]
    gc.collect()
    for h in held:
        h.frames(args.frames)  # warm-up
    per_call: dict[int, list[float]] = {h.callbacks: [] for h in held}
    in_observe: dict[int, list[float]] = {h.callbacks: [] for h in held}
    events_per_call = 0.0
    for round_no in range(args.rounds):
        for h in held if round_no % 2 == 0 else held[::-1]:
            call_us, observe_us, events_per_call = h.frames(args.frames)
            per_call[h.callbacks].append(call_us)
            in_observe[h.callbacks].append(observe_us)
    timers: dict[int, list[float]] = {h.callbacks: [] for h in held}
    lookups: dict[int, list[float]] = {h.callbacks: [] for h in held}
    for _ in range(args.rounds):
        for h in held:
            start = time.perf_counter()
            h.sup.next_timer()
            timers[h.callbacks].append(time.perf_counter() - start)
            start = time.perf_counter()
            h.sup.callbacks_of(h.runner.id)
            lookups[h.callbacks].append(time.perf_counter() - start)
    fired = sum(h.firings for h in held)
    for h in held:
        h.close()

    small, large = args.small, args.large
    print(
        f"   both supervisors hold {args.targets} blocked targets, {args.owners} blocked owners "
        f"and 1 runner job; callbacks registered: {held[0].registered:,} and "
        f"{held[1].registered:,} (built in {held[0].build_s:.1f} s and {held[1].build_s:.1f} s)"
    )
    print(
        f"   {args.frames} frames of the runner per round, {events_per_call:.1f} events per "
        f"call, {fired} firings (expected 0); {args.rounds} rounds alternating; medians, "
        "every round in brackets"
    )
    print()
    print(f"   {'':<46} {f'{small:,} callbacks':>16} {f'{large:,} callbacks':>18} {'ratio':>7}")
    rows = [
        ("report_and_lease (one commit), us/call", per_call, 1.0, 1),
        ("  of which Triggering.observe, us/call", in_observe, 1.0, 2),
        ("next_timer() (timer task, per registration), ms", timers, 1e3, 3),
        ("callbacks_of(job) (GetJob), ms", lookups, 1e3, 3),
    ]
    for label, data, scale, digits in rows:
        a, b = median(data[small]) * scale, median(data[large]) * scale
        print(f"   {label:<46} {a:16.{digits}f} {b:18.{digits}f} {b / a:7.2f}")
    print()
    for label, data, scale, digits in rows:
        for size in (small, large):
            print(f"   {label.split(',')[0].strip():<30} {size:>7,}: "
                  f"{listing(data[size], scale, digits)}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1000, help="callbacks, small registry")
    parser.add_argument("--large", type=int, default=100_000, help="callbacks, large registry")
    parser.add_argument("--events", type=int, default=10_000, help="distinct events (10000)")
    parser.add_argument("--passes", type=int, default=20, help="passes over them per sample")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (7)")
    parser.add_argument(
        "--scan-events",
        type=int,
        default=1000,
        help="events per sample of the O(registry) rows at --small (scaled down for --large)",
    )
    parser.add_argument("--targets", type=int, default=1000, help="part 2: watched jobs (1000)")
    parser.add_argument("--owners", type=int, default=1000, help="part 2: owner jobs (1000)")
    parser.add_argument("--frames", type=int, default=500, help="part 2: frames per round (500)")
    parser.add_argument("--skip-supervisor", action="store_true", help="part 1 only")
    add_workdir_flag(parser)
    args = parser.parse_args(argv)

    print(f"== trigger dispatch: {args.small:,} vs {args.large:,} registered callbacks")
    print(f"   machine: {machine()}")
    load = OtherLoad()
    engine_part(args)
    if not args.skip_supervisor:
        with tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp:
            supervisor_part(args, Path(tmp))
    print(f"   {load.report()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
