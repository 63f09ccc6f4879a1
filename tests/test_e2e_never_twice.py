"""Never twice (issue 12, item 7): a frame's processes die with their worker, whatever kills
it, and a worker that starts again removes what its previous run left before it registers; so
a work item the supervisor gives to another host after a worker is lost never runs twice at
once. Real supervisor, real ``latchwork worker`` processes, real frames that fork."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from latchwork.v1 import job_pb2

from .serverproc import ServerProcess
from .waiting import wait_job


def _state(pid: int) -> str:
    """The process's state letter ("" when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _alive(pid: int) -> bool:
    return _state(pid) not in ("", "Z")  # a zombie has died; only its parent has to reap it


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _guardian_of(worker: int) -> int:
    """The worker's frame guardian (0: none, as on the code before issue 12)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == worker and b"frame_guardian" in cmdline:
            return int(entry.name)
    return 0


def _wait_registered(log: Path, process: subprocess.Popen[bytes]) -> None:
    def registered() -> bool:
        assert process.poll() is None, log.read_text()
        return "registered with" in log.read_text()

    _until(registered, 30, "the worker did not register")


def _forking_frame(pids: Path) -> str:
    """A frame that forks a grandchild in its group and one in a session of its own (as a
    renderer may): each writes its pid and keeps beating."""
    beat = "while :; do date +%s%N > {d}/beat-{n}; sleep 0.1; done"
    return (
        f"sh -c 'echo $$ > {pids}/group.pid; {beat.format(d=pids, n='group')}' & "
        f"setsid sh -c 'echo $$ > {pids}/session.pid; {beat.format(d=pids, n='session')}' & "
        f"echo $$ > {pids}/frame.pid; wait"
    )


def _frame_pids(pids: Path) -> list[int]:
    names = ("frame.pid", "group.pid", "session.pid")

    def written() -> bool:
        return all((pids / name).exists() and (pids / name).read_text().strip() for name in names)

    _until(written, 30, "the frame did not start its processes")
    found = [int((pids / name).read_text()) for name in names]
    assert all(_alive(pid) for pid in found)
    return found


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    try:
        yield server, {"XDG_RUNTIME_DIR": str(tmp_path / "run")}
    finally:
        server.stop()


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.terminate()
        worker.wait(20)


def test_a_frame_and_everything_it_forked_die_with_a_killed_worker(
    farm: tuple[ServerProcess, dict[str, str]], tmp_path: Path
) -> None:
    server, env = farm
    (pids_dir := tmp_path / "pids").mkdir()
    worker = server.worker("guarded", 1, tmp_path / "worker.log", env)
    pids: list[int] = []
    try:
        with server.client() as client:
            client.submit([{"name": "forks", "package": {"cmdline": _forking_frame(pids_dir)}}])
        pids = _frame_pids(pids_dir)
        worker.kill()
        worker.wait(10)
        _until(
            lambda: not any(_alive(pid) for pid in pids),
            2.0,
            f"frame processes outlived their worker: {[p for p in pids if _alive(p)]}",
        )
    finally:
        _kill_all(pids)
        _stop(worker)


def test_a_restarted_worker_removes_what_its_previous_run_left_before_it_registers(
    farm: tuple[ServerProcess, dict[str, str]], tmp_path: Path
) -> None:
    server, env = farm
    (pids_dir := tmp_path / "pids").mkdir()
    log = tmp_path / "worker.log"
    worker = server.worker("again", 1, log, env)
    # Not ours, though it looks like a frame: never touched.
    bystander = subprocess.Popen(
        ["sleep", "60"], env={**os.environ, "LATCHWORK_LEASE_ID": "someone-else"}
    )
    pids: list[int] = []
    try:
        _wait_registered(log, worker)
        with server.client() as client:
            client.submit([{"name": "forks", "package": {"cmdline": _forking_frame(pids_dir)}}])
        pids = _frame_pids(pids_dir)
        guardian = _guardian_of(worker.pid)
        # Worker and guardian both killed -9 (an OOM killer, a container stop): the stopped
        # worker cannot notice its guardian's death and start another.
        worker.send_signal(signal.SIGSTOP)
        if guardian:
            os.kill(guardian, signal.SIGKILL)
            _until(lambda: not _alive(guardian), 5, "the guardian did not die")
        worker.kill()
        worker.wait(10)
        time.sleep(0.5)
        assert all(_alive(pid) for pid in pids), "nothing is left to remove: no test"

        log = tmp_path / "worker-again.log"
        worker = server.worker("again", 1, log, env)
        _wait_registered(log, worker)
        assert [pid for pid in pids if _alive(pid)] == []
        assert "killed frames a previous run left running" in log.read_text()
        assert bystander.poll() is None
    finally:
        _kill_all(pids)
        bystander.kill()
        bystander.wait()
        _stop(worker)


# The torture run of the issue: 20 worker kill -9s under load. Each frame logs its own start and
# end, and holds a lock of its work item (an flock, inherited by all it forks) for as long as any
# of its processes lives: a run that starts while an earlier run of its item still lives finds
# the lock taken. A lost worker is declared so after three 1 s heartbeat periods; frames run 2 to
# 6 s, so on the old code a killed worker's frame still runs when its work is given out again.
WORKERS = 3
SLOTS = 8
ITEMS = 100
KILLS = 20
KILL_EVERY_SECONDS = 0.75


def _logging_frame(log: Path, locks: Path) -> str:
    return (
        f"exec 9>>{locks}/$QB_FRAME_NUMBER; "
        "if flock -n 9; then alone=alone; else alone=twice; fi; "
        f'echo "start $QB_FRAME_NUMBER $$ $(date +%s%N) $alone" >> {log}; '
        "sleep $((QB_FRAME_NUMBER % 5 + 2)); "
        f'echo "end $QB_FRAME_NUMBER $$ $(date +%s%N)" >> {log}'
    )


def overlapping_items(lines: list[str]) -> tuple[set[str], int, int]:
    """Items that ran twice at once; how many runs started; how many never ended (killed).

    Twice at once: a run found its item's lock held by an earlier run still alive, or two runs
    of one item have intervals (start to end; a killed run: its start alone) that intersect.
    """
    runs: dict[str, list[tuple[int, int]]] = defaultdict(list)
    starts: dict[str, tuple[str, int]] = {}
    ends: dict[str, int] = {}
    twice: set[str] = set()
    for line in lines:
        match line.split():
            case ["start", item, pid, at, alone]:
                starts[pid] = (item, int(at))
                if alone != "alone":
                    twice.add(item)
            case ["end", _item, pid, at]:
                ends[pid] = int(at)
    for pid, (item, start) in starts.items():
        runs[item].append((start, ends.get(pid, start)))
    for item, spans in runs.items():
        spans.sort()
        latest_end = spans[0][1]
        for start, end in spans[1:]:
            if start <= latest_end:
                twice.add(item)
            latest_end = max(latest_end, end)
    return twice, len(starts), len(starts) - len(ends)


def test_overlapping_items_reads_the_log() -> None:
    log = [
        "start 1 10 100 alone",
        "start 2 11 100 alone",
        "end 1 10 200",
        "start 1 12 150 alone",  # began before run 10 ended
        "start 2 13 300 alone",  # run 11 was killed at some time: the lock says when
        "start 3 14 100 alone",
        "start 3 15 120 twice",
        "start 4 16 100 alone",
        "end 4 16 500",
        "start 4 17 200 alone",  # began inside run 16, which outlasts it
        "end 4 17 250",
        "start 4 18 300 alone",  # and so did this one, after run 17 ended
        "end 4 18 350",
    ]
    assert overlapping_items(log) == ({"1", "3", "4"}, 9, 5)


def test_twenty_worker_kills_under_load_run_no_work_item_twice_at_once(tmp_path: Path) -> None:
    log, locks = tmp_path / "frames.log", tmp_path / "locks"
    locks.mkdir()
    env = {"XDG_RUNTIME_DIR": str(tmp_path / "run")}
    server = ServerProcess(
        tmp_path / "data", slots=0, env={"LATCHWORK_HEARTBEAT_SECONDS": "1"}
    ).start()
    logs = tmp_path / "workers"
    logs.mkdir()
    workers = [
        server.worker(f"torture-{n}", SLOTS, logs / f"{n}.0.log", env) for n in range(WORKERS)
    ]
    started = time.monotonic()
    try:
        with server.client() as client:
            job_id = (
                client.submit(
                    [
                        {
                            "name": "torture",
                            "prototype": "cmdrange",
                            "package": {
                                "cmdline": _logging_frame(log, locks),
                                "range": f"1-{ITEMS}",
                            },
                            "cpus": WORKERS * SLOTS,
                        }
                    ]
                )
                .jobs[0]
                .id
            )
            for kill in range(KILLS):
                time.sleep(KILL_EVERY_SECONDS)
                n = kill % WORKERS
                workers[n].kill()
                workers[n].wait(10)
                workers[n] = server.worker(f"torture-{n}", SLOTS, logs / f"{n}.{kill}.log", env)
            killing = time.monotonic() - started
            job = wait_job(client, job_id, timeout=90)
        twice, runs, killed = overlapping_items(log.read_text().splitlines())
        print(
            f"never twice: {KILLS} worker kill -9s, {ITEMS} items, {runs} runs, {killed} runs "
            f"killed, {len(twice)} items ran twice at once, "
            f"{time.monotonic() - started:.1f} s ({killing:.1f} s killing)"
        )
        assert sorted(twice, key=int) == []
        assert job.status == job_pb2.JOB_STATUS_COMPLETE
        assert killed >= KILLS, "the kills must hit running frames, or this proves nothing"
    finally:
        for worker in workers:
            _stop(worker)
        server.stop()
