"""A lease whose grant never reached its worker is requeued, not left running for no one.

The answer that grants a lease (LeaseWork, or ReportWork with ``max_leases``) can be lost after
the supervisor committed it: a connection cut at the wrong moment. The worker never starts the
frame, and without a check the frame would stay running, its job never ending. A worker's
heartbeat names every lease it holds; a lease of the worker's that two heartbeats in a row do
not name is requeued. Over real gRPC against a real ``latchwork serve``, the worker played by
raw calls so that the lost answer can be staged exactly; and a real ``latchwork worker`` whose
frames run across many heartbeats keeps them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from latchwork.client import Client
from latchwork.v1 import job_pb2, worker_pb2, worker_pb2_grpc
from latchwork.worker.remote_worker import RemoteWorker

from .serverproc import ServerProcess
from .waiting import events_until, job_final, wait_job


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    try:
        yield server
    finally:
        server.stop()


def _frame(client: Client, job_id: int) -> job_pb2.Work:
    work: job_pb2.Work = client.get_job(job_id).work[0]
    return work


def _heartbeat(stub: worker_pb2_grpc.WorkerServiceStub, worker_id: str, *held: str) -> None:
    response = stub.Heartbeat(worker_pb2.HeartbeatRequest(worker_id=worker_id, lease_ids=held))
    assert response.known


def _register(stub: worker_pb2_grpc.WorkerServiceStub, host: str) -> str:
    worker_id: str = stub.RegisterWorker(
        worker_pb2.RegisterWorkerRequest(host=host, slots=1)
    ).worker_id
    return worker_id


def _lease(stub: worker_pb2_grpc.WorkerServiceStub, worker_id: str) -> worker_pb2.Lease:
    (lease,) = stub.LeaseWork(
        worker_pb2.LeaseWorkRequest(worker_id=worker_id, max_leases=1, wait_seconds=10)
    ).leases
    return lease


def _report(stub: worker_pb2_grpc.WorkerServiceStub, worker_id: str, lease_id: str) -> bool:
    answer = stub.ReportWork(
        worker_pb2.ReportWorkRequest(
            worker_id=worker_id, lease_id=lease_id, outcome=worker_pb2.WORK_OUTCOME_EXITED
        )
    )
    return answer.accepted


def test_a_lease_the_worker_never_received_is_requeued_after_two_heartbeats(
    server: ServerProcess,
) -> None:
    with server.client() as client, server.channel() as channel:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        worker_id = _register(stub, "node-1")
        job_id = client.submit([{"name": "lost", "package": {"cmdline": "true"}}]).jobs[0].id
        granted = _lease(stub, worker_id)
        assert granted.job_id == job_id
        # The answer is "lost": the worker goes on as if it had never come.
        _heartbeat(stub, worker_id)
        assert _frame(client, job_id).status == job_pb2.WORK_STATUS_RUNNING  # maybe in flight
        _heartbeat(stub, worker_id)
        frame = _frame(client, job_id)
        assert frame.status == job_pb2.WORK_STATUS_PENDING
        assert "does not hold the lease" in frame.message
        # Leased again, it runs and ends; the lost lease's late report is not accepted.
        again = _lease(stub, worker_id)
        assert (again.job_id, again.lease_id != granted.lease_id) == (job_id, True)
        assert not _report(stub, worker_id, granted.lease_id)
        assert _report(stub, worker_id, again.lease_id)
        job = wait_job(client, job_id)
        assert job.status == job_pb2.JOB_STATUS_COMPLETE
        assert job.work[0].attempts == 2  # the lost lease counted as a start, and this one


def test_only_two_heartbeats_in_a_row_without_the_lease_requeue_it(
    server: ServerProcess,
) -> None:
    with server.client() as client, server.channel() as channel:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        worker_id = _register(stub, "node-2")
        job_id = client.submit([{"name": "held", "package": {"cmdline": "true"}}]).jobs[0].id
        lease = _lease(stub, worker_id)
        # Not named, named, not named: never twice in a row.
        for held in ((), (lease.lease_id,), (), (lease.lease_id,), (lease.lease_id,), ()):
            _heartbeat(stub, worker_id, *held)
            assert _frame(client, job_id).status == job_pb2.WORK_STATUS_RUNNING
        _heartbeat(stub, worker_id)
        assert _frame(client, job_id).status == job_pb2.WORK_STATUS_PENDING


def test_a_real_worker_keeps_its_frames_across_many_heartbeats(tmp_path: Path) -> None:
    """Heartbeats every half second while each frame runs for two: a worker that named only
    some of its leases would have them requeued, and the frames run twice."""
    server = ServerProcess(
        tmp_path / "data", slots=0, env={"LATCHWORK_HEARTBEAT_SECONDS": "1"}
    ).start()
    worker = server.worker("node-3", 2, tmp_path / "worker.log")
    try:
        with server.client() as client:
            job_id = (
                client.submit(
                    [
                        {
                            "name": "steady",
                            "prototype": "cmdrange",
                            "package": {"cmdline": "sleep 2", "range": "1-4"},
                            "cpus": 2,
                        }
                    ]
                )
                .jobs[0]
                .id
            )
            job = wait_job(client, job_id, timeout=60)
            assert job.status == job_pb2.JOB_STATUS_COMPLETE
            assert [w.attempts for w in job.work] == [1, 1, 1, 1]
            events = events_until(client, job_final(job_id), job_ids=[job_id])
            assert [e.message for e in events if e.message.startswith("requeued")] == []
    finally:
        worker.terminate()
        worker.wait(10)
        server.stop()


def test_the_worker_names_leases_whose_reports_are_on_the_way() -> None:
    """The heartbeat names every lease held, not only those whose processes still run: a
    frame that ended while its report waits (a slow or restarting supervisor) is the
    worker's until the report is stored."""
    # Private parts, on purpose: the state to stage is "a report on its way", which no
    # public call can hold still long enough to look at.
    worker = RemoteWorker("127.0.0.1:1", slots=2, host="node-4")
    worker._registration.worker_id = "worker-4"  # noqa: SLF001
    worker._registration.heartbeat_seconds = 0  # noqa: SLF001 - no pause between heartbeats
    worker._held.update({"running", "reporting"})  # noqa: SLF001
    sent: list[worker_pb2.HeartbeatRequest] = []
    stop = asyncio.Event()

    class Link:
        async def Heartbeat(self, request: worker_pb2.HeartbeatRequest, **_: Any) -> Any:
            sent.append(request)
            stop.set()
            return worker_pb2.HeartbeatResponse(known=True)

    asyncio.run(worker._heartbeats(Link(), stop))  # type: ignore[arg-type]  # noqa: SLF001
    assert [list(request.lease_ids) for request in sent] == [["reporting", "running"]]
