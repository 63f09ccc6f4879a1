"""ReportWorkStream: ReportWork's requests on one open call, each answered in turn.

Over real gRPC against a ``latchwork serve --slots 0``: requests on one call are answered in
order, each stored in its own transaction with the leases it takes; a refused request ends the
call with ReportWork's status, naming its field path inside the stream's message
(``request.reports[1].outcome``), and nothing of it is stored, while the requests answered
before it stay stored; a supervisor that stops ends its idle report streams at once (status OK)
rather than after its shutdown grace. Who may call it is in tests/test_abuse_worker_rpcs.py;
the worker's side (falling back to unary calls, a stream ended under it) in
tests/unit/test_report_stream.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from latchwork.v1 import job_pb2, worker_pb2, worker_pb2_grpc

from .serverproc import ServerProcess

EXITED = worker_pb2.WORK_OUTCOME_EXITED
RUNNING = job_pb2.WORK_STATUS_RUNNING
COMPLETE = job_pb2.WORK_STATUS_COMPLETE
PENDING = job_pb2.WORK_STATUS_PENDING
ReportCall = grpc.aio.StreamStreamCall[
    worker_pb2.ReportWorkStreamRequest, worker_pb2.ReportWorkStreamResponse
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    served = ServerProcess(tmp_path / "data", slots=0).start()
    try:
        yield served
    finally:
        served.stop()


def _submit(server: ServerProcess, frames: str) -> int:
    with server.client() as client:
        spec = {
            "name": "streamed",
            "prototype": "cmdrange",
            "package": {"cmdline": "true", "range": frames},
            "cpus": 8,
        }
        job_id: int = client.submit([spec]).jobs[0].id
        return job_id


def _statuses(server: ServerProcess, job_id: int) -> list[int]:
    with server.client() as client:
        return [work.status for work in client.get_job(job_id).work]


async def _worker(
    stub: worker_pb2_grpc.WorkerServiceAsyncStub, leases: int
) -> tuple[str, list[str]]:
    """A registered worker's id and ``leases`` leases it took."""
    registered = await stub.RegisterWorker(
        worker_pb2.RegisterWorkerRequest(host="stream-node", slots=8)
    )
    leased = await stub.LeaseWork(
        worker_pb2.LeaseWorkRequest(
            worker_id=registered.worker_id, max_leases=leases, wait_seconds=10
        )
    )
    assert len(leased.leases) == leases
    return registered.worker_id, [lease.lease_id for lease in leased.leases]


def _request(
    worker_id: str, lease_ids: list[str], max_leases: int = 0
) -> worker_pb2.ReportWorkStreamRequest:
    return worker_pb2.ReportWorkStreamRequest(
        request=worker_pb2.ReportWorkRequest(
            worker_id=worker_id,
            reports=[worker_pb2.WorkReport(lease_id=x, outcome=EXITED) for x in lease_ids],
            max_leases=max_leases,
        )
    )


async def _answer(
    call: ReportCall, request: worker_pb2.ReportWorkStreamRequest
) -> worker_pb2.ReportWorkResponse:
    await call.write(request)
    answer = await call.read()
    assert isinstance(answer, worker_pb2.ReportWorkStreamResponse), answer
    return answer.response


def test_requests_on_one_call_are_answered_in_order(server: ServerProcess) -> None:
    """Three requests on one call: each report stored, each answer with its new leases,
    which the next request reports; the last takes none (none left)."""
    job_id = _submit(server, "1-6")

    async def run() -> list[list[bool]]:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = worker_pb2_grpc.WorkerServiceStub(channel)
            worker_id, leases = await _worker(stub, 2)
            call: ReportCall = stub.ReportWorkStream()
            accepted: list[list[bool]] = []
            for _ in range(3):
                response = await _answer(call, _request(worker_id, leases, max_leases=2))
                accepted.append(list(response.reports_accepted))
                leases = [lease.lease_id for lease in response.leases]
            assert leases == []
            await call.done_writing()
            assert await call.read() is grpc.aio.EOF
            assert await call.code() == grpc.StatusCode.OK
            return accepted

    assert asyncio.run(run()) == [[True, True]] * 3
    assert _statuses(server, job_id) == [COMPLETE] * 6


def test_a_refused_request_ends_the_call_and_stores_nothing_of_it(server: ServerProcess) -> None:
    """The second request has a report without an outcome: the call ends INVALID_ARGUMENT
    naming ``request.reports[1].outcome``; the first request's report stays stored, nothing of
    the second is (its valid report too); a new call goes on."""
    job_id = _submit(server, "1-3")

    async def run() -> None:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = worker_pb2_grpc.WorkerServiceStub(channel)
            worker_id, (first, second, third) = await _worker(stub, 3)
            call: ReportCall = stub.ReportWorkStream()
            assert list((await _answer(call, _request(worker_id, [first]))).reports_accepted) == [
                True
            ]
            bad = _request(worker_id, [second, third])
            bad.request.reports[1].ClearField("outcome")
            await call.write(bad)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call.read()
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "request.reports[1].outcome" in (refused.value.details() or "")
            assert _statuses(server, job_id) == [COMPLETE, RUNNING, RUNNING]
            again: ReportCall = stub.ReportWorkStream()
            response = await _answer(again, _request(worker_id, [second, third]))
            assert list(response.reports_accepted) == [True, True]
            again.cancel()

    asyncio.run(run())
    assert _statuses(server, job_id) == [COMPLETE] * 3


def test_another_workers_lease_refuses_the_request_by_its_path(server: ServerProcess) -> None:
    _submit(server, "1-2")

    async def run() -> None:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = worker_pb2_grpc.WorkerServiceStub(channel)
            _, (theirs,) = await _worker(stub, 1)
            mine, _ = await _worker(stub, 1)
            call: ReportCall = stub.ReportWorkStream()
            await call.write(_request(mine, [theirs]))
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call.read()
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert (refused.value.details() or "").startswith("request.reports[0].lease_id:")

    asyncio.run(run())


def test_a_stopping_supervisor_ends_an_idle_report_stream_at_once(
    server: ServerProcess,
) -> None:
    """Between requests a report stream waits for the worker; when the supervisor stops it
    ends the call (status OK) instead of holding its shutdown until the grace runs out, after
    which grpc would cancel it."""
    _submit(server, "1")

    async def run() -> grpc.StatusCode:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = worker_pb2_grpc.WorkerServiceStub(channel)
            worker_id, leases = await _worker(stub, 1)
            call: ReportCall = stub.ReportWorkStream()
            await _answer(call, _request(worker_id, leases))
            stopping = asyncio.get_running_loop().run_in_executor(None, server.stop)
            assert await call.read() is grpc.aio.EOF
            code = await call.code()
            await stopping
            return code

    assert asyncio.run(run()) == grpc.StatusCode.OK
