"""Request limits and NUL bytes over real gRPC, and health answering during a large Submit.

A refused Submit is INVALID_ARGUMENT with the field path and leaves no trace (no job, no
event); the largest legal Submit is accepted (written staged) while health checks keep being
answered; Python callback code is checked off the event loop, so health checks are answered
while a Submit's code is being checked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2

from latchwork.client import Client, LatchworkError
from latchwork.v1 import supervisor_pb2, supervisor_pb2_grpc

from .serverproc import ServerProcess
from .standard_rpcs import health_stub

JOBS_PER_SUBMIT = 2_000
WORK_ITEMS_PER_SUBMIT = 100_000
WORK_ITEMS_PER_JOB = 50_000
INSTANCES_PER_SUBMIT = 10_000
CODE_BYTES = 64 * 2**10
CODE_BYTES_PER_SUBMIT = 512 * 2**10
REQUEST_BYTES = 4 * 2**20
CALLBACKS_PER_SUBMIT = 500


@pytest.fixture(scope="module")
def limits_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("limits") / "data", slots=1).start()
    yield server
    server.stop()


def head_seq(client: Client) -> int:
    stub = supervisor_pb2_grpc.SupervisorServiceStub(client._channel)  # noqa: SLF001
    reply = stub.Subscribe(supervisor_pb2.SubscribeRequest(after_seq=-1, heartbeat_seconds=1))
    try:
        for message in reply:
            if message.HasField("heartbeat"):
                return int(message.heartbeat.head_seq)
    finally:
        reply.cancel()
    raise AssertionError("no heartbeat")


def refused(client: Client, jobs: list[dict[str, Any]]) -> LatchworkError:
    """Submit ``jobs``, which must be refused and leave no job behind."""
    before = len(list(client.list_jobs()))
    with pytest.raises(LatchworkError) as error:
        client.submit(jobs)
    assert len(list(client.list_jobs())) == before, "a refused Submit left a job"
    return error.value


def cmd(cmdline: str = "true", **fields: Any) -> dict[str, Any]:
    return {"package": {"cmdline": cmdline}, **fields}


@pytest.mark.parametrize(
    ("job", "path"),
    [
        (cmd("echo a\x00b"), "jobs[0].command.cmdline"),
        (cmd(env={"A": "x\x00y"}), "jobs[0].env['A']"),
        (cmd(env={"A\x00B": "x"}), "jobs[0].env['A\\x00B']"),
        (cmd(cwd="/tmp\x00"), "jobs[0].cwd"),
    ],
    ids=["cmdline", "env value", "env name", "cwd"],
)
def test_a_nul_byte_is_refused_at_submit(
    limits_server: ServerProcess, job: dict[str, Any], path: str
) -> None:
    with limits_server.client() as client:
        seq = head_seq(client)
        error = refused(client, [job])
        assert head_seq(client) == seq, "a refused Submit wrote events"
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in error.violations] == [path]
    assert "NUL" in error.violations[0].description
    assert f"{path}: " in error.message


@pytest.mark.parametrize(
    ("jobs", "path", "words"),
    [
        ([cmd(label="l" * 10_000)], "jobs[0].label", "10000 characters; at most 128"),
        (
            [{"prototype": "cmdrange", "package": {"cmdline": "true", "range": "1-1000000"}}],
            "jobs[0].command.frame_range",
            "more than 50000 frames",
        ),
        ([cmd()] * (JOBS_PER_SUBMIT + 1), "jobs", "at most 2000"),
        ([cmd(env={"BIG": "x" * 40_000})], "jobs[0].env['BIG']", "at most 32768"),
        (
            [cmd(data={f"k{i}": "v" * 60_000 for i in range(5)})],
            "jobs[0].data",
            "at most 262144",
        ),
        # 4.5 MB in all: over the Submit's 4 MiB, under the transport's 8 MiB.
        ([cmd(env={"E": "x" * 30_000}) for _ in range(150)], "request", "at most 4194304"),
    ],
    ids=["label", "million frames", "jobs", "env value", "data", "request size"],
)
def test_a_submit_over_a_limit_is_refused_with_the_path(
    limits_server: ServerProcess, jobs: list[dict[str, Any]], path: str, words: str
) -> None:
    with limits_server.client() as client:
        error = refused(client, jobs)
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT, error
    assert path in [v.field for v in error.violations], error.violations[:3]
    assert any(words in v.description for v in error.violations if v.field == path)


def test_a_message_over_the_transport_limit_is_refused_unread(
    limits_server: ServerProcess,
) -> None:
    with limits_server.client() as client:
        error = refused(client, [cmd(env={"E": "x" * 30_000}) for _ in range(300)])
    assert error.code is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_add_callbacks_counts_the_callbacks_a_job_has(limits_server: ServerProcess) -> None:
    with limits_server.client() as client:
        job = client.submit([cmd(status="blocked")]).jobs[0]
        unblock = {"triggers": "done-job-self", "code": "unblock-self"}
        client.add_callbacks(job.id, [unblock] * 90)
        with pytest.raises(LatchworkError) as error:
            client.add_callbacks(job.id, [unblock] * 11)
        assert error.value.code is grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in error.value.violations] == ["callbacks"]
        assert len(client.get_job(job.id).callbacks) == 90


def comment_code(size: int, tag: str) -> str:
    """Python of ``size`` bytes that is mostly a comment: quick to check."""
    head = f"print({tag!r})\n"
    return head + "#" * (size - len(head) - 1) + "\n"


def slow_code(size: int, tag: str) -> str:
    """Python of ``size`` bytes, an f-string of 20,000 parts: ~0.5 s to check, most of it in
    the parser."""
    head = f"# {tag}\nx = f'"
    return head + "{a}" * ((size - len(head) - 2) // 3) + "'\n"


def python_callbacks(count: int, make: Any, tag: str) -> list[dict[str, Any]]:
    return [
        {"triggers": "done-job-self", "language": "python", "code": make(CODE_BYTES, f"{tag}{i}")}
        for i in range(count)
    ]


class HealthCounter:
    """Health checks one after another on their own channel, counting the answers."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address)
        self.health = health_stub(self.channel)
        self.health.Check(health_pb2.HealthCheckRequest(), timeout=10)
        self.answered: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe)

    def _probe(self) -> None:
        while not self._stop.is_set():
            self.health.Check(health_pb2.HealthCheckRequest(), timeout=120)
            self.answered.append(time.monotonic())
            time.sleep(0.005)

    def __enter__(self) -> HealthCounter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)
        self.channel.close()

    def between(self, start: float, end: float) -> int:
        return sum(1 for t in self.answered if start <= t < end)


def test_the_largest_legal_submit_is_accepted_while_health_answers(
    limits_server: ServerProcess,
) -> None:
    """Every per-Submit limit at once: 2,000 jobs, 100,000 work items (one job at the per-job
    limit), 10,000 instances, 500 callbacks, 512 KiB of code. It is written staged, and health
    checks are answered all along (counted, not timed)."""
    python = CODE_BYTES_PER_SUBMIT // CODE_BYTES - 1  # room for the qube callbacks' code
    rest = JOBS_PER_SUBMIT - 2  # one work item and one instance each
    cpus = (INSTANCES_PER_SUBMIT - rest) // 2
    big = {
        "prototype": "cmdrange",
        "package": {"cmdline": "true", "range": f"1-{WORK_ITEMS_PER_JOB}"},
        "status": "blocked",
        "cpus": cpus,
        "callbacks": python_callbacks(python, comment_code, "largest"),
    }
    second = {
        "prototype": "cmdrange",
        "package": {
            "cmdline": "true",
            "range": f"1-{WORK_ITEMS_PER_SUBMIT - WORK_ITEMS_PER_JOB - rest}",
        },
        "status": "blocked",
        "cpus": cpus,
    }
    unblock = {"triggers": "done-job-self", "code": "unblock-self"}
    callbacks_left = CALLBACKS_PER_SUBMIT - python
    others = [
        cmd(status="blocked", callbacks=[unblock] if i < callbacks_left else [])
        for i in range(rest)
    ]
    with limits_server.client() as client, HealthCounter(limits_server.address) as health:
        time.sleep(0.2)
        start = time.monotonic()
        reply = client.submit([big, second, *others])
        end = time.monotonic()
        assert len(reply.jobs) == JOBS_PER_SUBMIT
        assert sum(job.counts.blocked + job.counts.pending for job in reply.jobs) == (
            WORK_ITEMS_PER_SUBMIT
        )
        assert len(client.get_job(reply.jobs[0].id).callbacks) == python
        listed = {job.id for job in client.list_jobs()}
        assert {job.id for job in reply.jobs} <= listed
    # ~300 answers in a 1.5 s Submit on the reference machine; any stall of the event loop
    # for the length of the Submit would leave next to none.
    during = health.between(start, end)
    assert during >= 20, f"health answered {during} times during a {end - start:.1f} s Submit"


def test_health_answers_while_python_callbacks_are_checked(tmp_path: Path) -> None:
    """Checking 7 callbacks of 64 KiB took ~3 s on the event loop: health got no answer."""
    server = ServerProcess(tmp_path / "data", slots=0).start()
    try:
        channel = grpc.insecure_channel(server.address)
        health = health_stub(channel)
        health.Check(health_pb2.HealthCheckRequest(), timeout=10)
        answered: list[float] = []
        stop = threading.Event()

        def probe() -> None:
            while not stop.is_set():
                health.Check(health_pb2.HealthCheckRequest(), timeout=120)
                answered.append(time.monotonic())
                time.sleep(0.005)

        jobs = [
            cmd(status="blocked", callbacks=python_callbacks(1, slow_code, f"health{i}"))
            for i in range(CODE_BYTES_PER_SUBMIT // CODE_BYTES - 1)
        ]
        thread = threading.Thread(target=probe)
        with server.client() as client:
            thread.start()
            time.sleep(0.2)
            start = time.monotonic()
            reply = client.submit(jobs)
            end = time.monotonic()
            stop.set()
            thread.join(timeout=120)
        channel.close()
        assert len(reply.jobs) == len(jobs)
        during = [t for t in answered if start <= t < end]
        assert len(during) >= 50, (
            f"health answered {len(during)} times during a {end - start:.1f} s Submit"
        )
    finally:
        server.stop()
