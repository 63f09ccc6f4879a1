"""The frame guardian and the record of running frames, with real processes (issue 12, item 7).

What a worker's death looks like to the guardian is shown by ending its stdin (the worker closes
its end, as the kernel does when it dies) or, for the second line, by killing a real parent
while another process still holds the pipe's write end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from latchwork.worker.frame_guardian import (
    FrameGuard,
    RunningFrame,
    clear_leftovers,
    kill_frames,
    read_record,
    record_path_for,
    start_ticks,
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


class Frames:
    """Frame-like process groups, each a shell with a child and a grandchild that left the
    group with setsid, all carrying the lease id; killed at the end of the test whatever
    happened."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.popens: list[subprocess.Popen[bytes]] = []
        self.pids: list[int] = []

    def start(self, lease_id: str = "") -> tuple[str, subprocess.Popen[bytes], list[int]]:
        lease_id = lease_id or uuid.uuid4().hex
        pid_file = self.tmp_path / f"{lease_id}.pids"
        popen = subprocess.Popen(
            [
                "/bin/sh",
                "-c",
                f"sleep 60 & echo $! >> {pid_file}; "
                f"setsid sh -c 'echo $$ >> {pid_file}; exec sleep 60' & wait",
            ],
            env={**os.environ, "LATCHWORK_LEASE_ID": lease_id},
            start_new_session=True,
        )
        self.popens.append(popen)
        _until(lambda: pid_file.exists() and len(pid_file.read_text().split()) == 2)
        pids = [popen.pid, *map(int, pid_file.read_text().split())]
        self.pids += pids
        return lease_id, popen, pids

    def close(self) -> None:
        for pid in self.pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for popen in self.popens:
            popen.wait()


@pytest.fixture
def frames(tmp_path: Path) -> Iterator[Frames]:
    made = Frames(tmp_path)
    yield made
    made.close()


def _gone(pids: list[int]) -> bool:
    return not any(_alive(pid) for pid in pids)


def test_kill_frames_kills_a_recorded_group_and_what_left_it(frames: Frames) -> None:
    lease, popen, pids = frames.start()
    _, _, others = frames.start()
    frame = RunningFrame(lease, popen.pid, start_ticks(popen.pid) or 0)
    killed = kill_frames([frame])
    assert popen.pid in killed
    assert popen.wait(5) == -signal.SIGKILL
    _until(lambda: _gone(pids))
    assert all(_alive(pid) for pid in others)


def test_a_group_whose_leader_started_at_another_time_is_not_killed(frames: Frames) -> None:
    """A reused pid: same number, another process (so another start time) and no lease id of
    ours. It is left alone."""
    _, popen, pids = frames.start()
    stale = RunningFrame(uuid.uuid4().hex, popen.pid, (start_ticks(popen.pid) or 0) - 1)
    assert kill_frames([stale]) == []
    time.sleep(0.1)
    assert all(_alive(pid) for pid in pids)


def test_a_frame_known_only_by_its_lease_id_is_found_by_it(frames: Frames) -> None:
    """Killed before its group was recorded: the lease id in its environment marks it."""
    lease, _, pids = frames.start()
    kill_frames([RunningFrame(lease)])
    _until(lambda: _gone(pids))


def test_the_record_is_cleared_by_the_next_run(frames: Frames, tmp_path: Path) -> None:
    record = record_path_for(tmp_path / "worker-abc.lock")
    assert record.name == "worker-abc.frames"
    guard = FrameGuard(record, guarded=False)
    lease, popen, pids = frames.start()
    guard.starting(lease)
    guard.started(lease, popen.pid)
    ended, ended_popen, ended_pids = frames.start()
    guard.starting(ended)
    guard.started(ended, ended_popen.pid)
    guard.ended(ended)
    assert read_record(record) == [RunningFrame(lease, popen.pid, start_ticks(popen.pid) or 0)]
    assert clear_leftovers(record)
    _until(lambda: _gone(pids))
    assert not record.exists()
    assert all(_alive(pid) for pid in ended_pids)


@pytest.mark.parametrize("text", ["", "{", "a b\n", "a b c\n", "a 1 2 3\n", "\xff 1\n"])
def test_an_unreadable_record_names_nothing(tmp_path: Path, text: str) -> None:
    (record := tmp_path / "worker.frames").write_text(text)
    assert read_record(record) == []
    assert read_record(tmp_path / "missing.frames") == []


def test_the_record_stays_small_and_names_the_running_frames(tmp_path: Path) -> None:
    record = tmp_path / "worker.frames"
    guard = FrameGuard(record, guarded=False)
    pid, ticks = os.getpid(), start_ticks(os.getpid()) or 0
    for n in range(2000):
        guard.starting(f"lease{n}")
        guard.started(f"lease{n}", pid)
        if n % 100:
            guard.ended(f"lease{n}")
    running = [RunningFrame(f"lease{n}", pid, ticks) for n in range(0, 2000, 100)]
    assert read_record(record) == running
    assert len(record.read_bytes().splitlines()) < 400
    guard.close()  # unguarded: nothing was killed, so the record stays for the next run
    assert read_record(record) == running


def test_the_guardian_kills_what_is_still_running_when_the_worker_closes_its_pipe(
    frames: Frames,
) -> None:
    guard = FrameGuard(None)
    try:
        running, popen, pids = frames.start()
        guard.starting(running)
        guard.started(running, popen.pid)
        finished, finished_popen, finished_pids = frames.start()
        guard.starting(finished)
        guard.started(finished, finished_popen.pid)
        guard.ended(finished)
        # A signal to the whole group or cgroup of the worker leaves the guardian standing.
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
            os.kill(guard.guardian_pid, signum)
        time.sleep(0.2)
        assert _alive(guard.guardian_pid)
        assert all(_alive(pid) for pid in pids)
    finally:
        guard.close()
    _until(lambda: _gone(pids))
    assert all(_alive(pid) for pid in finished_pids)


def test_a_guardian_that_died_is_replaced_and_told_every_running_frame(frames: Frames) -> None:
    guard = FrameGuard(None)
    try:
        first, first_popen, first_pids = frames.start()
        guard.starting(first)
        guard.started(first, first_popen.pid)
        old = guard.guardian_pid
        os.kill(old, signal.SIGKILL)
        _until(lambda: not _alive(old))
        second, second_popen, second_pids = frames.start()
        guard.starting(second)
        guard.started(second, second_popen.pid)
        assert guard.guardian_pid not in (0, old)
    finally:
        guard.close()
    _until(lambda: _gone(first_pids + second_pids))


_WORKER = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from latchwork.worker.frame_guardian import FrameGuard

    guard = FrameGuard(None)
    lease = sys.argv[1]
    frame = subprocess.Popen(
        ["sleep", "60"], start_new_session=True, env={**os.environ, "LATCHWORK_LEASE_ID": lease}
    )
    guard.starting(lease)
    guard.started(lease, frame.pid)
    # A process that holds the write end of the guardian's pipe: no EOF when this one dies.
    leak = subprocess.Popen(["sleep", "60"], pass_fds=[guard._guardian.stdin.fileno()])
    print(frame.pid, leak.pid, guard.guardian_pid, flush=True)
    time.sleep(60)
    """
)


def test_the_guardian_learns_of_its_worker_death_without_an_eof() -> None:
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, uuid.uuid4().hex], stdout=subprocess.PIPE, text=True
    )
    assert worker.stdout is not None
    frame, leak, guardian = map(int, worker.stdout.readline().split())
    try:
        assert _alive(frame)
        worker.kill()
        worker.wait(5)
        _until(lambda: not _alive(frame), 2.0)
        _until(lambda: not _alive(guardian), 2.0)
        assert _alive(leak)
    finally:
        for pid in (frame, leak, guardian):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
