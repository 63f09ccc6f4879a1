"""Bearer tokens, users and the admin role; TLS. Against a real supervisor."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from latchwork.client import Client, LatchworkError
from latchwork.v1 import event_pb2

from .certs import self_signed
from .serverproc import ServerProcess
from .standard_rpcs import health_stub

ALICE, BOB, ADMIN = "alice-token-0123456789", "bob-token-0123456789ab", "admin-token-0123456789"


def _job(label: str) -> dict[str, object]:
    return {"name": label, "label": label, "package": {"cmdline": "true"}, "status": "blocked"}


@pytest.fixture
def secured(tmp_path: Path) -> ServerProcess:
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(
        f'[[token]]\ntoken = "{ALICE}"\nuser = "alice"\n\n'
        f'[[token]]\ntoken = "{BOB}"\nuser = "bob"\n\n'
        f'[[token]]\ntoken = "{ADMIN}"\nuser = "wrangler"\nadmin = true\n'
    )
    tokens.chmod(0o600)  # a tokens file others can read is refused
    return ServerProcess(tmp_path / "data", env={"LATCHWORK_TOKENS_FILE": str(tokens)}).start()


def test_tokens_decide_the_user_and_what_they_may_touch(secured: ServerProcess) -> None:
    try:
        with Client(secured.address, token="not-a-token-at-all") as stranger:
            with pytest.raises(LatchworkError) as caught:
                list(stranger.list_jobs())
            assert caught.value.code == grpc.StatusCode.UNAUTHENTICATED
        with Client(secured.address, user="mallory", token=ALICE) as alice:
            job = alice.submit([_job("mine")]).jobs[0]
            assert job.user == "alice", "the token decides the user, not the metadata"
            with pytest.raises(LatchworkError) as impersonation:
                alice.submit([{**_job("theirs"), "user": "bob"}])
            assert impersonation.value.violations[0].field == "jobs[0].user"
        with Client(secured.address, token=BOB) as bob:
            with pytest.raises(LatchworkError) as denied:
                bob.control("kill", [job.id])
            assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED
            events = bob.subscribe(after_seq=0)
            first = next(iter(events))
            assert isinstance(first, event_pb2.Event)
            assert first.job_id == job.id
        with Client(secured.address, token=ADMIN) as admin:
            assert admin.control("kill", [job.id]).results[0].changed
        with secured.channel() as channel:
            health = health_stub(channel).Check(health_pb2.HealthCheckRequest())
            assert health.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        secured.stop()


def test_tls(tmp_path: Path) -> None:
    key, cert = self_signed(tmp_path)
    server = ServerProcess(
        tmp_path / "data", env={"LATCHWORK_TLS_CERT": str(cert), "LATCHWORK_TLS_KEY": str(key)}
    ).start()
    try:
        with Client(server.address, tls_ca=str(cert)) as client:
            assert client.submit([_job("secure")]).jobs[0].label == "secure"
        with Client(server.address) as plain:
            with pytest.raises(LatchworkError) as caught:
                list(plain.list_jobs())
            assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop()
