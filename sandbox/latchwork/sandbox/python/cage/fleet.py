"""The pool's side of the cage: the fleet cgroup and the uid range, for one pool's lifetime.

:class:`FleetCage` is created by :class:`~latchwork.sandbox.python.pool.SandboxPool`; it makes
the fleet cgroup at start, gives each starting worker its cage settings (layers, a uid of its
own, the cgroup to join), takes the uid back when the worker is reaped, removes the cgroup at
close, and logs each layer that could not be applied once, not once per worker.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from . import CageSettings
from .cgroups import FleetCgroup, FleetLimits, create_fleet_cgroup
from .uids import UidRange

log = logging.getLogger("latchwork.sandbox.python.cage")
CGROUP_PREFIX = "latchwork-sandbox"


def fleet_limits(cage: CageSettings, workers: int, memory_bytes: int) -> FleetLimits:
    """The fleet's limits: configured, or derived from the pool (0 in the settings).

    Memory: every worker at its RLIMIT_AS plus one being replaced. CPU: half the host, at
    least one CPU (callbacks must not starve the supervisor). Pids: twice the workers (old
    ones being reaped while their replacements start) plus slack; workers cannot fork.
    """
    return FleetLimits(
        memory_bytes=cage.fleet_memory_bytes or (workers + 1) * memory_bytes,
        cpus=cage.fleet_cpus or max(1.0, (os.cpu_count() or 1) / 2),
        pids=cage.fleet_pids or 2 * workers + 4,
    )


class FleetCage:
    def __init__(self, cage: CageSettings, workers: int, memory_bytes: int) -> None:
        self.cage = cage
        self.limits = fleet_limits(cage, workers, memory_bytes)
        self.cgroup: FleetCgroup | None = None
        self._uids: UidRange | None = None
        self._said: set[str] = set()
        if "uids" in cage.layers:
            self._uids = UidRange(cage.uid_base, cage.uid_count)
            if self._uids.taken_by_accounts:
                self.say(
                    f"sandbox uids {self._uids.taken_by_accounts[:5]} belong to accounts: "
                    "skipped (choose a range no account uses)"
                )

    def start(self) -> None:
        if "cgroup" not in self.cage.layers or os.geteuid() != 0:
            if "cgroup" in self.cage.layers:
                self.say("no fleet cgroup (not root)")
            return
        name = f"{CGROUP_PREFIX}-{os.getpid()}-{id(self):x}"
        self.cgroup, problem = create_fleet_cgroup(
            self.cage.cgroup_root, name, self.limits, stale_prefix=CGROUP_PREFIX
        )
        if problem:
            self.say(problem)

    def worker_settings(self) -> dict[str, Any]:
        """A starting worker's ``cage`` settings; its uid is taken until :meth:`release`."""
        uid = self._uids.take() if self._uids is not None else None
        return {
            "layers": sorted(self.cage.layers),
            "uid": uid,
            "cgroup_procs": self.cgroup.procs_files if self.cgroup is not None else [],
        }

    def release(self, settings: dict[str, Any]) -> None:
        uid = settings.get("uid")
        if self._uids is not None and isinstance(uid, int):
            self._uids.give_back(uid)

    def say(self, note: str) -> None:
        """Log a layer that could not be applied, once per pool."""
        if note not in self._said:
            self._said.add(note)
            log.warning("sandbox cage: %s", note[:300])

    def close(self) -> None:
        """Remove the fleet cgroup (every worker reaped before)."""
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
