"""The HTTP side with a tokens file: a login for everything, the gRPC refusals passed on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.client import Client

from .http_client import EventStream, Http
from .serverproc import ServerProcess
from .waiting import wait_job

ALICE, BOB, ADMIN = "alice-token-0123456789", "bob-token-0123456789ab", "admin-token-0123456789"
WORKER = "worker-token-0123456789"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[ServerProcess]:
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(
        f'[[token]]\ntoken = "{ALICE}"\nuser = "alice"\n\n'
        f'[[token]]\ntoken = "{BOB}"\nuser = "bob"\n\n'
        f'[[token]]\ntoken = "{WORKER}"\nuser = "node1"\nrole = "worker"\n\n'
        f'[[token]]\ntoken = "{ADMIN}"\nuser = "wrangler"\nadmin = true\n'
    )
    tokens.chmod(0o600)
    process = ServerProcess(tmp_path / "data", env={"LATCHWORK_TOKENS_FILE": str(tokens)})
    yield process.start()
    process.stop()


def test_everything_needs_a_login_and_refusals_are_the_grpc_ones(secured: ServerProcess) -> None:
    with Client(secured.address, token=ALICE) as alice:
        job = alice.submit(
            [{"name": "mine", "package": {"cmdline": "true"}, "status": "blocked"}]
        ).jobs[0]
    stranger = Http(secured.http_url)
    for path in ("/api/jobs", f"/api/jobs/{job.id}", "/api/overview", "/api/events"):
        refused = stranger.get(path)
        assert refused.status == 401, path
        assert refused.error["code"] == "UNAUTHENTICATED"
    assert stranger.get("/api/whoami").body["logged_in"] is False
    assert stranger.get("/healthz").status == 200
    assert stranger.post("/api/login", {"token": "not-a-token-at-all"}).status == 401
    assert (
        stranger.post("/api/login", {"user": "alice"}).error["field_violations"][0]["field"]
        == "token"
    )
    worker = stranger.post("/api/login", {"token": WORKER})
    assert worker.status == 403 and "role 'worker'" in worker.error["message"]
    assert Http(secured.http_url, token="forged-token-000000").get("/api/jobs").status == 401

    bob = Http(secured.http_url)
    login = bob.post("/api/login", {"token": BOB})
    assert login.body == {
        "user": "bob",
        "admin": False,
        "open": False,
        "logged_in": True,
        "visibility": "all",
    }
    assert int(bob.get("/api/jobs").body["jobs"][0]["id"]) == job.id
    denied = bob.post(f"/api/jobs/{job.id}/control", {"action": "kill"})
    assert denied.status == 403 and denied.error["code"] == "PERMISSION_DENIED"
    with Client(secured.address, token=BOB) as bob_grpc, pytest.raises(Exception) as grpc_refusal:
        bob_grpc.control("kill", [job.id])
    assert denied.error["message"] == grpc_refusal.value.message  # type: ignore[attr-defined]
    assert bob.post(f"/api/jobs/{job.id}/modify", {"priority": 1}).status == 403
    forged = bob.post(f"/api/jobs/{job.id}/control", {"action": "kill"}, csrf=False)
    assert forged.status == 403 and "X-Latchwork" in forged.error["message"]
    bob.post("/api/logout")
    assert bob.get("/api/jobs").status == 401, "logged out"

    admin = Http(secured.http_url, token=ADMIN)
    assert admin.get("/api/whoami").body["admin"] is True
    killed = admin.post(f"/api/jobs/{job.id}/control", {"action": "kill"})
    assert killed.status == 200 and killed.body["results"][0]["changed"] is True


def test_the_event_stream_shows_each_user_what_grpc_would(tmp_path: Path) -> None:
    """Under ``visibility = "own"`` the dashboard's event stream (read in process, not over the
    bridge) scopes each caller as Subscribe does: bob's stream holds bob's events only, the
    admin's everyone's, and the two do not share a feed."""
    server = _own_visibility(tmp_path, slots=0)
    try:
        owners: dict[int, str] = {}
        for token, user in ((ALICE, "alice"), (BOB, "bob"), (ALICE, "alice")):
            with Client(server.address, token=token) as client:
                job = client.submit([{"name": user, "package": {"cmdline": "true"}}]).jobs[0]
                owners[job.id] = user
        last = max(owners)
        seen: dict[str, set[str]] = {}
        for token, who in ((BOB, "bob"), (ADMIN, "wrangler")):
            stream = EventStream(
                server.http_url, "/api/events?after_seq=0", {"Authorization": f"Bearer {token}"}
            )
            users: set[str] = set()
            for event in stream:
                if event.event != "lw":
                    continue
                body = event.json()
                users.add(owners[int(body["job_id"])])
                if who == "bob" or int(body["job_id"]) == last:
                    break  # bob's one job's submission; the admin: up to the last job
            stream.close()
            seen[who] = users
        assert seen == {"bob": {"bob"}, "wrangler": {"alice", "bob"}}
    finally:
        server.stop()


def test_the_overview_counts_for_each_user_what_grpc_would(tmp_path: Path) -> None:
    """The overview is read in process (http/local_overview.py), not over the bridge. Under
    ``visibility = "own"`` each caller's overview holds what their own SummarizeFarm and
    ListHosts say over gRPC: bob counts bob's jobs and sees no failure of alice's, the admin
    counts everyone's. (Whether bob's frames run depends on the machine's accounts; the
    comparison does not.)"""
    server = _own_visibility(tmp_path, slots=1)
    try:
        with Client(server.address, token=ALICE) as alice:
            failed = alice.submit([{"name": "breaks", "package": {"cmdline": "false"}}]).jobs[0]
            wait_job(alice, failed.id)
        with Client(server.address, token=BOB) as bob:
            done = bob.submit([{"name": "works", "package": {"cmdline": "true"}}]).jobs[0]
            waits = bob.submit(
                [{"name": "waits", "package": {"cmdline": "true"}, "status": "blocked"}]
            ).jobs[0]
            wait_job(bob, done.id)
        for token, jobs in ((BOB, 2), (ADMIN, 3)):
            overview = Http(server.http_url, token=token).get("/api/overview").body
            with Client(server.address, token=token) as client:
                summary = client.summarize_farm()
                hosts = client.list_hosts().hosts
            assert overview["jobs_by_status"] == dict(summary.jobs_by_status)
            assert sum(overview["jobs_by_status"].values()) == jobs
            assert overview["frames_by_status"] == dict(summary.frames_by_status)
            assert overview["head_seq"] == summary.head_seq
            assert [f["job_id"] for f in overview["recent_failures"]] == [
                event.job_id for event in summary.recent_failures
            ]
            assert overview["hosts"] == {
                "up": len(hosts),
                "down": 0,
                "locked": 0,
                "slots": sum(h.slots for h in hosts),
                "slots_in_use": sum(h.slots_in_use for h in hosts),
            }
            shown_failures = {int(f["job_id"]) for f in overview["recent_failures"]}
            if token == BOB:
                assert shown_failures <= {done.id, waits.id}
            else:
                assert failed.id in shown_failures
    finally:
        server.stop()


def _own_visibility(tmp_path: Path, *, slots: int) -> ServerProcess:
    """A started supervisor with alice, bob and an admin, under ``visibility = "own"``."""
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(
        f'[[token]]\ntoken = "{ALICE}"\nuser = "alice"\n\n'
        f'[[token]]\ntoken = "{BOB}"\nuser = "bob"\n\n'
        f'[[token]]\ntoken = "{ADMIN}"\nuser = "wrangler"\nadmin = true\n'
    )
    tokens.chmod(0o600)
    return ServerProcess(
        tmp_path / "data",
        slots=slots,
        env={"LATCHWORK_TOKENS_FILE": str(tokens), "LATCHWORK_VISIBILITY": "own"},
    ).start()
