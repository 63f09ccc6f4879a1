"""Running work items as real processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from latchwork.server.core.command import ProcessSpec
from latchwork.server.core.transitions import WorkOutcome
from latchwork.server.runner import ManagedProcess, kill_orphans


def state_of(pid: int) -> str:
    """The process's state letter from /proc ("" when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return ""


def group_states(pgid: int) -> dict[int, str]:
    """The state of every process in a process group."""
    states: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                states[int(entry.name)] = fields[0]
    return states


def debug_status(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        return str(error)
    keep = ("Name", "State", "PPid", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "NSpgid")
    return "; ".join(line for line in lines if line.startswith(keep))


def suspended(pgid: int) -> bool:
    """Every process of the group is stopped.

    dash runs simple commands with vfork: a SIGSTOP that lands between vfork and exec stops
    the child, and the shell then waits for it in uninterruptible sleep ("D") with the stop
    still pending. The group is suspended all the same.
    """
    states = set(group_states(pgid).values())
    return "T" in states and states <= {"T", "D"}


def alive(pid: int) -> bool:
    return state_of(pid) not in ("", "Z", "X")


async def until(
    condition: Callable[[], object],
    timeout: float = 5.0,
    explain: Callable[[], object] = lambda: "",
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in time {explain()}")
        await asyncio.sleep(0.01)


async def until_suspended(pgid: int) -> None:
    await until(
        lambda: suspended(pgid), explain=lambda: [debug_status(p) for p in group_states(pgid)]
    )


async def read_pid(path: Path) -> int:
    await until(lambda: path.exists() and path.read_text().strip())
    return int(path.read_text())


class Run:
    """Starts processes tagged with one lease id, so that cleanup finds exactly them."""

    def __init__(self, tmp_path: Path) -> None:
        self.out = tmp_path / "out.txt"
        self.err = tmp_path / "err.txt"
        self.lease_id = f"unit-test-{uuid.uuid4().hex}"

    def start(
        self,
        cmdline: str,
        env: dict[str, str] | None = None,
        cwd: str = "",
        kill_grace: float = 0.2,
    ) -> ManagedProcess:
        spec = ProcessSpec(cmdline, {**(env or {}), "LATCHWORK_LEASE_ID": self.lease_id}, cwd)
        return ManagedProcess.start(spec, self.out, self.err, kill_grace=kill_grace)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    runner = Run(tmp_path)
    yield runner
    kill_orphans([runner.lease_id])  # never leave anything behind


async def test_output_goes_to_files_and_the_exit_code_is_reported(run: Run) -> None:
    process = run.start("echo out $GREETING; echo err >&2; exit 3", env={"GREETING": "hi"})
    result = await process.wait()
    assert (result.outcome, result.exit_code, result.message) == (
        WorkOutcome.EXITED,
        3,
        "exit code 3",
    )
    assert run.out.read_text() == "out hi\n"
    assert run.err.read_text() == "err\n"


async def test_success_and_working_directory(run: Run, tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    result = await run.start("pwd", cwd=str(tmp_path / "here")).wait()
    assert (result.outcome, result.exit_code) == (WorkOutcome.EXITED, 0)
    assert run.out.read_text().strip() == str(tmp_path / "here")


async def test_process_runs_in_its_own_process_group(run: Run) -> None:
    process = run.start("sleep 5")
    try:
        assert os.getpgid(process.pid) == process.pid
        assert os.getpgid(process.pid) != os.getpgrp()
    finally:
        process.kill()
        await process.wait()


async def test_death_by_signal_is_an_exit_with_a_negative_code(run: Run) -> None:
    result = await run.start("kill -9 $$").wait()
    assert (result.outcome, result.exit_code) == (WorkOutcome.EXITED, -9)
    assert result.message == "killed by signal 9"


async def test_timeout(run: Run) -> None:
    started = time.monotonic()
    result = await run.start("sleep 60").wait(timeout=0.2)
    assert result.outcome is WorkOutcome.TIMED_OUT
    assert result.message == "timed out after 0.2 s"
    assert time.monotonic() - started < 30  # ended by the timeout, not by the sleep


async def test_timeout_of_a_process_that_ignores_sigterm(run: Run) -> None:
    started = time.monotonic()
    result = await run.start("trap '' TERM; sleep 60; sleep 60").wait(timeout=0.1)
    assert result.outcome is WorkOutcome.TIMED_OUT
    assert result.exit_code == -signal.SIGKILL
    assert time.monotonic() - started < 30  # killed, not waited for


async def test_kill_takes_the_whole_process_group(run: Run, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    process = run.start(f"sleep 30 & echo $! > {pid_file}; wait")
    child = await read_pid(pid_file)
    assert alive(child)
    process.kill()
    result = await asyncio.wait_for(process.wait(), 5)
    assert result.outcome is WorkOutcome.KILLED
    assert result.message == "killed"
    await until(lambda: not alive(child))


async def test_kill_escalates_to_sigkill(run: Run, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    process = run.start(f"trap '' TERM; sh -c 'sleep 30' & echo $! > {pid_file}; wait; wait")
    child = await read_pid(pid_file)
    process.kill()
    result = await asyncio.wait_for(process.wait(), 5)
    assert result.outcome is WorkOutcome.KILLED
    await until(lambda: not alive(child))


async def test_a_kill_stays_a_kill_when_the_time_limit_passes_during_the_grace(
    run: Run,
) -> None:
    process = run.start("trap '' TERM; sleep 10; sleep 10", kill_grace=0.5)
    waiting = asyncio.ensure_future(process.wait(timeout=0.2))
    await asyncio.sleep(0.05)
    process.kill()
    result = await asyncio.wait_for(waiting, 5)
    assert result.outcome is WorkOutcome.KILLED


async def test_leftovers_of_a_finished_leader_are_killed(run: Run, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    result = await run.start(f"sleep 30 & echo $! > {pid_file}").wait()
    assert result.outcome is WorkOutcome.EXITED
    child = int(pid_file.read_text())
    await until(lambda: not alive(child))


async def test_suspend_and_resume(run: Run, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    process = run.start(f"i=0; while true; do i=$((i+1)); echo $i > {counter}; sleep 0.01; done")
    await until(lambda: counter.exists() and counter.read_text().strip() not in ("", "1"))
    process.suspend()
    await until_suspended(process.pid)
    frozen = counter.read_text()
    await asyncio.sleep(0.15)
    assert counter.read_text() == frozen
    process.resume()
    await until(lambda: counter.read_text() not in (frozen, ""))
    assert not suspended(process.pid)
    process.kill()
    assert (await process.wait()).outcome is WorkOutcome.KILLED


async def test_a_suspended_process_can_be_killed(run: Run) -> None:
    process = run.start("sleep 30")
    process.suspend()
    await until_suspended(process.pid)
    process.kill()
    result = await asyncio.wait_for(process.wait(), 5)
    assert result.outcome is WorkOutcome.KILLED


async def test_signals_after_exit_are_harmless(run: Run) -> None:
    process = run.start("true")
    await process.wait()
    process.suspend()
    process.resume()


def spawn(lease_id: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A leftover run: a shell carrying the lease id, and in its group a child that does not."""
    pid_file = tmp_path / f"{lease_id}.pid"
    popen = subprocess.Popen(
        ["/bin/sh", "-c", f"env -u LATCHWORK_LEASE_ID sleep 30 & echo $! > {pid_file}; wait"],
        env={**os.environ, "LATCHWORK_LEASE_ID": lease_id},
        start_new_session=True,
    )
    deadline = time.monotonic() + 5
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    child = int(pid_file.read_text())
    while Path(f"/proc/{child}/comm").read_text().strip() != "sleep":  # env has exec'd
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return popen, child


async def test_kill_orphans_kills_only_the_groups_of_the_given_leases(tmp_path: Path) -> None:
    stale, keep = uuid.uuid4().hex, uuid.uuid4().hex
    victim, victim_child = spawn(stale, tmp_path)
    other, other_child = spawn(keep, tmp_path)
    try:
        with open(f"/proc/{victim_child}/environ", "rb") as handle:
            assert stale.encode() not in handle.read()
        killed = kill_orphans([stale, uuid.uuid4().hex])
        assert killed == [victim.pid]
        # the child had no lease id of its own: only killing the group reaches it
        assert victim.wait(timeout=5) == -signal.SIGKILL
        await until(lambda: not alive(victim_child))
        assert other.poll() is None
        assert alive(other_child)
    finally:
        for popen in (victim, other):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()


def test_kill_orphans_without_leases_does_nothing() -> None:
    assert kill_orphans([]) == []
