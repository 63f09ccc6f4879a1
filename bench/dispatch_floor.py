"""Dispatch floor: what one event loop spawning frames can reach, against a thread pool.

``dispatch_overhead.py`` finds the supervisor at 1.5-1.8 times a 2-thread pool calling
``subprocess.run``, against a goal of 1.3. This asks how much of that any single-loop
supervisor would pay on this machine, and how much is the supervisor's own work per frame.

A **model loop** runs ``--frames`` frames of ``true``, ``--parallel`` at a time, the way the
supervisor's local pool does and with nothing else: each frame's output in two fresh 0600
files, its own session, stdin from ``/dev/null``, an environment built from nothing (20
variables), every other descriptor closed; its end noticed through a pidfd on the loop. Before
each spawn the loop burns ``B`` µs of CPU, standing for the supervisor's work per frame (the
lease, the commit of the report, the events). For each ``B`` of ``--busy`` the model runs next
to the **direct** pool of ``dispatch_overhead.py`` (the reference of the ratio), in
``--rounds`` rounds, the order alternating; medians are reported, and the ratio of every round.

The supervisor's own CPU per frame, the ``B`` it really has, is what ``dispatch_overhead.py``
prints (0.54 ms in session 9).

``--pool`` adds one more row, the floor of any design rather than of one loop: the **same
spawns in a thread pool** of ``--parallel`` threads, each spawning and waiting on its own, as
the direct pool does, with no loop and no work besides the spawn. It is what the process
hygiene every frame needs (two files, a session, an environment of its own) costs against the
bare ``subprocess.run`` pool when nothing else is done at all. Its CPU per frame (this process
and the frames, on all cores) says how much of the two cores the spawns leave for a supervisor's
bookkeeping at a given ratio.

Run: ``.venv/bin/python bench/dispatch_floor.py [--frames 500 --rounds 3 --parallel 2
--busy 0,100,200,300,400,500] [--pool]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dispatch_overhead import direct_simple
from bench.harness import OtherLoad, add_workdir_flag, listing, machine, median

ENVIRONMENT = {
    b"PATH": b"/usr/local/bin:/usr/bin:/bin",
    b"HOME": b"/nonexistent",
    b"LANG": b"C.UTF-8",
    **{f"LATCHWORK_VARIABLE_{n}".encode(): b"x" * 16 for n in range(17)},
}


def _burn(microseconds: float) -> None:
    end = time.perf_counter() + microseconds / 1e6
    while time.perf_counter() < end:
        pass


def _spawn(out_dir: Path, frame: int, stdin: int) -> subprocess.Popen[bytes]:
    """Start one frame as the supervisor's runner does: two fresh 0600 files, its own
    session, ``stdin`` (``/dev/null``), an environment built from nothing."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    out = os.open(out_dir / f"{frame}.out", flags, 0o600)
    err = os.open(out_dir / f"{frame}.err", flags, 0o600)
    try:
        return subprocess.Popen(
            ["/bin/sh", "-c", "true"],
            stdin=stdin,
            stdout=out,
            stderr=err,
            env=ENVIRONMENT,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(out)
        os.close(err)


async def _one_frame(loop: asyncio.AbstractEventLoop, out_dir: Path, frame: int, stdin: int) -> int:
    """Spawn one frame as the supervisor's runner does and wait for its end on the loop."""
    process = _spawn(out_dir, frame, stdin)
    pidfd = os.pidfd_open(process.pid)
    ended: asyncio.Future[None] = loop.create_future()

    def on_exit() -> None:
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(pidfd, on_exit)
    try:
        await ended
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return process.wait()


async def _model(frames: int, parallel: int, busy_us: float, out_dir: Path) -> None:
    loop = asyncio.get_running_loop()
    numbers = iter(range(frames))
    stdin = os.open(os.devnull, os.O_RDONLY)

    async def slot() -> None:
        for frame in numbers:
            _burn(busy_us)
            if await _one_frame(loop, out_dir, frame, stdin):
                raise SystemExit("a model run of `true` failed")

    try:
        await asyncio.gather(*(slot() for _ in range(parallel)))
    finally:
        os.close(stdin)


def cpu_seconds() -> float:
    """User + system time of this process and of its reaped children (the frames)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    frames = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + frames.ru_utime + frames.ru_stime


def thread_pool(frames: int, parallel: int, out_dir: Path) -> float:
    """The same spawns from ``parallel`` threads, each waiting for its own process: the
    direct pool's shape, with the supervisor's process hygiene and nothing else."""
    out_dir.mkdir(parents=True)
    stdin = os.open(os.devnull, os.O_RDONLY)

    def one(frame: int) -> int:
        return _spawn(out_dir, frame, stdin).wait()

    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(parallel) as pool:
            codes = list(pool.map(one, range(frames)))
        elapsed = time.perf_counter() - start
    finally:
        os.close(stdin)
    if any(codes):
        raise SystemExit("a thread-pool run of `true` failed")
    return elapsed


def model_loop(frames: int, parallel: int, busy_us: float, out_dir: Path) -> float:
    out_dir.mkdir(parents=True)
    start = time.perf_counter()
    asyncio.run(_model(frames, parallel, busy_us, out_dir))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=500, help="frames of `true` (500)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    parser.add_argument("--parallel", type=int, default=2, help="slots and threads (2)")
    parser.add_argument(
        "--busy",
        default="0,100,200,300,400,500",
        help="the loop's own work per frame, µs, comma-separated (0,100,200,300,400,500)",
    )
    parser.add_argument(
        "--pool",
        action="store_true",
        help="also the same spawns in a thread pool, with no loop and no other work",
    )
    add_workdir_flag(parser)
    args = parser.parse_args(argv)
    busy = [float(b) for b in args.busy.split(",")]

    print(f"== dispatch floor: {args.frames} frames of `true`, {args.parallel} at a time")
    print(f"   machine: {machine()}")
    load = OtherLoad()
    rows: list[tuple[float, list[float], list[float]]] = []
    with tempfile.TemporaryDirectory(prefix="latchwork-floor-", dir=args.workdir) as tmp:
        direct_simple(4, args.parallel)  # warm-up
        model_loop(4, args.parallel, 0, Path(tmp) / "warm")
        for b in busy:
            direct_s: list[float] = []
            model_s: list[float] = []
            for round_no in range(args.rounds):
                out_dir = Path(tmp) / f"b{b:g}-r{round_no}"
                if round_no % 2 == 0:
                    direct_s.append(direct_simple(args.frames, args.parallel))
                    model_s.append(model_loop(args.frames, args.parallel, b, out_dir))
                else:
                    model_s.append(model_loop(args.frames, args.parallel, b, out_dir))
                    direct_s.append(direct_simple(args.frames, args.parallel))
            rows.append((b, direct_s, model_s))
        pool_rows: tuple[list[float], list[float], list[float], list[float]] | None = None
        if args.pool:
            direct_s, pool_s, direct_cpu, pool_cpu = [], [], [], []

            def run_direct() -> None:
                cpu = cpu_seconds()
                direct_s.append(direct_simple(args.frames, args.parallel))
                direct_cpu.append(cpu_seconds() - cpu)

            def run_pool(out_dir: Path) -> None:
                cpu = cpu_seconds()
                pool_s.append(thread_pool(args.frames, args.parallel, out_dir))
                pool_cpu.append(cpu_seconds() - cpu)

            for round_no in range(args.rounds):
                out_dir = Path(tmp) / f"pool-r{round_no}"
                if round_no % 2 == 0:
                    run_direct()
                    run_pool(out_dir)
                else:
                    run_pool(out_dir)
                    run_direct()
            pool_rows = (direct_s, pool_s, direct_cpu, pool_cpu)

    per_frame = 1000 / args.frames
    print(f"   rounds: {args.rounds}, order alternating; medians, every round's ratio in brackets")
    print(f"   {load.report()}")
    print()
    print("   loop work per frame   direct ms/frame   model loop ms/frame   ratio")
    for b, direct_s, model_s in rows:
        ratios = [m / d for m, d in zip(model_s, direct_s, strict=True)]
        print(
            f"   {b:8.0f} µs          {median(direct_s) * per_frame:10.3f}"
            f"        {median(model_s) * per_frame:10.3f}          "
            f"{median(model_s) / median(direct_s):5.2f}  {listing(ratios, digits=2)}"
        )
    if pool_rows is not None:
        direct_s, pool_s, direct_cpu, pool_cpu = pool_rows
        ratios = [p / d for p, d in zip(pool_s, direct_s, strict=True)]
        print()
        print("   no loop: the same spawns      direct ms/frame   thread pool ms/frame  ratio")
        print(
            f"   in {args.parallel} threads, no other work  {median(direct_s) * per_frame:10.3f}"
            f"        {median(pool_s) * per_frame:10.3f}          "
            f"{median(pool_s) / median(direct_s):5.2f}  {listing(ratios, digits=2)}"
        )
        print(
            f"   CPU per frame, this process and its frames on all cores (medians): direct "
            f"{median(direct_cpu) * per_frame:.3f} ms, thread pool "
            f"{median(pool_cpu) * per_frame:.3f} ms, of the "
            f"{args.parallel * median(direct_s) * per_frame:.3f} core-ms per frame that the "
            f"direct pool's wall time gives {args.parallel} cores"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
