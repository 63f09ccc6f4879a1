"""Event retention: a resume point that is gone is an explicit OUT_OF_RANGE, never a gap."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from latchwork.client import LatchworkError
from latchwork.v1 import event_pb2

from .serverproc import ServerProcess
from .waiting import wait_job


def test_resume_point_older_than_retention_is_out_of_range(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data",
        env={"LATCHWORK_RETENTION_EVENTS": "10", "LATCHWORK_RETENTION_CHECK_SECONDS": "0.2"},
    ).start()
    try:
        with server.client() as client:
            job = client.submit(
                [
                    {
                        "name": "f",
                        "prototype": "cmdrange",
                        "package": {"cmdline": "true", "range": "1-10"},
                    }
                ]
            ).jobs[0]
            wait_job(client, job.id)
            deadline = time.monotonic() + 10
            oldest = 1
            while time.monotonic() < deadline:
                first = next(iter(client.subscribe(after_seq=0)))
                assert isinstance(first, event_pb2.Event)
                oldest = first.seq
                if oldest > 1:
                    break
                time.sleep(0.1)
            assert oldest > 1, "retention never trimmed"
            with pytest.raises(LatchworkError) as caught:
                next(iter(client.subscribe(after_seq=1)))
            assert caught.value.code == grpc.StatusCode.OUT_OF_RANGE
            assert f"the oldest is {oldest}" in caught.value.message
            resumed = next(iter(client.subscribe(after_seq=oldest - 1)))
            assert isinstance(resumed, event_pb2.Event)
            assert resumed.seq == oldest
    finally:
        server.stop()
