"""A full disk under a running supervisor: requests are refused with a typed status, the end of
every run (local pool and remote worker) is kept and stored once space returns, and nothing
is left running. The data directory is on a small tmpfs the test mounts (root only; CI runs
as root)."""

from __future__ import annotations

import contextlib
import errno
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import psutil
import pytest

from latchwork.client import LatchworkError
from latchwork.v1 import job_pb2

from .privileges import needs_root
from .serverproc import ServerProcess
from .waiting import wait_job

pytestmark = needs_root("mounting the small tmpfs that gets full")

TMPFS_SIZE = "16m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount)], check=True
    )
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Write a filler file until the file system refuses another byte."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for chunk in (1 << 20, 4096, 1):
            try:
                while True:
                    handle.write(b"\0" * chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC
    return filler


def _until(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _refused(call: object) -> LatchworkError | None:
    """The call's refusal, or None if it was accepted."""
    try:
        call()  # type: ignore[operator]
    except LatchworkError as error:
        return error
    return None


def _first_refusal(write: Callable[[int], object], tries: int = 500) -> LatchworkError:
    """The refusal of ``write(attempt)``, tried again while it is accepted: on a full disk
    the first few writes may still fit in the space SQLite's log had already taken."""
    for attempt in range(tries):
        refusal = _refused(lambda attempt=attempt: write(attempt))
        if refusal is not None:
            return refusal
    raise AssertionError(f"{tries} writes accepted on a full disk")


@contextlib.contextmanager
def _log_pinned(database: Path) -> Iterator[None]:
    """A read transaction held on ``database`` for the block. The supervisor's checkpoints
    (server/store/wal_checkpoints.py) start SQLite's log again from its beginning whenever
    they have copied it whole, and a commit then reuses the log's space: on a full disk some
    writes would still fit, some not. With a reader holding the log, as a backup in progress
    does, none can be reused, so every write needs new space and is refused."""
    reader = sqlite3.connect(database, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM jobs").fetchall()
        yield
    finally:
        reader.close()


def _frames_running(marker: str) -> int:
    count = 0
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            count += marker in " ".join(process.info["cmdline"] or ())
    return count


def test_reports_made_while_the_disk_is_full_are_stored_once_space_returns(
    tmp_path: Path, small_disk: Path
) -> None:
    gate = tmp_path / "gate"
    marker = f"latchwork-full-{time.monotonic_ns()}"
    # Silent frames: the end of the run is all there is to report.
    cmdline = f"while [ ! -e {gate} ]; do sleep 0.05; done; : {marker}"
    server = ServerProcess(small_disk / "data", slots=2)
    server.log_path = tmp_path / "serve.log"  # not on the disk that gets full
    server.start()
    worker: subprocess.Popen[bytes] | None = None
    pins = contextlib.ExitStack()
    try:
        with server.client() as client:
            job_id = (
                client.submit(
                    [
                        {
                            "name": "full",
                            "prototype": "cmdrange",
                            "package": {"cmdline": cmdline, "range": "1-4"},
                            "cpus": 4,
                        }
                    ]
                )
                .jobs[0]
                .id
            )
            _until(lambda: client.get_job(job_id).counts.running == 2, "local frames start")
            # The local pool has two slots: the other two frames go to the remote worker.
            worker = server.worker(
                "remote",
                2,
                tmp_path / "worker.log",
                env={"XDG_RUNTIME_DIR": str(tmp_path / "run")},
            )
            _until(lambda: client.get_job(job_id).counts.running == 4, "remote frames start")
            assert {w.host for w in client.get_job(job_id).work} == {"testhost", "remote"}
            # Blocked and unblocked while the disk is full, until a control is refused.
            spare = client.submit(
                [{"name": "spare", "status": "blocked", "package": {"cmdline": "true"}}]
            ).jobs[0]

            pins.enter_context(_log_pinned(small_disk / "data" / "latchwork.db"))
            filler = _fill(small_disk)
            # Writes are refused with a typed status and a plain message.
            error = _first_refusal(
                lambda attempt: client.submit(
                    [{"name": f"n{attempt}", "package": {"cmdline": "true"}}]
                )
            )
            control = _first_refusal(
                lambda attempt: client.control(
                    "unblock" if attempt % 2 == 0 else "block", [spare.id]
                )
            )
            assert client.get_job(job_id).status == job_pb2.JOB_STATUS_RUNNING, "reads work"

            # Every frame ends while the disk is full: their reports cannot be stored yet.
            gate.touch()
            _until(lambda: _frames_running(marker) == 0, "the frames end")
            time.sleep(1.0)  # retries happen meanwhile, and fail
            assert client.get_job(job_id).counts.running == 4, "nothing stored while full"

            filler.unlink()
            pins.close()
            job = wait_job(client, job_id, timeout=60)
            assert job.status == job_pb2.JOB_STATUS_COMPLETE
            assert [w.status for w in job.work] == [job_pb2.WORK_STATUS_COMPLETE] * 4
            assert all(w.retries == 0 for w in job.work), "no run was lost and run again"
            after = client.submit([{"name": "after", "package": {"cmdline": "true"}}]).jobs[0]
            assert wait_job(client, after.id).status == job_pb2.JOB_STATUS_COMPLETE

        # What clients were told while the disk was full: a typed status, plain words.
        for refusal in (error, control):
            assert refusal.code == grpc.StatusCode.RESOURCE_EXHAUSTED, refusal
            assert "storage is full" in refusal.message
            assert "class" not in refusal.message and "sqlite" not in refusal.message
    finally:
        pins.close()
        if worker is not None:
            worker.terminate()
            worker.wait(20)
        (small_disk / "filler").unlink(missing_ok=True)
        server.stop()
