"""Cage overhead: the Python callback round trip through the real SandboxPool, cage off vs on.

Two pools of one worker each run side by side in this process, one with ``sandbox_cage``'s
layers off (workers as ``nobody`` with rlimits only, as before the cage) and one with the whole
cage (private network namespace, fleet cgroup, a uid of its own, the seccomp allow-list). Two
callbacks, each run N times per pool per round, one at a time:

* ``frame-to-frame``: the callback of ``bench/sandbox_overhead.py`` (reads the owner's work
  list, ``qb.workunblock``, prints a line; ~7 KB of snapshots per run);
* ``trivial``: ``print(1)`` on the same snapshots trimmed to the owner alone, where a fixed
  cost per run weighs most.

The machine is shared, so the two pools take turns in batches of ``--batch`` runs (the order
alternating) and see the same load; a round sums each pool's batches. Medians of the rounds
are reported, every round in brackets, and the ratio on / off (the aim: at most 1.2). Also: a
worker's start (spawn to ready), off and on.
Needs root for the whole cage (else the layers that need it are logged as missing).

Run: ``.venv/bin/python bench/cage_overhead.py [--runs 2000 --rounds 5 --batch 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import OtherLoad, listing, machine, median
from bench.sandbox_overhead import make_call, sandbox_sequential
from latchwork.sandbox.python.cage import CAGE_OFF, CageSettings
from latchwork.sandbox.python.pool import Limits, PythonCall, SandboxPool

AIM = 1.2


def trivial(call: PythonCall) -> PythonCall:
    job = {**call.job, "work": []}
    return dataclasses.replace(call, code="print(1)", job=job, jobs={}, binding="")


async def round_trips(pool: SandboxPool, call: PythonCall, runs: int) -> float:
    """Seconds for ``runs`` runs, one at a time (errors end the benchmark)."""
    if call.code == "print(1)":
        start = time.perf_counter()
        for _ in range(runs):
            result = await pool.run(call)
            if result.error or result.output != "1\n":
                raise SystemExit(f"sandbox run failed: {result}")
        return time.perf_counter() - start
    return sum(await sandbox_sequential(pool, call, runs))


async def start_seconds(cage: CageSettings, limits: Limits) -> float:
    start = time.perf_counter()
    async with SandboxPool(1, limits, cage):
        return time.perf_counter() - start


async def measure(args: argparse.Namespace) -> int:
    n = args.runs - args.runs % args.batch
    calls = {"frame-to-frame": make_call(100)}
    calls["trivial"] = trivial(calls["frame-to-frame"])
    cages = {"off": CAGE_OFF, "on": CageSettings()}
    print(f"== cage overhead: Python callback round trip, {n} runs per pool per round")
    print(f"   machine: {machine()}")
    load = OtherLoad()
    gc.collect()
    gc.freeze()
    limits = Limits(runs_per_worker=max(n * args.rounds * 2 * len(calls) + 1000, 500))
    starts: dict[str, list[float]] = {"off": [], "on": []}
    for index in range(6):
        for name in ("off", "on") if index % 2 == 0 else ("on", "off"):
            starts[name].append(await start_seconds(cages[name], limits))
    times: dict[tuple[str, str], list[float]] = {(k, name): [] for k in calls for name in cages}
    async with SandboxPool(1, limits, CAGE_OFF) as off, SandboxPool(1, limits) as on:
        pools = {"off": off, "on": on}
        hello = next(iter(on._workers)).hello  # noqa: SLF001 - what the caged worker applied
        print(f"   caged worker: uid {hello['uid']}, missing layers: {hello['notes'] or 'none'}")
        for call in calls.values():  # warm-up: compile caches, first allocations
            for pool in pools.values():
                await round_trips(pool, call, 100)
        for _ in range(args.rounds):
            for kind, call in calls.items():
                spent = {"off": 0.0, "on": 0.0}
                for batch in range(n // args.batch):
                    for name in ("off", "on") if batch % 2 == 0 else ("on", "off"):
                        spent[name] += await round_trips(pools[name], call, args.batch)
                for name, seconds in spent.items():
                    times[kind, name].append(seconds)
        replaced = off.replaced + on.replaced
    print(
        f"   rounds: {args.rounds}, batches of {args.batch} runs taking turns; medians, "
        "every round in brackets"
    )
    print(f"   {load.report()}")
    print(f"   workers replaced during the measurement: {replaced} (expected 0)")
    print()
    for kind in calls:
        for name in cages:
            seconds = median(times[kind, name])
            label = f"{kind}, cage {name}"
            print(
                f"   {label:<28} {seconds / n * 1e6:9.1f} us/run {n / seconds:9.0f} runs/s"
                f"  {listing([t / n * 1e6 for t in times[kind, name]], digits=1)}"
            )
        ratio = median(times[kind, "on"]) / median(times[kind, "off"])
        verdict = "met" if ratio <= AIM else "NOT met"
        print(f"   {'ratio on / off':<28} {ratio:9.2f}  (aim <= {AIM}: {verdict})")
        print()
    for name in cages:
        print(
            f"   {f'worker start, cage {name}':<28} {median(starts[name]) * 1e3:9.1f} ms"
            f"  {listing([s * 1e3 for s in starts[name]], digits=1)}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000, help="runs per measurement (2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (5)")
    parser.add_argument("--batch", type=int, default=20, help="runs per turn (20)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="   %(message)s")
    return asyncio.run(measure(args))


if __name__ == "__main__":
    sys.exit(main())
