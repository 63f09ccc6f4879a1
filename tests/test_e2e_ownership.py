"""With tokens, only the owner of a process group or of a parent job (or an admin) adds jobs
there (issue 10, item 10). Against a real supervisor with a tokens file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from latchwork.client import Client, LatchworkError
from latchwork.v1 import job_pb2

from .serverproc import ServerProcess

ALICE, BOB, ADMIN = "alice-token-0123456789", "bob-token-0123456789ab", "admin-token-0123456789"


def _job(label: str, **extra: object) -> dict[str, object]:
    return {
        "name": label,
        "label": label,
        "package": {"cmdline": "true"},
        "status": "blocked",
        **extra,
    }


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[ServerProcess]:
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(
        f'[[token]]\ntoken = "{ALICE}"\nuser = "alice"\n\n'
        f'[[token]]\ntoken = "{BOB}"\nuser = "bob"\n\n'
        f'[[token]]\ntoken = "{ADMIN}"\nuser = "wrangler"\nadmin = true\n'
    )
    tokens.chmod(0o600)  # a tokens file others can read is refused
    server = ServerProcess(
        tmp_path / "data", slots=0, env={"LATCHWORK_TOKENS_FILE": str(tokens)}
    ).start()
    yield server
    server.stop()


def _all_ids(client: Client) -> set[int]:
    return {j.id for j in client.list_jobs(statuses=[s for s in job_pb2.JobStatus.values() if s])}


def test_only_the_owner_or_an_admin_adds_jobs_to_a_group_or_below_a_job(
    secured: ServerProcess,
) -> None:
    with (
        Client(secured.address, token=BOB) as bob,
        Client(secured.address, token=ALICE) as alice,
        Client(secured.address, token=ADMIN) as admin,
    ):
        group = bob.submit([_job("render"), _job("comp")])
        root, second = group.jobs[0], group.jobs[1]
        before = _all_ids(bob)

        with pytest.raises(LatchworkError) as squat:
            alice.submit([_job("publish")], pgrp=group.pgrp)
        assert squat.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert type(squat.value).__name__ == "PermissionDeniedError"
        assert f"process group {group.pgrp} belongs to 'bob'" in squat.value.message
        assert squat.value.message.startswith("pgrp: ")

        with pytest.raises(LatchworkError) as adopt:
            alice.submit([_job("mine"), _job("child", pid=second.id)])
        assert adopt.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert adopt.value.message.startswith(f"jobs[1].pid: job {second.id} belongs to 'bob'")

        # Her own tree is hers: a child below her own job is fine, in a group of her own.
        own = alice.submit([_job("own")]).jobs[0]
        assert alice.submit([_job("kid", pid=own.id)], pgrp=own.pgrp).jobs[0].spec.pid == own.id
        assert _all_ids(bob) - before == {own.id, own.id + 1}, "refusals stored nothing"

        # The owner and an admin may.
        assert bob.submit([_job("publish", pid=root.id)], pgrp=group.pgrp).pgrp == group.pgrp
        added = admin.submit([_job("qc", pid=second.id, user="bob")], pgrp=group.pgrp)
        assert added.jobs[0].user == "bob" and added.jobs[0].pgrp == group.pgrp


def test_open_mode_keeps_ownership_out_of_the_way(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    try:
        with Client(server.address, user="bob") as bob, Client(server.address, user="al") as al:
            group = bob.submit([_job("render")])
            joined = al.submit([_job("extra", pid=group.jobs[0].id)], pgrp=group.pgrp)
            assert joined.pgrp == group.pgrp
            with pytest.raises(LatchworkError) as missing:
                al.submit([_job("x")], pgrp=10**6)
            assert missing.value.code == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        server.stop()
