"""Fairness between users in the Python sandbox (issue 10, item 8): a real supervisor.

One user's ten slow callbacks used to fill the single queue in front of the two sandbox
workers, so another user's trivial callback waited for all ten. Owners are now served in turn.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.client import Client
from latchwork.v1 import supervisor_pb2

from .serverproc import ServerProcess

BURN = "import time\nt = time.time()\nwhile time.time() - t < 0.4:\n    pass\nprint('burnt')\n"
SLOW_RUNS = 10


@pytest.fixture
def idle_server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", slots=0).start()  # callbacks only, no frames
    yield process
    process.stop()


def _finished_runs(client: Client, job_id: int, count: int) -> list[supervisor_pb2.CallbackRun]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = [r for r in client.callback_runs(job_id=job_id) if r.outcome]
        if len(runs) >= count:
            return runs
        time.sleep(0.1)
    raise AssertionError(f"job {job_id}: fewer than {count} runs finished")


def _seconds(run: supervisor_pb2.CallbackRun) -> float:
    return run.start_time.ToNanoseconds() / 1e9


def test_another_users_callback_does_not_wait_for_a_burst(idle_server: ServerProcess) -> None:
    with idle_server.client() as client:
        alice = client.submit(
            [
                {
                    "name": "burst",
                    "user": "alice",
                    "package": {"cmdline": "true"},
                    "callbacks": [
                        {"triggers": "submit-job-self", "language": "python", "code": BURN}
                    ]
                    * SLOW_RUNS,
                }
            ]
        ).jobs[0]
        bob = client.submit(
            [
                {
                    "name": "quick",
                    "user": "bob",
                    "package": {"cmdline": "true"},
                    "callbacks": [
                        {"triggers": "submit-job-self", "language": "python", "code": "print(1)"}
                    ],
                }
            ]
        ).jobs[0]
        [quick] = _finished_runs(client, bob.id, 1)
        slow = _finished_runs(client, alice.id, SLOW_RUNS)
    assert quick.outcome == supervisor_pb2.CALLBACK_OUTCOME_OK
    assert all(r.outcome == supervisor_pb2.CALLBACK_OUTCOME_OK for r in slow), slow
    # Bob's run ended before most of Alice's had even started: with one queue it started
    # after all ten of hers. (Start times are the supervisor's: no race with this test.)
    quick_end = _seconds(quick) + quick.duration_ms / 1000
    started_later = [r for r in slow if _seconds(r) >= quick_end]
    assert len(started_later) >= SLOW_RUNS - 4, sorted(_seconds(r) for r in slow)
