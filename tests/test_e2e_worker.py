"""A remote ``latchwork worker`` joins over gRPC and runs work like the local pool."""

from __future__ import annotations

from pathlib import Path

from latchwork.v1 import job_pb2

from .serverproc import ServerProcess
from .waiting import wait_job


def test_remote_worker_runs_frames_and_streams_output(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    worker = server.worker("farm-node-7", 2, tmp_path / "worker.log")
    try:
        with server.client() as client:
            job_id = (
                client.submit(
                    [
                        {
                            "name": "remote",
                            "prototype": "cmdrange",
                            "package": {
                                "cmdline": "echo remote QB_FRAME_NUMBER; "
                                "exit $((QB_FRAME_NUMBER == 3))",
                                "range": "1-4",
                            },
                            "cpus": 2,
                        }
                    ]
                )
                .jobs[0]
                .id
            )
            job = wait_job(client, job_id, timeout=60)
            assert job.status == job_pb2.JOB_STATUS_FAILED
            assert {w.host for w in job.work} == {"farm-node-7"}
            assert [w.status for w in job.work] == [
                job_pb2.WORK_STATUS_COMPLETE,
                job_pb2.WORK_STATUS_COMPLETE,
                job_pb2.WORK_STATUS_FAILED,
                job_pb2.WORK_STATUS_COMPLETE,
            ]
            for frame in ("1", "2", "3", "4"):
                assert client.work_output(job_id, frame).data == f"remote {frame}\n".encode()

            long_id = (
                client.submit([{"name": "long", "package": {"cmdline": "exec sleep 300"}}])
                .jobs[0]
                .id
            )
            from .waiting import events_until

            events_until(
                client,
                lambda e: e.job_id == long_id and e.work_name == "0" and e.status == "running",
            )
            client.control("kill", [long_id])
            assert wait_job(client, long_id).status == job_pb2.JOB_STATUS_KILLED
    finally:
        worker.terminate()
        worker.wait(10)
        server.stop()
