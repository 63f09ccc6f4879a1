"""qb.requeue and qb.interrupt (and the work form): running frames go back to pending and run
again, with no failure and no retry counted, against a real supervisor with real processes."""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType
from typing import Any


def _work(qb: ModuleType, job_id: int) -> list[dict[str, Any]]:
    return list(qb.jobinfo(id=job_id, fields=["agenda"])[0]["agenda"])


def _until(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_interrupt_and_requeue_put_running_frames_back(qb: ModuleType, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    # Each frame starts, counts its start, and waits for the gate; it ends when the gate exists.
    script = (
        f'echo started >> "{tmp_path}/starts.QB_FRAME_NUMBER"; '
        f'while [ ! -e "{gate}" ]; do sleep 0.05; done'
    )
    (job,) = qb.submit(
        {
            "name": "long",
            "prototype": "cmdrange",
            "package": {"cmdline": script, "range": "1-2"},
            "cpus": 2,  # two instances: both frames run at once
        }
    )
    job_id = job["id"]
    started = [tmp_path / "starts.1", tmp_path / "starts.2"]
    _until(lambda: all(p.exists() for p in started))
    _until(lambda: all(w["status"] == "running" for w in _work(qb, job_id)))

    assert qb.interrupt(job_id) == [job_id]
    # Both frames went back and were picked up again: each started twice.
    _until(lambda: all(p.read_text().count("started") == 2 for p in started))
    assert qb.requeue([job_id]) == [job_id]
    _until(lambda: all(p.read_text().count("started") == 3 for p in started))
    assert qb.workrequeue(f"{job_id}:1") == [f"{job_id}:1"]
    assert qb.requeuework == qb.workrequeue
    _until(lambda: started[0].read_text().count("started") == 4)

    gate.touch()
    (done,) = qb.waitfor(job_id, timeout=60)
    assert done["status"] == "complete"
    for work in _work(qb, job_id):
        assert work["retry"] == 0, work  # a requeue is not a failure
    assert started[1].read_text().count("started") == 3


def test_requeue_leaves_work_that_is_not_running(qb: ModuleType) -> None:
    (job,) = qb.submit({"name": "held", "status": "blocked", "package": {"cmdline": "true"}})
    assert qb.requeue(job["id"]) == [job["id"]]
    assert qb.jobinfo(id=job["id"])[0]["status"] == "blocked"
