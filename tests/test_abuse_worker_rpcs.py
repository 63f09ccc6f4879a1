"""Abuse of the WorkerService by callers who are not the worker (issue 13, items 1 and 7).

Over real gRPC against a supervisor with a tokens file: an ordinary user's token is refused
every WorkerService RPC (before, it could lease another user's frame with its secrets, forge
its output and report it done); a worker's token is refused everything else; one worker cannot
heartbeat, lease for, report or upload output for another's worker id or lease, nor take
another's lease by registering under its host name; an admin may still act as a worker; and a
real ``latchwork worker`` with its token runs a frame while one with a user's token is refused
at start.
"""

from __future__ import annotations

import functools
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from latchwork.client import Client
from latchwork.server.auth import TokenFileError, load_tokens
from latchwork.v1 import job_pb2, supervisor_pb2, supervisor_pb2_grpc, worker_pb2, worker_pb2_grpc

from .serverproc import ServerProcess

USER = "user-token-0123456789abcdef"
NODE_A = "node-a-token-0123456789abcd"
NODE_B = "node-b-token-0123456789abcd"
ADMIN = "admin-token-0123456789abcde"


def _tokens(path: Path, owner: str) -> Path:
    path.write_text(
        f'[[token]]\ntoken = "{USER}"\nuser = "{owner}"\n\n'
        f'[[token]]\ntoken = "{NODE_A}"\nuser = "node-a"\nrole = "worker"\n\n'
        f'[[token]]\ntoken = "{NODE_B}"\nuser = "node-b"\nrole = "worker"\n\n'
        f'[[token]]\ntoken = "{ADMIN}"\nuser = "wrangler"\nrole = "admin"\n'
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def owner() -> Iterator[str]:
    """The submitting user: as root (CI) a real OS account, so that a frame run as its
    owner has one; else any name (frames run as the worker)."""
    if os.geteuid() != 0:
        yield "alice"
        return
    name = f"lw13a_{secrets.token_hex(4)}"
    subprocess.run(["useradd", "--create-home", name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", "-r", name], check=False, capture_output=True)


@pytest.fixture
def secured(tmp_path: Path, owner: str) -> Iterator[ServerProcess]:
    tokens = _tokens(tmp_path / "tokens.toml", owner)
    server = ServerProcess(
        tmp_path / "data", slots=0, env={"LATCHWORK_TOKENS_FILE": str(tokens)}
    ).start()
    try:
        yield server
    finally:
        server.stop()


def _as(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def _refused(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error: grpc.RpcError = caught.value
    return error


def _code(error: grpc.RpcError) -> grpc.StatusCode:
    return error.code()


def _details(error: grpc.RpcError) -> str:
    details = error.details()
    assert details is not None, "the refusal has no message"
    return details


def _on_stream(
    stub: worker_pb2_grpc.WorkerServiceStub,
    request: worker_pb2.ReportWorkRequest,
    metadata: tuple[tuple[str, str], ...] = (),
) -> worker_pb2.ReportWorkResponse:
    """``request`` as the one request of a ReportWorkStream call: its answer, or the call's
    refusal raised."""
    message = worker_pb2.ReportWorkStreamRequest(request=request)
    answers = stub.ReportWorkStream(iter([message]), metadata=metadata)
    response: worker_pb2.ReportWorkResponse = next(answers).response
    return response


def _register(stub: worker_pb2_grpc.WorkerServiceStub, token: str, host: str) -> str:
    request = worker_pb2.RegisterWorkerRequest(host=host, slots=1)
    worker_id: str = stub.RegisterWorker(request, metadata=_as(token)).worker_id
    return worker_id


def _submit(server: ServerProcess, cmdline: str) -> int:
    with Client(server.address, token=USER) as client:
        submitted = client.submit([{"name": "secret", "package": {"cmdline": cmdline}}])
        job_id: int = submitted.jobs[0].id
        return job_id


def _lease(stub: worker_pb2_grpc.WorkerServiceStub, token: str, worker_id: str) -> str:
    request = worker_pb2.LeaseWorkRequest(worker_id=worker_id, max_leases=1, wait_seconds=10)
    leases = stub.LeaseWork(request, metadata=_as(token)).leases
    assert len(leases) == 1
    lease_id: str = leases[0].lease_id
    return lease_id


def test_tokens_file_roles(tmp_path: Path) -> None:
    tokens = load_tokens(_tokens(tmp_path / "tokens.toml", "alice"))
    assert (tokens[USER].worker, tokens[USER].admin) == (False, False)
    assert (tokens[NODE_A].worker, tokens[NODE_A].admin) == (True, False)
    assert (tokens[ADMIN].worker, tokens[ADMIN].admin) == (False, True)
    bad = tmp_path / "bad.toml"
    bad.touch(0o600)
    bad.write_text(f'[[token]]\ntoken = "{USER}"\nuser = "x"\nrole = "root"\n')
    with pytest.raises(TokenFileError, match=r"token\[0\]\.role"):
        load_tokens(bad)
    bad.write_text(f'[[token]]\ntoken = "{USER}"\nuser = "x"\nrole = "worker"\nadmin = true\n')
    with pytest.raises(TokenFileError, match="admin = true"):
        load_tokens(bad)


def test_only_workers_and_admins_call_the_worker_service(secured: ServerProcess) -> None:
    job_id = _submit(secured, "echo $SECRET")
    with secured.channel() as channel:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        worker_id = _register(stub, NODE_A, "node-a")
        lease_id = _lease(stub, NODE_A, worker_id)
        user = _as(USER)
        calls: dict[str, Callable[[], Any]] = {
            "RegisterWorker": lambda: stub.RegisterWorker(
                worker_pb2.RegisterWorkerRequest(host="thief", slots=1), metadata=user
            ),
            "LeaseWork": lambda: stub.LeaseWork(
                worker_pb2.LeaseWorkRequest(worker_id=worker_id, max_leases=1), metadata=user
            ),
            "Heartbeat": lambda: stub.Heartbeat(
                worker_pb2.HeartbeatRequest(worker_id=worker_id), metadata=user
            ),
            "ReportWork": lambda: stub.ReportWork(
                worker_pb2.ReportWorkRequest(
                    worker_id=worker_id,
                    lease_id=lease_id,
                    outcome=worker_pb2.WORK_OUTCOME_EXITED,
                ),
                metadata=user,
            ),
            "AppendOutput": lambda: stub.AppendOutput(
                worker_pb2.AppendOutputRequest(
                    worker_id=worker_id, lease_id=lease_id, data=b"forged"
                ),
                metadata=user,
            ),
            "ReportWorkStream": lambda: _on_stream(
                stub,
                worker_pb2.ReportWorkRequest(
                    worker_id=worker_id,
                    lease_id=lease_id,
                    outcome=worker_pb2.WORK_OUTCOME_EXITED,
                ),
                user,
            ),
        }
        for name, call in calls.items():
            error = _refused(call)
            assert _code(error) == grpc.StatusCode.PERMISSION_DENIED, name
            assert "role 'worker' or 'admin'" in _details(error), name
        # Without a token, a streaming call is refused as a unary one is.
        error = _refused(
            lambda: _on_stream(
                stub,
                worker_pb2.ReportWorkRequest(
                    worker_id=worker_id, lease_id=lease_id, outcome=worker_pb2.WORK_OUTCOME_EXITED
                ),
            )
        )
        assert _code(error) == grpc.StatusCode.UNAUTHENTICATED
        # A worker's token is good for the WorkerService only.
        supervisor = supervisor_pb2_grpc.SupervisorServiceStub(channel)
        error = _refused(
            lambda: supervisor.ListJobs(supervisor_pb2.ListJobsRequest(), metadata=_as(NODE_A))
        )
        assert _code(error) == grpc.StatusCode.PERMISSION_DENIED
        assert "WorkerService only" in _details(error)
        # An admin may still act as a worker.
        admin_id = _register(stub, ADMIN, "admin-node")
        beat = stub.Heartbeat(worker_pb2.HeartbeatRequest(worker_id=admin_id), metadata=_as(ADMIN))
        assert beat.known
    with Client(secured.address, token=USER) as client:
        job = client.get_job(job_id)
        assert job.work[0].status == job_pb2.WORK_STATUS_RUNNING, "nothing forged its end"
        assert client.work_output(job_id, "0").data == b""


def test_a_worker_touches_only_its_own_worker_id_and_leases(secured: ServerProcess) -> None:
    job_id = _submit(secured, "sleep 300")
    with secured.channel() as channel:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        a_id = _register(stub, NODE_A, "node-a")
        lease_id = _lease(stub, NODE_A, a_id)
        assert len(lease_id) >= 32 and len(a_id) >= 32, "ids are unguessable"
        b_id = _register(stub, NODE_B, "node-b")
        b = _as(NODE_B)
        attempts: dict[str, Callable[[], Any]] = {
            "report A's lease as B": lambda: stub.ReportWork(
                worker_pb2.ReportWorkRequest(
                    worker_id=b_id, lease_id=lease_id, outcome=worker_pb2.WORK_OUTCOME_EXITED
                ),
                metadata=b,
            ),
            "say A's lease started as B": lambda: stub.ReportWork(
                worker_pb2.ReportWorkRequest(
                    worker_id=b_id, lease_id=lease_id, outcome=worker_pb2.WORK_OUTCOME_STARTED
                ),
                metadata=b,
            ),
            "append to A's lease as B": lambda: stub.AppendOutput(
                worker_pb2.AppendOutputRequest(worker_id=b_id, lease_id=lease_id, data=b"x"),
                metadata=b,
            ),
            "report A's lease as B on a stream": lambda: _on_stream(
                stub,
                worker_pb2.ReportWorkRequest(
                    worker_id=b_id, lease_id=lease_id, outcome=worker_pb2.WORK_OUTCOME_EXITED
                ),
                b,
            ),
            "report A's lease with A's worker id on a stream": lambda: _on_stream(
                stub,
                worker_pb2.ReportWorkRequest(
                    worker_id=a_id, lease_id=lease_id, outcome=worker_pb2.WORK_OUTCOME_EXITED
                ),
                b,
            ),
            "report A's lease with A's worker id": lambda: stub.ReportWork(
                worker_pb2.ReportWorkRequest(
                    worker_id=a_id, lease_id=lease_id, outcome=worker_pb2.WORK_OUTCOME_EXITED
                ),
                metadata=b,
            ),
            "append with A's worker id": lambda: stub.AppendOutput(
                worker_pb2.AppendOutputRequest(worker_id=a_id, lease_id=lease_id, data=b"x"),
                metadata=b,
            ),
            "heartbeat A's worker id": lambda: stub.Heartbeat(
                worker_pb2.HeartbeatRequest(worker_id=a_id, lease_ids=[lease_id]), metadata=b
            ),
            "lease for A's worker id": lambda: stub.LeaseWork(
                worker_pb2.LeaseWorkRequest(worker_id=a_id, max_leases=1), metadata=b
            ),
        }
        for name, call in attempts.items():
            assert _code(_refused(call)) == grpc.StatusCode.PERMISSION_DENIED, name
        # Registering under A's host name does not hand over A's lease.
        again = stub.RegisterWorker(
            worker_pb2.RegisterWorkerRequest(host="node-a", slots=1, lease_ids=[lease_id]),
            metadata=b,
        )
        assert list(again.kept_lease_ids) == []
        # A's lease is A's still: its output and its report are accepted.
        a = _as(NODE_A)
        appended = stub.AppendOutput(
            worker_pb2.AppendOutputRequest(worker_id=a_id, lease_id=lease_id, data=b"mine\n"),
            metadata=a,
        )
        assert appended.accepted
        report = stub.ReportWork(
            worker_pb2.ReportWorkRequest(
                worker_id=a_id, lease_id=lease_id, outcome=worker_pb2.WORK_OUTCOME_EXITED
            ),
            metadata=a,
        )
        assert report.accepted
    with Client(secured.address, token=USER) as client:
        assert _final(client, job_id).status == job_pb2.JOB_STATUS_COMPLETE
        assert client.work_output(job_id, "0").data == b"mine\n"


def test_batched_reports_are_bounded_distinct_and_the_workers_own(
    secured: ServerProcess,
) -> None:
    """A batch of reports (ReportWorkRequest.reports) is checked whole before anything of it
    is stored: too many reports or leases asked for, a lease twice, another worker's lease."""
    job_ids = [_submit(secured, "sleep 300") for _ in range(3)]
    exited = worker_pb2.WORK_OUTCOME_EXITED
    with secured.channel() as channel:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        a_id = _register(stub, NODE_A, "node-a")
        mine = _lease(stub, NODE_A, a_id)
        b_id = _register(stub, NODE_B, "node-b")
        b_first = _lease(stub, NODE_B, b_id)
        a = _as(NODE_A)

        def batch(*lease_ids: str, max_leases: int = 1) -> worker_pb2.ReportWorkRequest:
            reports = [worker_pb2.WorkReport(lease_id=x, outcome=exited) for x in lease_ids]
            return worker_pb2.ReportWorkRequest(
                worker_id=a_id, reports=reports, max_leases=max_leases
            )

        invalid = {
            "reports": batch(*(f"lease-{i}" for i in range(257))),
            "max_leases": batch(mine, max_leases=257),
            "reports[1].lease_id": batch(mine, mine),
        }
        for path, request in invalid.items():
            error = _refused(functools.partial(stub.ReportWork, request, metadata=a))
            assert _code(error) == grpc.StatusCode.INVALID_ARGUMENT, path
            assert path in _details(error), path
            # The same on a stream, by its path inside the stream's message.
            error = _refused(functools.partial(_on_stream, stub, request, a))
            assert _code(error) == grpc.StatusCode.INVALID_ARGUMENT, path
            assert f"request.{path}" in _details(error), path
        error = _refused(lambda: stub.ReportWork(batch(mine, b_first), metadata=a))
        assert _code(error) == grpc.StatusCode.PERMISSION_DENIED
        assert "reports[1].lease_id" in _details(error)
        # Nothing of the refused calls was stored, nor leased: A's frame and B's still run,
        # and the third job waits.
        with Client(secured.address, token=USER) as client:
            statuses = [client.get_job(job_id).work[0].status for job_id in job_ids]
        running, pending = job_pb2.WORK_STATUS_RUNNING, job_pb2.WORK_STATUS_PENDING
        assert statuses == [running, running, pending]
        # A's own batch is accepted, and answered with the next lease.
        response = stub.ReportWork(batch(mine), metadata=a)
        assert list(response.reports_accepted) == [True]
        assert [lease.job_id for lease in response.leases] == [job_ids[2]]


def _final(client: Client, job_id: int, timeout: float = 60.0) -> job_pb2.Job:
    """The job once it ended (polled: tests/waiting.py subscribes without a token)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get_job(job_id)
        if job.status in (job_pb2.JOB_STATUS_COMPLETE, job_pb2.JOB_STATUS_FAILED):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job.status}"
        time.sleep(0.1)


def _worker(server: ServerProcess, token: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as stderr:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "latchwork.client.cli", "worker"),
                *("--supervisor", server.address, "--slots", "1", "--host", "node-a"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "LATCHWORK_TOKEN": token},
        )


def test_latchwork_worker_sends_its_token(secured: ServerProcess, tmp_path: Path) -> None:
    refused = _worker(secured, USER, tmp_path / "refused.log")
    try:
        assert refused.wait(60) == 1, "a user's token cannot run a worker"
    finally:
        refused.kill()
    assert "role 'worker' or 'admin'" in (tmp_path / "refused.log").read_text()
    worker = _worker(secured, NODE_A, tmp_path / "worker.log")
    try:
        job_id = _submit(secured, "echo from the farm")
        with Client(secured.address, token=USER) as client:
            job = _final(client, job_id)
            assert job.status == job_pb2.JOB_STATUS_COMPLETE, (tmp_path / "worker.log").read_text()
            assert job.work[0].host == "node-a"
            assert client.work_output(job_id, "0").data == b"from the farm\n"
    finally:
        worker.terminate()
        worker.wait(30)
