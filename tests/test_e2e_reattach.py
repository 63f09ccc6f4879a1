"""Frames survive a supervisor restart (issue 12, item 6): remote workers keep running their
frames while the supervisor is away, kill -9'd or stopped with SIGTERM, and re-attach their
leases when it is back, so each frame runs exactly once to completion. Real supervisor
processes restarted on one data directory and port, real ``latchwork worker`` processes, frames
that log their own start and end."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

from latchwork.client import Client
from latchwork.v1 import event_pb2, job_pb2

from .serverproc import ServerProcess
from .waiting import events_until, job_final, wait_job

WORKERS = 2
SLOTS = 2
FAST = {"LATCHWORK_HEARTBEAT_SECONDS": "1"}
"""Heartbeats every second: a worker finds a restarted supervisor within about one."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Farm:
    """A head node (``--slots 0``) on a fixed port, restarted at will, and its workers."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.server = self._start()
        self.workers: list[subprocess.Popen[bytes]] = []
        env = {"XDG_RUNTIME_DIR": str(tmp / "run")}
        for n in range(WORKERS):
            self.workers.append(
                self.server.worker(f"remote-{n}", SLOTS, tmp / f"worker-{n}.log", env)
            )

    def _start(self) -> ServerProcess:
        return ServerProcess(
            self.tmp / "data", slots=0, extra=["--listen", f"127.0.0.1:{self.port}"], env=FAST
        ).start()

    def restart(self, sig: int) -> None:
        self.server.stop(sig)
        self.server = self._start()

    def client(self) -> Client:
        return self.server.client()

    def close(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(20)
        self.server.stop()


def _frame(log: Path, crossing: int) -> str:
    """A frame that logs its start, runs until the test has restarted the supervisor
    ``crossing`` more times (the count in ``restarts`` beside the log), then logs its end.

    Its length is counted in restarts, not seconds, so every restart finds frames running on
    a slow machine as on a fast one; once the restarts are over, ``released`` lets every frame
    end, the ones still running and the ones yet to start."""
    count = log.parent / "restarts"
    released = log.parent / "released"
    return (
        f'echo "start $QB_FRAME_NUMBER $(date +%s%N)" >> {log}; '
        f"until=$(( $(cat {count}) + {crossing} )); "
        f'while [ ! -e {released} ] && [ "$(cat {count})" -lt "$until" ]; do sleep 0.05; done; '
        f'echo "end $QB_FRAME_NUMBER $(date +%s%N)" >> {log}; echo "frame $QB_FRAME_NUMBER done"'
    )


def _count_restarts(log: Path, count: int) -> None:
    """Tell the frames how many restarts are done; written whole, so a frame never reads half."""
    partial = log.parent / "restarts.partial"
    partial.write_text(f"{count}\n")
    partial.replace(log.parent / "restarts")


def _lines(log: Path) -> list[tuple[str, str, int]]:
    """(start|end, item, ns) per line of the frames' log."""
    if not log.exists():
        return []
    found = []
    for line in log.read_text().splitlines():
        kind, item, at = line.split()
        found.append((kind, item, int(at)))
    return found


def _running_now(log: Path) -> int:
    lines = _lines(log)
    return sum(kind == "start" for kind, _, _ in lines) - sum(kind == "end" for kind, _, _ in lines)


def _until_running(log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while _running_now(log) == 0:
        assert time.monotonic() < deadline, "no frame is running"
        time.sleep(0.05)


def _check_once_each(
    farm: Farm, log: Path, job_id: int, items: int, kills: list[int]
) -> tuple[int, int, int]:
    """Every item started once and ended once, completed, with its output, and no running
    frame was requeued. Returns how many restarts hit running frames, the most frames one
    crossed, and how many leases that never reached their worker were requeued."""
    with farm.client() as client:
        job = wait_job(client, job_id, timeout=90)
        lines = _lines(log)
        starts = Counter(item for kind, item, _ in lines if kind == "start")
        ends = Counter(item for kind, item, _ in lines if kind == "end")
        twice = sorted((item for item, count in starts.items() if count > 1), key=int)
        assert twice == [], f"items started more than once: {twice}"
        assert len(starts) == items and set(ends) == set(starts), (starts, ends)
        assert all(count == 1 for count in ends.values())
        assert job.status == job_pb2.JOB_STATUS_COMPLETE
        events = events_until(client, job_final(job_id), job_ids=[job_id])
        # A lease granted in the instant before a kill, whose answer never reached its worker,
        # is requeued when the grace ends: its frame never started (the starts above say so).
        retried = [e.message for e in events if e.name == event_pb2.EVENT_NAME_RETRIED]
        assert all("did not re-attach" in message for message in retried), retried
        for work in job.work:
            assert work.retries == 0
            assert f"frame {work.name} done" in client.work_output(job_id, work.name).data.decode()
    spans = {
        item: (at, next(a for k, i, a in lines if k == "end" and i == item))
        for kind, item, at in lines
        if kind == "start"
    }
    crossed = [sum(start < kill < end for start, end in spans.values()) for kill in kills]
    return sum(count > 0 for count in crossed), max(crossed, default=0), len(retried)


def _submit(farm: Farm, log: Path, items: int, crossing: int) -> int:
    _count_restarts(log, 0)
    with farm.client() as client:
        return int(
            client.submit(
                [
                    {
                        "name": "survivors",
                        "prototype": "cmdrange",
                        "package": {"cmdline": _frame(log, crossing), "range": f"1-{items}"},
                        "cpus": WORKERS * SLOTS,
                    }
                ]
            )
            .jobs[0]
            .id
        )


def _restarts(farm: Farm, log: Path, count: int, sig: int, pauses: list[float]) -> list[int]:
    """Restart the supervisor ``count`` times, each while frames run; the times (ns). Then let
    every frame end."""
    kills = []
    for done, pause in enumerate(pauses[:count], start=1):
        _until_running(log)
        kills.append(time.time_ns())
        farm.restart(sig)
        _count_restarts(log, done)
        time.sleep(pause)
    (log.parent / "released").touch()
    return kills


# 20 kill -9s, each within 0.8 s of the supervisor being back: a frame crosses three of them
# (its length is counted in restarts), and each kill finds frames running (the test waits for
# one), others between their end and their report or on a worker registering again. 4 slots
# and frames of 3 restarts each: 28 items keep frames coming past the 20th kill.
KILLS = 20
CROSSING = 3
ITEMS = 28


def test_twenty_supervisor_kill_9s_run_each_remote_frame_exactly_once(tmp_path: Path) -> None:
    log = tmp_path / "frames.log"
    farm = Farm(tmp_path)
    started = time.monotonic()
    try:
        job_id = _submit(farm, log, ITEMS, CROSSING)
        rng = random.Random(12)
        pauses = [rng.uniform(0.0, 0.8) for _ in range(KILLS)]
        kills = _restarts(farm, log, KILLS, signal.SIGKILL, pauses)
        killing = time.monotonic() - started
        hit, most, unsent = _check_once_each(farm, log, job_id, ITEMS, kills)
        print(
            f"reattach: {KILLS} supervisor kill -9s ({hit} while frames ran, up to {most} "
            f"frames across one), {ITEMS} remote frames of {CROSSING} restarts, each run once; "
            f"{unsent} leases requeued unsent; {time.monotonic() - started:.1f} s "
            f"({killing:.1f} s killing)"
        )
        assert hit == KILLS, "every kill must hit running frames, or this proves nothing"
    finally:
        farm.close()


def test_sigterm_restarts_leave_remote_frames_running(tmp_path: Path) -> None:
    log = tmp_path / "frames.log"
    farm = Farm(tmp_path)
    try:
        job_id = _submit(farm, log, 4, 3)
        kills = _restarts(farm, log, 3, signal.SIGTERM, [0.5, 0.2, 0.8])
        hit, _, _ = _check_once_each(farm, log, job_id, 4, kills)
        assert hit == 3
    finally:
        farm.close()
