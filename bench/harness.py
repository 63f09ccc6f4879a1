"""Shared pieces of the benchmarks: a real ``latchwork serve`` process, timing helpers.

The benchmarks run the supervisor exactly as an operator would (``python -m
latchwork.client.cli serve``) on 127.0.0.1 with its own fresh data directory, and talk to it
over real gRPC. Nothing here asserts on timing: the scripts print what they measure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

_READY = re.compile(r"serving on (\S+):(\d+)")


class Served:
    """A server process that prints ``serving on HOST:PORT`` once it listens."""

    def __init__(self, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.log_path = log_path
        self.env = env or {}
        self.address = ""
        self.printed: list[str] = []  # the stdout lines read up to the ready line, with it
        self.process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 30.0) -> Served:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                self.process.wait()
                raise RuntimeError(
                    f"{' '.join(self.argv[1:4])} exited early; {self.log_path} ends with:\n"
                    + self.log_tail()
                )
            self.printed.append(line)
            match = _READY.search(line)
            if match:
                self.address = f"{match.group(1)}:{match.group(2)}"
                return self
        self.stop()
        raise RuntimeError(f"{self.argv[1:4]} did not start in time; see {self.log_path}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self.process = None

    def __enter__(self) -> Served:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def supervisor(data_dir: Path, *, slots: int, env: dict[str, str] | None = None) -> Served:
    """``latchwork serve`` on 127.0.0.1 with a fresh port, its own data dir and ``slots``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "latchwork.client.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--listen",
        "127.0.0.1:0",
        "--slots",
        str(slots),
        "--host",
        "bench",
    ]
    return Served(argv, data_dir.parent / f"{data_dir.name}-serve.log", env)


def trivial_server(log_dir: Path) -> Served:
    """The do-nothing gRPC server of ``bench/trivial_server.py``."""
    argv = [sys.executable, str(Path(__file__).with_name("trivial_server.py"))]
    return Served(argv, log_dir / "trivial-serve.log")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc, Linux only)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def listing(values: Sequence[float], scale: float = 1.0, digits: int = 3) -> str:
    """Every sample in order, ``[a b c]``, for a reader to judge the noise."""
    return "[" + " ".join(f"{v * scale:.{digits}f}" for v in values) + "]"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = f"{len(os.sched_getaffinity(0))} usable cores of {os.cpu_count()} ({cpu})"
    python = f"Python {platform.python_version()} ({platform.python_implementation()})"
    return f"{cores}, {python}, {platform.system()} {platform.release()}"


def add_workdir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the data directories go (default: the system temp dir, "
        f"{tempfile.gettempdir()}); e.g. /dev/shm to take the disk out of the figures",
    )


def add_store_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default="",
        help="passed to `latchwork serve --store`; `postgresql`: a PostgreSQL server started as "
        "the tests start theirs (tests/pg_server.py), a fresh database on it",
    )


def run_with_store(args: argparse.Namespace, run: Callable[[argparse.Namespace], int]) -> int:
    """``run(args)``; with ``--store postgresql`` (:func:`add_store_flag`), around a PostgreSQL
    server started for it, whose fresh database's URL ``args.store`` becomes."""
    if args.store != "postgresql":
        return run(args)
    from tests.pg_server import session_server, stop_session_server

    args.store = session_server().fresh_url()
    try:
        return run(args)
    finally:
        stop_session_server()


def _system_busy_seconds() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, from /proc/stat.

    Interrupt time is left out: it belongs to no process (our own loopback traffic is there).
    """
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = fields[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system) / tick, steal / tick


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class OtherLoad:
    """How much CPU the rest of the machine used while a benchmark ran.

    Our own CPU is this process plus its waited-for children (the servers, once stopped, and
    the processes they ran), so read ``report()`` after every server is stopped.
    """

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.busy, self.steal = _system_busy_seconds()
        self.own = _own_seconds()

    def report(self) -> str:
        wall = time.monotonic() - self.start
        busy, steal = _system_busy_seconds()
        other = max((busy - self.busy) - (_own_seconds() - self.own), 0.0)
        cores = len(os.sched_getaffinity(0))
        return (
            f"other processes used {other / wall / cores:.0%} of the machine's "
            f"{cores} cores during the run ({other:.1f} CPU s in {wall:.0f} s); "
            f"hypervisor steal {steal - self.steal:.1f} s; load average "
            f"{os.getloadavg()[0]:.2f}"
        )


def health_check(
    channel: grpc.aio.Channel,
) -> grpc.aio.UnaryUnaryMultiCallable[
    health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
]:
    """The health service's ``Check`` on ``channel``, as ``HealthStub`` makes it."""
    # types-grpcio-health-checking declares HealthStub without the methods its generated
    # __init__ assigns (Check, List, Watch).
    check: grpc.aio.UnaryUnaryMultiCallable[
        health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
    ] = health_pb2_grpc.HealthStub(channel).Check  # type: ignore[attr-defined]
    return check


@dataclass
class HealthProbe:
    """Health checks on a schedule, each sent on time whether the last was answered or not
    (so a stall of the supervisor shows in every check it delays); ``samples`` holds (sent,
    latency) of each answered one, ``sent`` on :func:`time.monotonic`."""

    interval: float
    samples: list[tuple[float, float]] = field(default_factory=list)
    failures: int = 0

    async def run(self, address: str, stop: asyncio.Event) -> None:
        """On a channel of its own, once a first check was answered, until ``stop``."""
        async with grpc.aio.insecure_channel(address) as channel:
            await health_check(channel)(health_pb2.HealthCheckRequest(), timeout=10)
            await self.run_on(channel, stop)

    async def run_on(self, channel: grpc.aio.Channel, stop: asyncio.Event) -> None:
        """On ``channel``, until ``stop``; the checks in flight then are waited for."""
        check = health_check(channel)
        tasks: set[asyncio.Task[None]] = set()
        next_at = time.monotonic()
        while not stop.is_set():
            task = asyncio.create_task(self._one(check))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            next_at += self.interval
            await asyncio.sleep(max(next_at - time.monotonic(), 0))
        if tasks:
            await asyncio.wait(tasks)

    async def _one(
        self,
        check: grpc.aio.UnaryUnaryMultiCallable[
            health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
        ],
    ) -> None:
        sent = time.monotonic()
        try:
            await check(health_pb2.HealthCheckRequest(), timeout=120)
        except grpc.RpcError:
            self.failures += 1
            return
        self.samples.append((sent, time.monotonic() - sent))
