"""Requests the supervisor must refuse cleanly, over real gRPC against a real supervisor.

Errors a client can read (bounded messages, typed exceptions) and every request field checked:
unknown enum values, numeric ranges, opaque page tokens (issue 10, items 4 and 5).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from latchwork.client import AsyncClient, Client, LatchworkError
from latchwork.server.api.checks import MAX_HELD_LEASES
from latchwork.v1 import (
    event_pb2,
    job_pb2,
    supervisor_pb2,
    supervisor_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
)

from .serverproc import ServerProcess

# What a refusal may weigh at most: the message and the BadRequest details travel in the
# trailers, which a default gRPC client accepts up to 8 KiB.
MESSAGE_LIMIT = 3000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("requests") / "data", slots=0).start()
    yield process
    process.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def stub(server: ServerProcess) -> Iterator[supervisor_pb2_grpc.SupervisorServiceStub]:
    with server.channel() as channel:
        yield supervisor_pb2_grpc.SupervisorServiceStub(channel)


def _job(**extra: Any) -> dict[str, Any]:
    return {"name": "x", "package": {"cmdline": "true"}, "status": "blocked", **extra}


def _refusal(call: Callable[[], Any]) -> grpc.RpcError:
    """The error of a raw stub call that must fail, with its status read from the trailers."""
    with pytest.raises(grpc.RpcError) as caught:
        result = call()
        if hasattr(result, "__next__"):  # a stream: its status comes with the first read
            next(result)
    return caught.value


def _violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    for metadatum in error.trailing_metadata() or ():
        if metadatum.key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(metadatum.value)
            bad = error_details_pb2.BadRequest()
            assert status.details[0].Unpack(bad)
            return [(v.field, v.description) for v in bad.field_violations]
    return []


def _assert_invalid(error: grpc.RpcError, field: str, text: str = "") -> None:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    message = error.details()
    assert message is not None, error
    assert message.startswith(f"{field}: "), message
    assert text in message, message
    assert (field, message.split(": ", 1)[1].split("; ")[0]) in _violations(error)


def _highest_job_id(client: Client) -> int:
    statuses = [s for s in job_pb2.JobStatus.values() if s]
    return max((j.id for j in client.list_jobs(statuses=statuses)), default=0)


# --- item 4: errors a client can read ---------------------------------------------------------


def _assert_bounded(error: LatchworkError, first: str, more: int) -> None:
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT, error.message[:200]
    assert error.message.startswith(first), error.message[:200]
    assert len(error.message.encode()) < MESSAGE_LIMIT
    assert 1 <= len(error.violations) <= 20
    assert error.violations[0].field == first.split(":")[0]
    if more:
        assert error.message.endswith(f"; and {more} more"), error.message[-100:]
    from latchwork.client import InvalidArgumentError  # imported here: new in issue 10

    assert isinstance(error, InvalidArgumentError)


def test_many_violations_are_capped_with_a_count_of_the_rest(client: Client) -> None:
    before = _highest_job_id(client)
    with pytest.raises(LatchworkError) as caught:
        client.submit([{"name": f"j{i}"} for i in range(300)])
    _assert_bounded(caught.value, "jobs[0].command.cmdline: required", 280)
    assert [v.field for v in caught.value.violations] == [
        f"jobs[{i}].command.cmdline" for i in range(20)
    ]
    assert _highest_job_id(client) == before


def test_a_huge_value_is_clipped_in_the_message(client: Client) -> None:
    job_id = client.submit([_job()]).jobs[0].id
    for size in (5_000, 12_000, 20_000):  # between 8 and 16 KiB of trailers, and beyond
        with pytest.raises(LatchworkError) as caught:
            client.control("kill", work=[(job_id, "w" * size)])
        _assert_bounded(caught.value, f"work[0].work_name: job {job_id} has no work 'www", 0)
        assert "…" in caught.value.message and caught.value.message.endswith("www'")
        with pytest.raises(LatchworkError) as missing:
            client.work_output(job_id, "\u2028" * size)
        assert missing.value.code == grpc.StatusCode.NOT_FOUND
        assert missing.value.message.startswith(f"job {job_id} has no work '")
        assert len(missing.value.message.encode()) < MESSAGE_LIMIT


def test_control_with_100k_unknown_ids(client: Client) -> None:
    with pytest.raises(LatchworkError) as caught:
        client.control("kill", range(10**9, 10**9 + 100_000))
    _assert_bounded(caught.value, f"job_ids[0]: job {10**9} does not exist", 99_980)


def test_async_client_raises_typed_errors_too(server: ServerProcess) -> None:
    from latchwork.client import InvalidArgumentError

    async def scenario() -> None:
        async with AsyncClient(server.address, user="tester") as client:
            with pytest.raises(InvalidArgumentError) as caught:
                job_id = (await client.submit([_job()])).jobs[0].id
                await client.control("kill", work=[(job_id, "b" * 6_000)])
            assert len(caught.value.message.encode()) < MESSAGE_LIMIT
            with pytest.raises(InvalidArgumentError) as many:
                await client.submit([{"name": "n"}] * 300)
            assert many.value.message.endswith("; and 280 more")

    asyncio.run(scenario())


def test_values_protobuf_cannot_hold_raise_request_errors(client: Client) -> None:
    from latchwork.client import RequestError

    with pytest.raises(RequestError):
        client.get_job(2**70)
    with pytest.raises(RequestError):
        client.submit([_job(pid=2**64)])
    with pytest.raises(RequestError):
        list(client.list_jobs(no_such_filter=1))
    with pytest.raises(RequestError):
        client.control("explode", [1])
    assert issubclass(RequestError, ValueError), "code that caught ValueError keeps working"


def test_a_closed_client_raises_a_latchwork_error(server: ServerProcess) -> None:
    client = server.client()
    client.close()
    with pytest.raises(LatchworkError):
        client.get_job(1)


# --- item 5: every request field validated ----------------------------------------------------


def test_unknown_enum_values_in_submit_are_refused(
    client: Client, stub: supervisor_pb2_grpc.SupervisorServiceStub
) -> None:
    before = _highest_job_id(client)
    cases = [
        (job_pb2.JobSpec(status=job_pb2.JobStatus.ValueType(99)), "jobs[0].status"),
        (job_pb2.JobSpec(prototype=job_pb2.Prototype.ValueType(77)), "jobs[0].prototype"),
        (
            job_pb2.JobSpec(
                prototype=job_pb2.PROTOTYPE_CMDRANGE,
                agenda=[
                    job_pb2.WorkSpec(name="1"),
                    job_pb2.WorkSpec(name="2", status=job_pb2.WorkStatus.ValueType(42)),
                ],
            ),
            "jobs[0].agenda[1].status",
        ),
    ]
    for spec, field in cases:
        spec.command.cmdline = "true"
        request = supervisor_pb2.SubmitRequest(jobs=[spec])
        error = _refusal(partial(stub.Submit, request))
        _assert_invalid(error, field, "unknown value")
    assert _highest_job_id(client) == before


def test_unknown_enum_values_in_filters_and_actions_are_refused(
    server: ServerProcess, stub: supervisor_pb2_grpc.SupervisorServiceStub
) -> None:
    with server.client() as client:
        job = client.submit([_job()]).jobs[0]
    _assert_invalid(
        _refusal(
            lambda: stub.Subscribe(
                supervisor_pb2.SubscribeRequest(
                    names=[event_pb2.EVENT_NAME_SUBMIT, event_pb2.EventName.ValueType(999)]
                ),
                timeout=10,
            )
        ),
        "names[1]",
        "unknown value 999",
    )
    _assert_invalid(
        _refusal(
            lambda: stub.Subscribe(
                supervisor_pb2.SubscribeRequest(types=[event_pb2.EventType.ValueType(64)]),
                timeout=10,
            )
        ),
        "types[0]",
        "unknown value 64",
    )
    _assert_invalid(
        _refusal(
            lambda: stub.ListJobs(
                supervisor_pb2.ListJobsRequest(statuses=[job_pb2.JobStatus.ValueType(42)])
            )
        ),
        "statuses[0]",
    )
    _assert_invalid(
        _refusal(
            lambda: stub.ControlJobs(
                supervisor_pb2.ControlJobsRequest(
                    action=supervisor_pb2.Action.ValueType(99), job_ids=[job.id]
                )
            )
        ),
        "action",
        "unknown value 99",
    )
    _assert_invalid(
        _refusal(
            lambda: stub.GetWorkOutput(
                supervisor_pb2.GetWorkOutputRequest(
                    job_id=job.id, work_name="0", stream=job_pb2.OutputStream.ValueType(9)
                )
            )
        ),
        "stream",
    )


def test_unknown_enum_values_from_workers_are_refused(server: ServerProcess) -> None:
    with server.channel() as channel:
        worker = worker_pb2_grpc.WorkerServiceStub(channel)
        worker_id = worker.RegisterWorker(
            worker_pb2.RegisterWorkerRequest(host="fuzzhost", slots=1)
        ).worker_id
        _assert_invalid(
            _refusal(
                lambda: worker.ReportWork(
                    worker_pb2.ReportWorkRequest(
                        worker_id=worker_id,
                        lease_id="x",
                        outcome=worker_pb2.WorkOutcome.ValueType(99),
                    )
                )
            ),
            "outcome",
            "unknown value 99",
        )
        _assert_invalid(
            _refusal(
                lambda: worker.AppendOutput(
                    worker_pb2.AppendOutputRequest(
                        worker_id=worker_id, lease_id="x", stream=job_pb2.OutputStream.ValueType(7)
                    )
                )
            ),
            "stream",
        )


@pytest.mark.parametrize("token", ["9" * 400, "²", "12", "-1", "AQEAAAAAAAAAAA", "\x00", "%"])
def test_page_tokens_are_opaque(
    stub: supervisor_pb2_grpc.SupervisorServiceStub, token: str
) -> None:
    runs = supervisor_pb2.ListCallbackRunsRequest(page_token=token)
    _assert_invalid(
        _refusal(lambda: stub.ListCallbackRuns(runs)),
        "page_token",
        "not a token from ListCallbackRuns",
    )
    jobs = supervisor_pb2.ListJobsRequest(page_token=token)
    _assert_invalid(
        _refusal(lambda: stub.ListJobs(jobs)), "page_token", "not a token from ListJobs"
    )


def test_paging_still_works_and_tokens_belong_to_their_call(
    client: Client, stub: supervisor_pb2_grpc.SupervisorServiceStub
) -> None:
    ids = [j.id for j in client.submit([_job() for _ in range(5)]).jobs]
    page = stub.ListJobs(supervisor_pb2.ListJobsRequest(page_size=2))
    assert page.next_page_token and not page.next_page_token.isdigit()
    assert set(ids) <= {j.id for j in client.list_jobs(page_size=2)}
    runs = supervisor_pb2.ListCallbackRunsRequest(page_token=page.next_page_token)
    _assert_invalid(_refusal(lambda: stub.ListCallbackRuns(runs)), "page_token")


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (supervisor_pb2.SubscribeRequest(heartbeat_seconds=-1), "heartbeat_seconds"),
        (supervisor_pb2.SubscribeRequest(heartbeat_seconds=3601), "heartbeat_seconds"),
        (supervisor_pb2.SubscribeRequest(after_seq=-2), "after_seq"),
        (supervisor_pb2.SubscribeRequest(job_ids=[1, -5]), "job_ids[1]"),
        (supervisor_pb2.SubscribeRequest(pgrps=[-1]), "pgrps[0]"),
        (supervisor_pb2.ListJobsRequest(page_size=-1), "page_size"),
        (supervisor_pb2.ListJobsRequest(parent_id=-3), "parent_id"),
        (supervisor_pb2.ListCallbackRunsRequest(page_size=-1), "page_size"),
        (supervisor_pb2.ListCallbackRunsRequest(job_id=-1), "job_id"),
        (supervisor_pb2.GetJobRequest(job_id=-7), "job_id"),
        (supervisor_pb2.ValidateTriggerRequest(triggers="complete-job-self", job_id=-1), "job_id"),
        (supervisor_pb2.AddCallbacksRequest(job_id=-1), "job_id"),
        (supervisor_pb2.GetWorkOutputRequest(job_id=1, work_name="0", limit=-1), "limit"),
        (supervisor_pb2.GetWorkOutputRequest(job_id=1, work_name="0", attempt=-1), "attempt"),
        (
            supervisor_pb2.ControlJobsRequest(
                action=supervisor_pb2.ACTION_BLOCK, job_ids=[1], reason="r" * 5000
            ),
            "reason",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else type(value).__name__,
)
def test_numeric_ranges_are_checked(
    stub: supervisor_pb2_grpc.SupervisorServiceStub, request_: Any, field: str
) -> None:
    method = getattr(stub, type(request_).__name__.removesuffix("Request"))
    if isinstance(request_, supervisor_pb2.ListCallbackRunsRequest):
        method = stub.ListCallbackRuns
    if isinstance(request_, supervisor_pb2.ControlJobsRequest):
        method = stub.ControlJobs
    _assert_invalid(_refusal(lambda: method(request_, timeout=10)), field)


def test_heartbeat_seconds_minus_one_is_not_a_busy_loop(
    stub: supervisor_pb2_grpc.SupervisorServiceStub,
) -> None:
    error = _refusal(
        lambda: stub.Subscribe(
            supervisor_pb2.SubscribeRequest(after_seq=-1, heartbeat_seconds=-1), timeout=10
        )
    )
    _assert_invalid(error, "heartbeat_seconds", "between 1 and 3600")


def test_the_message_never_names_python_classes(client: Client) -> None:
    job_id = client.submit([_job()]).jobs[0].id
    with pytest.raises(LatchworkError) as caught:
        client.control("block", work=[(job_id, "\u2028\x00\r\n" * 30_000)])
    assert "<class" not in caught.value.message and "Error" not in caught.value.message


def test_a_worker_names_a_bounded_number_of_leases(server: ServerProcess) -> None:
    too_many = [f"lease-{i}" for i in range(MAX_HELD_LEASES + 1)]
    with server.channel() as channel:
        worker = worker_pb2_grpc.WorkerServiceStub(channel)
        _assert_invalid(
            _refusal(
                lambda: worker.RegisterWorker(
                    worker_pb2.RegisterWorkerRequest(host="boundhost", slots=1, lease_ids=too_many)
                )
            ),
            "lease_ids",
            f"at most {MAX_HELD_LEASES}",
        )
        worker_id = worker.RegisterWorker(
            worker_pb2.RegisterWorkerRequest(host="boundhost", slots=1)
        ).worker_id
        _assert_invalid(
            _refusal(
                lambda: worker.Heartbeat(
                    worker_pb2.HeartbeatRequest(worker_id=worker_id, lease_ids=too_many)
                )
            ),
            "lease_ids",
            f"at most {MAX_HELD_LEASES}",
        )
