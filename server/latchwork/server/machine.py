"""What this machine offers as a host of the farm: cores, memory, GPUs, OS and architecture.

Detected once, when a worker (``latchwork worker``) or the supervisor's own pool starts, and
sent with its registration; each figure can be overridden on the command line (a machine
shared with artists may give the farm fewer cores than it has). Detection never fails: what
cannot be read counts as nothing (0 MB, 0 GPUs), never as a guess.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess

from .core.routing.hosts import Resources

NVIDIA_SMI_SECONDS = 5.0


def detect_cores() -> int:
    """The processors this process may run on (its affinity), else the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def detect_memory_mb(meminfo: str = "/proc/meminfo") -> int:
    """``MemTotal`` in MB (0 when it cannot be read: not Linux)."""
    try:
        with open(meminfo) as lines:
            for line in lines:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return 0


def detect_gpus() -> int:
    """NVIDIA GPUs listed by ``nvidia-smi -L`` (0 without it, or when it fails)."""
    command = shutil.which("nvidia-smi")
    if command is None:
        return 0
    try:
        listed = subprocess.run(
            [command, "-L"], capture_output=True, text=True, timeout=NVIDIA_SMI_SECONDS
        )
    except (OSError, subprocess.SubprocessError):
        return 0
    if listed.returncode != 0:
        return 0
    return sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU "))


def detect_resources(*, cores: int = 0, memory_mb: int = 0, gpus: int | None = None) -> Resources:
    """This machine's resources; a figure given (cores or memory > 0, gpus not None) wins."""
    return Resources(
        cores=cores if cores > 0 else detect_cores(),
        memory_mb=memory_mb if memory_mb > 0 else detect_memory_mb(),
        gpus=gpus if gpus is not None else detect_gpus(),
        os=platform.system().lower(),
        arch=platform.machine().lower(),
    )
