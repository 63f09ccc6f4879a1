"""The kernel cage, proven layer by layer with real processes.

A probe (:mod:`.cage_probe`) locks itself down with the worker's own ``lock_down`` and then runs
raw system calls outside RestrictedPython: with the whole cage each must fail; with one layer
alone, that layer's share must fail; with the cage off (the control) the same probes succeed,
so a passing test means the cage stopped them, not the probe. The pool tests need root
(CI runs as root): network namespaces, cgroups and uid switches are root's.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from latchwork.sandbox.python.cage import CAGE_OFF, LAYERS, CageSettings
from latchwork.sandbox.python.cage.cgroups import FleetLimits, create_fleet_cgroup, sweep_stale
from latchwork.sandbox.python.pool import Limits, SandboxPool
from latchwork.server.config import ConfigError, load_settings
from tests.privileges import needs_root

from .calls import USEFUL_CODE, USEFUL_OUTPUT, make_call

ROOT = needs_root("the cage's layers are root's to apply")

PROBE = Path(__file__).with_name("cage_probe.py")
PROBE_ARGV = (sys.executable, "-I", "-B", str(PROBE))
LIMITS = Limits(cpu_seconds=2.0, wall_seconds=10.0)


def only(*layers: str) -> CageSettings:
    return CageSettings(layers=frozenset(layers))


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections (the supervisor, in open mode)."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield server.getsockname()[1]


async def probe(pool: SandboxPool, code: str) -> dict[str, Any]:
    result = await pool.run(make_call(code))
    assert result.error == "", result.error
    answer: dict[str, Any] = json.loads(result.output)
    return answer


async def probes(cage: CageSettings, port: int) -> dict[str, dict[str, Any]]:
    """Every probe once in a two-worker pool under ``cage``; ``kill`` targets the other one."""
    async with SandboxPool(2, LIMITS, cage, worker_argv=PROBE_ARGV) as pool:
        found = {name: await probe(pool, name) for name in ("open", "socket", "fork", "whoami")}
        found["connect"] = await probe(pool, f"connect {port}")
        for pid in pool.pids:
            answer = await probe(pool, f"kill {pid}")
            if answer["pid"] != pid:
                found["kill"] = answer
        if "kill" not in found:  # the same worker answered both: ask until the other does
            for _ in range(20):
                for pid in pool.pids:
                    answer = await probe(pool, f"kill {pid}")
                    if answer["pid"] != pid:
                        found["kill"] = answer
        return found


def failed(answer: dict[str, Any], code: int, step: str = "") -> bool:
    return not answer["ok"] and answer["errno"] == code and (not step or answer["step"] == step)


@ROOT
async def test_with_the_cage_off_every_probe_but_fork_succeeds(listener: int) -> None:
    """The control: what a worker could do before the cage (the issue's findings)."""
    found = await probes(CAGE_OFF, listener)
    assert found["open"]["ok"], found["open"]
    assert found["socket"]["ok"], found["socket"]
    assert found["connect"]["ok"], found["connect"]
    assert found["kill"]["ok"], found["kill"]  # every worker was nobody
    assert failed(found["fork"], errno.EAGAIN)  # RLIMIT_NPROC 0, as before


@ROOT
async def test_under_the_whole_cage_every_probe_fails(listener: int) -> None:
    found = await probes(CageSettings(), listener)
    for name in ("open", "socket", "fork", "kill"):
        assert failed(found[name], errno.EPERM), (name, found[name])
    assert failed(found["connect"], errno.EPERM, "socket"), found["connect"]
    assert found["whoami"]["notes"] == []  # every layer applied
    async with SandboxPool(1, LIMITS, worker_argv=PROBE_ARGV) as pool:
        supervisor = await probe(pool, f"kill {os.getpid()}")  # the supervisor: root
    assert failed(supervisor, errno.EPERM), supervisor


@ROOT
async def test_seccomp_alone_stops_every_probe(listener: int) -> None:
    found = await probes(only("seccomp"), listener)
    for name in ("open", "socket", "fork", "kill"):
        assert failed(found[name], errno.EPERM), (name, found[name])
    assert failed(found["connect"], errno.EPERM, "socket"), found["connect"]


@ROOT
async def test_the_network_namespace_alone_stops_the_connection(listener: int) -> None:
    found = await probes(only("netns"), listener)
    assert found["socket"]["ok"]  # sockets exist, but there is nothing to reach
    assert failed(found["connect"], errno.ENETUNREACH, "connect"), found["connect"]
    assert found["open"]["ok"]  # not its business


@ROOT
async def test_distinct_uids_alone_stop_signals_between_workers(listener: int) -> None:
    found = await probes(only("uids"), listener)
    assert failed(found["kill"], errno.EPERM), found["kill"]
    assert found["whoami"]["uid"] >= CageSettings().uid_base
    assert found["open"]["ok"]  # a world-readable file stays readable: not its business


@ROOT
async def test_ordinary_callbacks_run_under_the_cage() -> None:
    async with SandboxPool(2, LIMITS) as pool:
        for _ in range(3):
            result = await pool.run(make_call(USEFUL_CODE))
            assert result.error == ""
            assert result.output == USEFUL_OUTPUT
        uids = set()
        for pid in pool.pids:
            status = dict(
                line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            )
            assert status["Seccomp"].strip() == "2"  # a filter is loaded
            assert status["NoNewPrivs"].strip() == "1"
            assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
            uids.add(int(status["Uid"].split()[0]))
        assert len(uids) == 2 and min(uids) >= CageSettings().uid_base


@ROOT
async def test_the_fleet_cgroup_holds_the_workers_with_its_limits_and_goes_at_close() -> None:
    pool = SandboxPool(2, LIMITS, CageSettings(fleet_cpus=1.5, fleet_pids=9))
    await pool.start()
    group = pool.fleet.cgroup
    assert group is not None
    try:
        members: set[int] = set()
        for procs in group.procs_files:
            members |= {int(pid) for pid in Path(procs).read_text().split()}
        assert set(pool.pids) <= members
        values = {
            name: (directory / name).read_text().strip()
            for directory in group.directories
            for name in os.listdir(directory)
            if name
            in {"memory.max", "memory.limit_in_bytes", "pids.max", "cpu.max", "cpu.cfs_quota_us"}
        }
        memory = values.get("memory.max") or values["memory.limit_in_bytes"]
        assert int(memory) == 3 * LIMITS.memory_bytes
        assert values["pids.max"] == "9"
        assert values.get("cpu.max", values.get("cpu.cfs_quota_us", "")).split()[0] == "150000"
    finally:
        await pool.close()
    assert not any(directory.exists() for directory in group.directories)


@ROOT
async def test_a_layer_that_cannot_be_applied_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "latchwork.sandbox.python.cage")
    cage = CageSettings(layers=LAYERS, cgroup_root=tmp_path)  # no cgroup hierarchy there
    async with SandboxPool(2, LIMITS, cage) as pool:
        assert pool.fleet.cgroup is None
        assert (await pool.run(make_call(USEFUL_CODE))).output == USEFUL_OUTPUT
    said = [r.getMessage() for r in caplog.records if "no fleet cgroup" in r.getMessage()]
    assert len(said) == 1, said


def fake_cgroup2(root: Path, enabled: str = "") -> Path:
    """A directory laid out like a cgroup2 root (this host's unified hierarchy offers only
    hugetlb, so the v2 driver cannot run for real here: only the files it writes are
    checked; the kernel's side of them is the v1 test's)."""
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma\n")
    (root / "cgroup.subtree_control").write_text(enabled)
    return root


def test_the_v2_driver_enables_the_controllers_and_writes_the_limits(tmp_path: Path) -> None:
    root = fake_cgroup2(tmp_path, "cpu\n")
    limits = FleetLimits(memory_bytes=2**30, cpus=0.5, pids=12)
    group, problem = create_fleet_cgroup(root, "fleet", limits)
    assert problem == "" and group is not None and group.driver == "cgroup2"
    assert (root / "cgroup.subtree_control").read_text() == "+memory +pids"
    fleet = root / "fleet"
    assert group.procs_files == [str(fleet / "cgroup.procs")]
    assert (fleet / "memory.max").read_text() == str(2**30)
    assert (fleet / "pids.max").read_text() == "12"
    assert (fleet / "cpu.max").read_text() == "50000 100000"


def test_the_hybrid_layout_uses_v2_only_when_its_unified_part_has_the_controllers(
    tmp_path: Path,
) -> None:
    unified = tmp_path / "unified"
    unified.mkdir()
    (unified / "cgroup.controllers").write_text("hugetlb\n")  # this host: v1 does the work
    group, problem = create_fleet_cgroup(tmp_path, "fleet", FleetLimits(2**30, 1.0, 8))
    assert group is None and problem.startswith("no fleet cgroup (neither cgroup v2 nor v1")
    fake_cgroup2(unified)
    group, problem = create_fleet_cgroup(tmp_path, "fleet", FleetLimits(2**30, 1.0, 8))
    assert group is not None and group.directories == (unified / "fleet",)


def test_stale_fleet_cgroups_of_dead_supervisors_are_swept(tmp_path: Path) -> None:

    stale = tmp_path / f"latchwork-sandbox-{2**22 + 12345}-abc"  # above pid_max: never alive
    mine = tmp_path / f"latchwork-sandbox-{os.getpid()}-abc"
    other = tmp_path / "someone-else"
    for directory in (stale, mine, other):
        directory.mkdir()
    sweep_stale([tmp_path], "latchwork-sandbox")
    assert not stale.exists() and mine.exists() and other.exists()


def test_the_settings_build_the_cage_and_refuse_a_bad_uid_range() -> None:
    assert load_settings(env={}).sandbox_cage_settings == CageSettings()
    assert load_settings(env={"LATCHWORK_SANDBOX_CAGE": "false"}).sandbox_cage_settings == CAGE_OFF
    tuned = load_settings(env={"LATCHWORK_SANDBOX_FLEET_CPUS": "1.5"}).sandbox_cage_settings
    assert tuned.fleet_cpus == 1.5
    with pytest.raises(ConfigError, match="sandbox_uid_base"):
        load_settings(env={"LATCHWORK_SANDBOX_UID_BASE": "0"})
