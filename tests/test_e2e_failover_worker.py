"""A remote worker given several addresses keeps its frames through a takeover (issue 16,
item 3): ``latchwork worker --supervisor A,B`` runs a frame for the supervisor at one address;
that supervisor goes (kill -9 or SIGTERM) and one on the same data directory starts at the
other address (what a standby's takeover looks like, tests/takeover.py). The worker moves
there, registers again naming the lease it holds, the new supervisor re-attaches it, and the
frame, never interrupted, is reported complete to it: started once, not retried, its output
whole."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from latchwork.v1 import event_pb2, job_pb2

from .takeover import MovingSupervisor
from .waiting import events_until, job_final, wait_job

FAST = {"LATCHWORK_HEARTBEAT_SECONDS": "1"}
"""Heartbeats every second: the worker finds the move within about one."""


def _until_started(log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not (log.exists() and "start" in log.read_text()):
        assert time.monotonic() < deadline, "the frame did not start"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("first", "sig"),
    [(0, signal.SIGKILL), (1, signal.SIGTERM)],
    ids=["first-listed-killed", "second-listed-stopped"],
)
def test_a_running_remote_frame_survives_a_takeover(tmp_path: Path, first: int, sig: int) -> None:
    frames_log = tmp_path / "frames.log"
    farm = MovingSupervisor(tmp_path, first, slots=0, env=FAST)
    worker_log = tmp_path / "worker.log"
    with open(worker_log, "wb") as log:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "latchwork.client.cli", "worker"),
                *("--supervisor", ",".join(farm.addresses), "--slots", "1", "--host", "mover"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**os.environ, "XDG_RUNTIME_DIR": str(tmp_path / "run")},
        )
    try:
        with farm.server.client() as client:
            job_id = (
                client.submit(
                    [
                        {
                            "name": "across",
                            "package": {
                                "cmdline": f"echo start >> {frames_log}; sleep 4; "
                                f"echo end >> {frames_log}; echo frame done"
                            },
                        }
                    ]
                )
                .jobs[0]
                .id
            )
        _until_started(frames_log)
        farm.move(sig)
        with farm.server.client() as client:
            job = wait_job(client, job_id, timeout=60)
            assert job.status == job_pb2.JOB_STATUS_COMPLETE
            assert frames_log.read_text().split() == ["start", "end"]
            [work] = job.work
            assert work.retries == 0
            assert "frame done" in client.work_output(job_id, work.name).data.decode()
            events = events_until(client, job_final(job_id), job_ids=[job_id])
            assert [e for e in events if e.name == event_pb2.EVENT_NAME_RETRIED] == []
            assert client.get_host("mover").host.name == "mover"
        moved_to = re.escape(farm.addresses[farm.at])
        registered = rf"registered with {moved_to} as \w+ \(re-attached 1 leases, dropped 0\)"
        assert re.search(registered, worker_log.read_text()), worker_log.read_text()
    finally:
        worker.terminate()
        worker.wait(20)
        farm.close()
