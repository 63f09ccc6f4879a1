"""The kernel cage around sandbox workers: what the kernel enforces beyond RestrictedPython.

RestrictedPython decides which Python a callback may write; the cage decides what the worker
process may do if that ever fails. Its layers, applied by
:func:`latchwork.sandbox.python.worker.lock_down` before a worker reads its first request: a
private network namespace (:mod:`.network`), the fleet's cgroup (:mod:`.cgroups`), a distinct
unprivileged uid per worker (:mod:`.uids`), the worker's rlimits, and a seccomp allow-list
(:mod:`.seccomp_filter`). The pool's side is :class:`.fleet.FleetCage`. A layer that cannot be
applied is reported (the worker's ``notes``, logged once by the pool), never skipped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

LAYERS = frozenset({"netns", "cgroup", "uids", "seccomp"})
DEFAULT_UID_BASE = 0x70000000
"""1879048192: above systemd's container range, below its foreign range; no account uses it."""
DEFAULT_UID_COUNT = 1024


@dataclass(frozen=True)
class CageSettings:
    """Which layers the pool applies, and with what.

    ``layers`` empty (``sandbox_cage = false``) is for benchmarks and diagnosis only.
    ``fleet_memory_bytes``/``fleet_cpus``/``fleet_pids`` 0: derived from the pool (see
    :func:`.fleet.fleet_limits`).
    """

    layers: frozenset[str] = LAYERS
    uid_base: int = DEFAULT_UID_BASE
    uid_count: int = DEFAULT_UID_COUNT
    fleet_memory_bytes: int = 0
    fleet_cpus: float = 0.0
    fleet_pids: int = 0
    cgroup_root: Path = field(default=Path("/sys/fs/cgroup"))

    def __post_init__(self) -> None:
        unknown = self.layers - LAYERS
        if unknown:
            raise ValueError(f"layers: unknown {sorted(unknown)}; known {sorted(LAYERS)}")
        if not 1 <= self.uid_base <= 2**32 - 2 - self.uid_count or self.uid_count < 1:
            raise ValueError("uid_base/uid_count: a range of at least one uid below 2**32 - 1")
        if self.fleet_memory_bytes < 0 or self.fleet_cpus < 0 or self.fleet_pids < 0:
            raise ValueError("fleet_memory_bytes, fleet_cpus and fleet_pids must be >= 0")


CAGE_OFF = CageSettings(layers=frozenset())
