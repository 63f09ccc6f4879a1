"""One cgroup for the whole sandbox fleet: memory, CPU and process limits shared by all workers.

Per-worker rlimits bound one worker; the fleet cgroup bounds them together, so N workers
cannot take N times the memory or every CPU of the host. The pool creates it at start, each
worker joins it while still root (by writing its pid to the ``cgroup.procs`` files), and the
pool removes it at close.

Drivers, tried in order (:data:`DRIVERS`): cgroup v2 (a unified hierarchy offering the
``memory``, ``pids`` and ``cpu`` controllers: pure v2 at the root, or the hybrid layout's
``unified/``), then cgroup v1 (one hierarchy per controller: ``memory/``, ``pids/``, ``cpu/``).
When neither is writable there is no fleet cgroup, and the pool says so once in the log.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class FleetLimits:
    memory_bytes: int
    cpus: float
    pids: int


@dataclass(frozen=True)
class FleetCgroup:
    """A created fleet cgroup: its directories (one in v2, one per controller in v1)."""

    driver: str
    directories: tuple[Path, ...]

    @property
    def procs_files(self) -> list[str]:
        return [str(directory / "cgroup.procs") for directory in self.directories]

    def remove(self, attempts: int = 50) -> None:
        """Remove the directories (the pool has reaped every worker; retry while the kernel
        still counts exiting ones)."""
        for directory in self.directories:
            for _ in range(attempts):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


class CgroupDriver(Protocol):
    name: str

    def usable(self, root: Path) -> bool: ...

    def parents(self, root: Path) -> list[Path]: ...

    def create(self, root: Path, name: str, limits: FleetLimits) -> FleetCgroup: ...


def _write(path: Path, value: str) -> None:
    path.write_text(value)


class CgroupV2:
    """The unified hierarchy: one directory, ``memory.max``, ``pids.max``, ``cpu.max``."""

    name = "cgroup2"

    def unified(self, root: Path) -> Path | None:
        for candidate in (root, root / "unified"):
            controllers = candidate / "cgroup.controllers"
            if controllers.is_file():
                offered = controllers.read_text().split()
                if all(c in offered for c in CONTROLLERS):
                    return candidate
        return None

    def usable(self, root: Path) -> bool:
        unified = self.unified(root)
        return unified is not None and os.access(unified, os.W_OK)

    def parents(self, root: Path) -> list[Path]:
        unified = self.unified(root)
        return [] if unified is None else [unified]

    def create(self, root: Path, name: str, limits: FleetLimits) -> FleetCgroup:
        unified = self.unified(root)
        assert unified is not None
        subtree = unified / "cgroup.subtree_control"
        enabled = subtree.read_text().split() if subtree.exists() else []
        missing = [c for c in CONTROLLERS if c not in enabled]
        if missing:
            _write(subtree, " ".join(f"+{c}" for c in missing))
        directory = unified / name
        directory.mkdir()
        group = FleetCgroup(self.name, (directory,))
        try:
            _write(directory / "memory.max", str(limits.memory_bytes))
            _write(directory / "pids.max", str(limits.pids))
            quota = max(1000, round(limits.cpus * CPU_PERIOD_US))
            _write(directory / "cpu.max", f"{quota} {CPU_PERIOD_US}")
        except OSError:
            group.remove(attempts=1)
            raise
        return group


class CgroupV1:
    """One hierarchy per controller: ``memory.limit_in_bytes``, ``pids.max``,
    ``cpu.cfs_quota_us``."""

    name = "cgroup1"

    def usable(self, root: Path) -> bool:
        return all(
            (root / c / "cgroup.procs").is_file() and os.access(root / c, os.W_OK)
            for c in CONTROLLERS
        )

    def parents(self, root: Path) -> list[Path]:
        return [root / c for c in CONTROLLERS]

    def create(self, root: Path, name: str, limits: FleetLimits) -> FleetCgroup:
        directories = tuple(root / c / name for c in CONTROLLERS)
        group = FleetCgroup(self.name, ())
        try:
            for directory in directories:
                directory.mkdir()
                group = FleetCgroup(self.name, (*group.directories, directory))
            memory, pids, cpu = directories
            _write(memory / "memory.limit_in_bytes", str(limits.memory_bytes))
            _write(pids / "pids.max", str(limits.pids))
            _write(cpu / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(cpu / "cpu.cfs_quota_us", str(max(1000, round(limits.cpus * CPU_PERIOD_US))))
        except OSError:
            group.remove(attempts=1)
            raise
        return group


DRIVERS: tuple[CgroupDriver, ...] = (CgroupV2(), CgroupV1())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(parents: list[Path], prefix: str) -> None:
    """Remove the empty fleet cgroups (``PREFIX-PID-...``) of supervisors that died without
    closing their pool (SIGKILL); a non-empty one stays (rmdir refuses it)."""
    for parent in parents:
        with contextlib.suppress(OSError):
            for child in parent.iterdir():
                owner = child.name.removeprefix(prefix + "-").split("-")[0]
                mine = child.name.startswith(prefix + "-") and owner.isdigit()
                if mine and not _alive(int(owner)):
                    with contextlib.suppress(OSError):
                        child.rmdir()


def create_fleet_cgroup(
    root: Path, name: str, limits: FleetLimits, *, stale_prefix: str = ""
) -> tuple[FleetCgroup | None, str]:
    """The fleet cgroup from the first usable driver, or ``(None, why not)``; first removes
    stale ones named ``stale_prefix-PID-...`` (see :func:`sweep_stale`)."""
    problems = []
    for driver in DRIVERS:
        if not driver.usable(root):
            continue
        if stale_prefix:
            sweep_stale(driver.parents(root), stale_prefix)
        try:
            return driver.create(root, name, limits), ""
        except OSError as error:
            problems.append(f"{driver.name}: {error}")
    if not problems:
        problems.append(f"neither cgroup v2 nor v1 offers {', '.join(CONTROLLERS)} writably")
    return None, "no fleet cgroup (" + "; ".join(problems) + ")"


def join(procs_files: list[str]) -> str:
    """Move this process into the fleet cgroup (while root); "" or why not."""
    for procs in procs_files:
        try:
            with open(procs, "w") as file:
                file.write(str(os.getpid()))
        except OSError as error:
            return f"not in the fleet cgroup ({procs}: {error})"
    return ""


def read_limit(path: Path) -> str:
    """A control file's value (tests, diagnostics)."""
    with contextlib.suppress(OSError):
        return path.read_text().strip()
    return ""
