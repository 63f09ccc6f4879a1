"""Run every benchmark with its default sizes (``make bench`` runs this).

Flags: ``--workdir DIR`` is passed to every benchmark (where data directories go, e.g.
/dev/shm); ``--quick`` shrinks the sizes for a smoke run whose figures mean little.
Example: ``make bench ARGS="--workdir /dev/shm"``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    callback_firings,
    dependency_latency,
    dispatch_floor,
    dispatch_overhead,
    submit_throughput,
    trigger_dispatch,
)
from bench.harness import machine

QUICK = {
    "submit_throughput": ["--jobs", "100", "--repeats", "2"],
    "dispatch_overhead": ["--frames", "50", "--rounds", "2"],
    "dispatch_floor": ["--frames", "50", "--rounds", "2", "--busy", "0,400", "--pool"],
    "trigger_dispatch": ["--large", "10000", "--events", "1000", "--rounds", "2", "--frames", "50"],
    "callback_firings": [
        *["--jobs", "100", "--frames", "100", "--repeats", "1"],
        *["--python-jobs", "50", "--python-frames", "50"],
    ],
    "dependency_latency": ["--pairs", "10"],
    "sandbox_overhead": ["--runs", "200", "--rounds", "1"],
    "cage_overhead": ["--runs", "200", "--rounds", "1"],
    "subscribe_throughput": [
        *["--events", "2000", "--jobs", "200", "--subscribers", "1,10"],
        *["--rounds", "1", "--changes", "50"],
    ],
    "laggard_latency": ["--events", "60000", "--replay", "5000", "--changes", "100"],
    "dashboard_load": [
        *["--jobs", "2000", "--frames", "1", "--rounds", "1", "--changes", "50"],
        *["--pairs", "10"],
    ],
    "runaway_callbacks": ["--loops", "20", "--idle-seconds", "1"],
    "health_latency": ["--rounds", "1", "--idle-seconds", "1"],
    "scheduling_cost": [
        *["--hosts", "50", "--jobs", "500", "--routings", "100"],
        *["--samples", "200", "--rounds", "2", "--probes", "100"],
    ],
    "farm_throughput": ["--quick", "--reference-seconds", "3"],
    "finished_listing": ["--jobs", "20000", "--rounds", "1"],
    "history_memory": ["--quick"],
    "history_reads": ["--quick"],
    "failover_torture": ["--kills", "3"],
}
# A benchmark whose own default is too long for `make bench` (farm_throughput: 1,000,000
# frames, about half an hour here; history_reads: 100,000 jobs, about 2 minutes) runs with
# these flags instead (about 3 minutes, and half a minute); dispatch_floor adds its thread
# pool, the floor of any design.
FULL = {
    "farm_throughput": ["--frames", "100000"],
    "history_reads": ["--jobs", "20000"],
    "dispatch_floor": ["--pool"],
}
# Benchmarks that keep no data directory (in-process and pipes only): no --workdir for them.
NO_WORKDIR = frozenset({"sandbox_overhead", "cage_overhead", "failover_torture"})


def fresh_process(script: str) -> Callable[[list[str]], int]:
    """A benchmark run as a process of its own rather than in this one.

    For sandbox_overhead: its sandbox workers are children of the benchmark process, and a
    worker asks to be replaced after every run once its ``ru_maxrss`` is above half its memory
    limit, and a worker started by vfork + exec (as asyncio does) begins with the peak RSS of
    the process that started it. After trigger_dispatch's 100,000 callbacks, this process's
    peak is far above that threshold; a fresh process starts with a fresh one.
    """

    def run(flags: list[str]) -> int:
        sys.stdout.flush()
        path = Path(__file__).with_name(script)
        return subprocess.run([sys.executable, str(path), *flags], check=False).returncode

    return run


def server_code() -> str:
    """Where the supervisor code comes from, and its git revision when it is a checkout."""
    spec = importlib.util.find_spec("latchwork.server")
    if spec is None or not spec.submodule_search_locations:
        return "latchwork.server not found"
    where = Path(next(iter(spec.submodule_search_locations))).resolve()
    return f"{where} ({revision(where)})"


def revision(where: Path) -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"git {head}{' + uncommitted changes' if dirty else ''}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", help="passed to every benchmark")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"latchwork benchmarks, {now}")
    print(f"server code: {server_code()}")
    print(f"machine: {machine()}")
    benchmarks = [
        ("submit_throughput", submit_throughput.main),
        ("dispatch_overhead", dispatch_overhead.main),
        ("dispatch_floor", dispatch_floor.main),
        ("trigger_dispatch", trigger_dispatch.main),
        ("callback_firings", callback_firings.main),
        ("dependency_latency", dependency_latency.main),
        ("sandbox_overhead", fresh_process("sandbox_overhead.py")),
        ("cage_overhead", fresh_process("cage_overhead.py")),
        # Its own process too: client processes and 100 channels, best started from a small one.
        ("subscribe_throughput", fresh_process("subscribe_throughput.py")),
        ("laggard_latency", fresh_process("laggard_latency.py")),
        # A supervisor with its HTTP side, dashboard clients in a spawned process.
        ("dashboard_load", fresh_process("dashboard_load.py")),
        ("runaway_callbacks", fresh_process("runaway_callbacks.py")),
        ("health_latency", fresh_process("health_latency.py")),
        # In-process supervisors that freeze what they load (gc.freeze, as `serve` does).
        ("scheduling_cost", fresh_process("scheduling_cost.py")),
        # Two client processes of simulated workers, best started from a small process.
        ("farm_throughput", fresh_process("farm_throughput.py")),
        # One supervisor grown to 100,000 jobs, then restarted: its own process.
        ("history_memory", fresh_process("history_memory.py")),
        ("history_reads", fresh_process("history_reads.py")),
        ("finished_listing", fresh_process("finished_listing.py")),
        ("failover_torture", fresh_process("failover_torture.py")),
    ]
    for name, run in benchmarks:
        flags = QUICK[name] if args.quick else FULL.get(name, [])
        if args.workdir and name not in NO_WORKDIR:
            flags = [*flags, "--workdir", args.workdir]
        print()
        start = time.monotonic()
        code = run(flags)
        print(f"   ({name} took {time.monotonic() - start:.0f} s)")
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
