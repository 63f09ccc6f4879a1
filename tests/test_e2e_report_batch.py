"""ReportWork with a batch of reports and ``max_leases``: one call, one transaction.

Over real gRPC against a ``latchwork serve --slots 0``: a worker reports several ended leases
and takes its next leases in one call; a bad report refuses the whole call, naming its field
path, and nothing of the call is stored; an old-style call (one report, no ``max_leases``)
behaves as before. The abuse cases (oversized batches, duplicates, another worker's lease) are
in tests/test_abuse_worker_rpcs.py; the single transaction is checked in
tests/unit/test_report_batch.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from latchwork.server.host_registry import HostInfo
from latchwork.v1 import job_pb2, worker_pb2, worker_pb2_grpc
from latchwork.worker.registration import Registration
from latchwork.worker.report_batch import ReportBatcher
from latchwork.worker.supervisor_link import SupervisorLink

from .serverproc import ServerProcess

EXITED = worker_pb2.WORK_OUTCOME_EXITED


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    served = ServerProcess(tmp_path / "data", slots=0).start()
    try:
        yield served
    finally:
        served.stop()


def _submit(server: ServerProcess, frames: str, instances: int) -> int:
    with server.client() as client:
        spec = {
            "name": "batch",
            "prototype": "cmdrange",
            "package": {"cmdline": "true", "range": frames},
            "cpus": instances,
        }
        job_id: int = client.submit([spec]).jobs[0].id
        return job_id


def _statuses(server: ServerProcess, job_id: int) -> list[int]:
    with server.client() as client:
        return [work.status for work in client.get_job(job_id).work]


def _worker(stub: worker_pb2_grpc.WorkerServiceStub, slots: int) -> str:
    request = worker_pb2.RegisterWorkerRequest(host="batch-node", slots=slots)
    worker_id: str = stub.RegisterWorker(request).worker_id
    return worker_id


def _lease(stub: worker_pb2_grpc.WorkerServiceStub, worker_id: str, count: int) -> list[str]:
    request = worker_pb2.LeaseWorkRequest(worker_id=worker_id, max_leases=count, wait_seconds=10)
    leases = [lease.lease_id for lease in stub.LeaseWork(request).leases]
    assert len(leases) == count
    return leases


def _reports(*lease_ids: str) -> list[worker_pb2.WorkReport]:
    return [worker_pb2.WorkReport(lease_id=lease, outcome=EXITED) for lease in lease_ids]


def _violations(error: grpc.RpcError) -> str:
    details = error.details()
    assert details is not None, "the refusal has no message"
    return details


RUNNING = job_pb2.WORK_STATUS_RUNNING
COMPLETE = job_pb2.WORK_STATUS_COMPLETE
PENDING = job_pb2.WORK_STATUS_PENDING


def test_reports_of_several_leases_return_the_next_leases(server: ServerProcess) -> None:
    job_id = _submit(server, "1-6", instances=6)
    with server.channel() as channel:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        worker_id = _worker(stub, slots=4)
        first = _lease(stub, worker_id, 4)
        # Frames 1-3 ended; the worker can take 3 leases (the freed slots): 2 frames are left.
        response = stub.ReportWork(
            worker_pb2.ReportWorkRequest(
                worker_id=worker_id, reports=_reports(*first[:3]), max_leases=3
            )
        )
        assert list(response.reports_accepted) == [True, True, True]
        assert not response.accepted  # no report in `lease_id`
        assert sorted(lease.work_name for lease in response.leases) == ["5", "6"]
        assert _statuses(server, job_id) == [COMPLETE] * 3 + [RUNNING] * 3
        # One in `lease_id`, the others in `reports`; one of them reported twice (accepted
        # the first time only); no new leases asked for.
        last = [lease.lease_id for lease in response.leases]
        response = stub.ReportWork(
            worker_pb2.ReportWorkRequest(
                worker_id=worker_id,
                lease_id=first[3],
                outcome=EXITED,
                reports=_reports(*last, first[0]),
            )
        )
        assert response.accepted
        assert list(response.reports_accepted) == [True, True, False]
        assert list(response.leases) == []
    assert _statuses(server, job_id) == [COMPLETE] * 6


def test_a_bad_report_refuses_the_call_and_nothing_is_stored(server: ServerProcess) -> None:
    job_id = _submit(server, "1-4", instances=4)
    with server.channel() as channel:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        worker_id = _worker(stub, slots=4)
        leases = _lease(stub, worker_id, 3)
        bad = _reports(*leases)
        bad[2].outcome = worker_pb2.WORK_OUTCOME_UNSPECIFIED
        calls = {
            "reports[2].outcome": worker_pb2.ReportWorkRequest(
                worker_id=worker_id, reports=bad, max_leases=1
            ),
            "reports[1].lease_id": worker_pb2.ReportWorkRequest(
                worker_id=worker_id, reports=_reports(leases[0], ""), max_leases=1
            ),
            "max_leases": worker_pb2.ReportWorkRequest(
                worker_id=worker_id, reports=_reports(*leases), max_leases=-1
            ),
        }
        for path, request in calls.items():
            with pytest.raises(grpc.RpcError) as caught:
                stub.ReportWork(request)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert path in _violations(caught.value), path
        assert _statuses(server, job_id) == [RUNNING] * 3 + [PENDING]
        # The leases are still the worker's: reported properly, they end.
        response = stub.ReportWork(
            worker_pb2.ReportWorkRequest(worker_id=worker_id, reports=_reports(*leases))
        )
        assert list(response.reports_accepted) == [True] * 3
    assert _statuses(server, job_id) == [COMPLETE] * 3 + [PENDING]


def test_an_old_style_report_is_unchanged(server: ServerProcess) -> None:
    job_id = _submit(server, "1-2", instances=2)
    with server.channel() as channel:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        worker_id = _worker(stub, slots=2)
        first, second = _lease(stub, worker_id, 2)
        started = stub.ReportWork(
            worker_pb2.ReportWorkRequest(
                worker_id=worker_id, lease_id=first, outcome=worker_pb2.WORK_OUTCOME_STARTED
            )
        )
        assert started.accepted and list(started.leases) == []
        ended = stub.ReportWork(
            worker_pb2.ReportWorkRequest(
                worker_id=worker_id, lease_id=first, outcome=EXITED, exit_code=0
            )
        )
        assert ended.accepted
        assert (list(ended.reports_accepted), list(ended.leases)) == ([], [])
        again = stub.ReportWork(
            worker_pb2.ReportWorkRequest(worker_id=worker_id, lease_id=first, outcome=EXITED)
        )
        assert not again.accepted  # reported twice
        with pytest.raises(grpc.RpcError) as caught:
            stub.ReportWork(worker_pb2.ReportWorkRequest(worker_id=worker_id, lease_id=second))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "outcome" in _violations(caught.value)
    assert _statuses(server, job_id) == [COMPLETE, RUNNING]


def test_the_worker_batches_reports_and_finds_the_refused_one(server: ServerProcess) -> None:
    """The remote worker's batcher (latchwork/worker/report_batch.py): reports queued together
    go in one call that takes the next leases; when the supervisor refuses the call (here one
    lease is another worker's), each report goes alone and only the refused one is dropped."""
    job_id = _submit(server, "1-4", instances=4)
    with server.channel() as channel:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        other = _lease(stub, _worker(stub, slots=1), 1)[0]
    started: list[str] = []
    asked: list[int] = []

    async def run() -> None:
        registration = Registration(
            server.address, HostInfo("batcher", slots=3), (), started.append
        )
        async with SupervisorLink(server.address) as link:
            await registration.register(link)
            leases = await link.LeaseWork(
                worker_pb2.LeaseWorkRequest(
                    worker_id=registration.worker_id, max_leases=2, wait_seconds=10
                )
            )
            mine = [lease.lease_id for lease in leases.leases]
            registration.held.update([*mine, other])

            def free(reported: int) -> int:
                asked.append(reported)
                return reported

            batcher = ReportBatcher(
                registration, (), free, lambda _link, lease: started.append(lease.lease_id)
            )
            reports = [worker_pb2.WorkReport(lease_id=x, outcome=EXITED) for x in [*mine, other]]
            await asyncio.wait_for(
                asyncio.gather(*(batcher.report(link, report) for report in reports)), 30
            )
            assert registration.held == set()  # stored, or dropped (the other's)

    asyncio.run(run())
    # One call of 3 (refused), then each alone: the two of this worker accepted, each taking
    # one new lease in its answer (one frame was left); the other worker's refused.
    assert asked == [3, 1, 1, 1]
    assert len(started) == 1
    assert _statuses(server, job_id) == [RUNNING, COMPLETE, COMPLETE, RUNNING]
