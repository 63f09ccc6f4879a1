"""Shared pieces of the benchmarks: a real ``latchwork serve`` process, timing helpers.

The benchmarks run the supervisor exactly as an operator would (``python -m
latchwork.client.cli serve``) on 127.0.0.1 with its own fresh data directory, and talk to it
over real gRPC. Nothing here asserts on timing: the scripts print what they measure.
"""

from __future__ import annotations

import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

_READY = re.compile(r"serving on (\S+):(\d+)")


class Served:
    """A server process that prints ``serving on HOST:PORT`` once it listens."""

    def __init__(self, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.log_path = log_path
        self.env = env or {}
        self.address = ""
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
                raise RuntimeError(f"{self.argv[1:4]} exited early; see {self.log_path}")
            match = _READY.search(line)
            if match:
                self.address = f"{match.group(1)}:{match.group(2)}"
                return self
        self.stop()
        raise RuntimeError(f"{self.argv[1:4]} did not start in time; see {self.log_path}")

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


def spread(values: Sequence[float]) -> str:
    """``min..max`` of a series, for a reader to judge the noise."""
    return f"{min(values):.3f}..{max(values):.3f}"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{len(os.sched_getaffinity(0))} usable cores of {os.cpu_count()} ({cpu}), Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.release()}"
    )
