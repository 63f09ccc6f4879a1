"""One supervisor per data directory and per port, one worker per identity, and workers that
clean up after themselves. Real processes throughout."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.v1 import job_pb2, worker_pb2
from latchwork.worker.remote_worker import RemoteWorker
from latchwork.worker.supervisor_link import SupervisorLink

from .serverproc import ServerProcess, run_refused
from .waiting import wait_job

CLI = [sys.executable, "-m", "latchwork.client.cli"]


def _submit_and_finish(server: ServerProcess) -> None:
    with server.client() as client:
        job_id = client.submit([{"name": "still", "package": {"cmdline": "true"}}]).jobs[0].id
        assert wait_job(client, job_id, timeout=60).status == job_pb2.JOB_STATUS_COMPLETE


@pytest.fixture
def first(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data").start()
    yield server
    server.stop()


def test_a_second_supervisor_on_the_same_data_directory_is_refused(
    first: ServerProcess, tmp_path: Path
) -> None:
    assert first.process is not None
    stderr = run_refused(
        ["serve", "--data-dir", str(first.data_dir), "--listen", "127.0.0.1:0", "--slots", "1"]
    )
    assert (
        f"latchwork serve: data directory {first.data_dir} is in use by pid "
        f"{first.process.pid} (serving on {first.address})"
    ) in stderr
    _submit_and_finish(first)


def test_a_second_supervisor_on_the_same_port_is_refused(
    first: ServerProcess, tmp_path: Path
) -> None:
    stderr = run_refused(
        ["serve", "--data-dir", str(tmp_path / "other"), "--listen", first.address]
    )
    assert f"latchwork serve: cannot listen on {first.address}" in stderr
    assert "in use" in stderr
    _submit_and_finish(first)


def _worker(address: str, host: str, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "worker", "--supervisor", address, "--slots", "1", "--host", host],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),  # owned by the process's lifetime
        env={**os.environ, **env},
    )


def _wait_registered(log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while "registered with" not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the worker did not register"
        time.sleep(0.05)


def test_a_second_worker_with_the_same_identity_is_refused(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    env = {"XDG_RUNTIME_DIR": str(tmp_path / "run")}
    one = _worker(server.address, "twin", tmp_path / "one.log", env)
    try:
        _wait_registered(tmp_path / "one.log", one)
        stderr = run_refused(
            ["worker", "--supervisor", server.address, "--slots", "1", "--host", "twin"], env
        )
        assert f"latchwork worker: a worker for {server.address} as host twin" in stderr
        assert f"pid {one.pid}" in stderr
        # The first one still works, and it alone: the work runs on it.
        _submit_and_finish(server)
    finally:
        one.terminate()
        one.wait(20)
        server.stop()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_worker_removes_its_scratch_directory_when_it_stops(
    tmp_path: Path, how: signal.Signals
) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {"TMPDIR": str(scratch), "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    worker = _worker(server.address, "tidy", tmp_path / "worker.log", env)
    try:
        _wait_registered(tmp_path / "worker.log", worker)
        assert [p.name for p in scratch.iterdir() if p.name.startswith("latchwork-worker-")]
        _submit_and_finish(server)  # it ran work, and so used its scratch directory
        worker.send_signal(how)
        assert worker.wait(30) == 0
        assert list(scratch.iterdir()) == []
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        server.stop()


def test_a_remote_worker_reports_a_lease_it_cannot_start(tmp_path: Path) -> None:
    """A lease whose command cannot be started (here a NUL byte, past any validation) fails
    its item with the reason instead of leaving it running."""
    server = ServerProcess(tmp_path / "data", slots=0).start()
    try:
        with server.client() as client:
            job_id = client.submit([{"name": "nul", "package": {"cmdline": "true"}}]).jobs[0].id
            asyncio.run(_run_crafted_lease(server.address, tmp_path, job_id))
            job = wait_job(client, job_id, timeout=30)
        assert job.status == job_pb2.JOB_STATUS_FAILED
        assert "could not start" in job.work[0].message
        assert "NUL byte" in job.work[0].message
    finally:
        server.stop()


async def _run_crafted_lease(address: str, scratch: Path, job_id: int) -> None:
    worker = RemoteWorker(address, slots=1, host="crafted")
    worker._scratch = scratch  # noqa: SLF001 - run() is bypassed to hand it a crafted lease
    async with SupervisorLink(address) as stub:
        await worker._register(stub)  # noqa: SLF001
        response = await stub.LeaseWork(
            worker_pb2.LeaseWorkRequest(worker_id=worker.worker_id, max_leases=1, wait_seconds=10)
        )
        (lease,) = response.leases
        assert lease.job_id == job_id
        lease.cmdline = "echo a\x00b"
        await asyncio.wait_for(worker._run_lease(stub, lease), 30)  # noqa: SLF001
