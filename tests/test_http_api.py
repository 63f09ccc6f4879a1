"""The supervisor's HTTP side over real HTTP against a real ``latchwork serve`` (open mode):
every JSON endpoint, its refusals and open mode's read-only rule."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .http_client import Http
from .serverproc import ServerProcess
from .waiting import wait_job


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", slots=2).start()
    yield process
    process.stop()


def _blocked(label: str, **extra: object) -> dict[str, object]:
    return {"name": label, "label": label, "package": {"cmdline": "true"}, "status": "blocked"}


def _logged_in(server: ServerProcess, user: str = "tester") -> Http:
    browser = Http(server.http_url)
    reply = browser.post("/api/login", {"user": user})
    assert reply.status == 200, reply.body
    assert reply.body == {
        "user": user,
        "admin": False,
        "open": True,
        "logged_in": True,
        "visibility": "all",
    }
    cookie = reply.headers["Set-Cookie"]
    assert "latchwork_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Path=/" in cookie
    return browser


def test_health_index_static_and_whoami(served: ServerProcess) -> None:
    browser = Http(served.http_url)
    health = browser.get("/healthz")
    assert (health.status, health.body) == (200, "ok")
    assert health.headers["Content-Type"].startswith("text/plain")
    index = browser.get("/")
    assert index.status == 200 and "<html" in index.body.lower()
    assert index.headers["Cache-Control"] == "no-cache"
    static_dir = Path(__file__).parent.parent / "server/latchwork/server/http/static"
    scripts = sorted(p for p in static_dir.rglob("*.js"))
    if scripts:
        path = "/static/" + scripts[0].relative_to(static_dir).as_posix()
        script = browser.get(path)
        assert script.status == 200
        assert "javascript" in script.headers["Content-Type"]
        assert script.headers["Cache-Control"] == "no-cache" and script.headers["Etag"]
    assert browser.get("/static/../pyproject.toml").status == 404
    assert browser.get("/api/whoami").body == {
        "user": "",
        "admin": False,
        "open": True,
        "logged_in": False,
        "visibility": "all",
    }


def test_open_mode_reads_without_login_and_acts_only_after_it(served: ServerProcess) -> None:
    with served.client() as client:
        job = client.submit([_blocked("held")]).jobs[0]
    anonymous = Http(served.http_url)
    assert anonymous.get(f"/api/jobs/{job.id}").body["status"] == "JOB_STATUS_BLOCKED"
    refused = anonymous.post(f"/api/jobs/{job.id}/control", {"action": "kill"})
    assert refused.status == 401 and refused.error["code"] == "UNAUTHENTICATED"
    assert "POST /api/login" in refused.error["message"]
    browser = _logged_in(served)
    no_header = browser.post(f"/api/jobs/{job.id}/control", {"action": "kill"}, csrf=False)
    assert no_header.status == 403 and "X-Latchwork: 1" in no_header.error["message"]
    modified = browser.post(f"/api/jobs/{job.id}/modify", {"priority": 7, "reason": "rush"})
    assert modified.status == 200 and modified.body["changed_job_ids"] == [str(job.id)]
    killed = browser.post(f"/api/jobs/{job.id}/control", {"action": "kill", "reason": "ui"})
    assert killed.status == 200 and killed.body["results"][0]["changed"] is True
    shown = browser.get(f"/api/jobs/{job.id}").body
    assert shown["status"] == "JOB_STATUS_KILLED" and shown["spec"]["priority"] == 7
    assert browser.post("/api/logout").status == 200
    assert browser.get("/api/whoami").body["logged_in"] is False
    again = browser.post(f"/api/jobs/{job.id}/control", {"action": "retry"})
    assert again.status == 401


def test_bad_parameters_are_400_naming_the_field(served: ServerProcess) -> None:
    browser = _logged_in(served)
    cases = {
        "/api/jobs?status=JOB_STATUS_SLEEPY": "status",
        "/api/jobs?page_size=0": "page_size",
        "/api/jobs?pgrp=x": "pgrp",
        "/api/jobs/abc": "id",
        "/api/graph": "pgrp",
        "/api/jobs/1/events?limit=100000": "limit",
    }
    for path, field in cases.items():
        reply = browser.get(path)
        assert reply.status == 400, (path, reply.body)
        assert reply.error["code"] == "INVALID_ARGUMENT"
        assert [v["field"] for v in reply.error["field_violations"]] == [field], path
    bad_token = browser.get("/api/jobs?page_token=forged")
    assert bad_token.status == 400 and bad_token.error["field_violations"][0]["field"] == (
        "page_token"
    ), "the gRPC API's own field violation, passed through"
    action = browser.post("/api/jobs/1/control", {"action": "explode"})
    assert action.status == 400 and action.error["field_violations"][0]["field"] == "action"
    change = browser.post("/api/jobs/1/modify", {"colour": "red"})
    assert change.status == 400 and change.error["field_violations"][0]["field"] == "colour"
    missing = browser.get("/api/jobs/424242")
    assert missing.status == 404 and missing.error["code"] == "NOT_FOUND"


def test_listing_pages_through_every_job_newest_first(served: ServerProcess) -> None:
    with served.client() as client:
        ids = [client.submit([_blocked(f"j{i}")]).jobs[0].id for i in range(5)]
    browser = Http(served.http_url)
    seen: list[int] = []
    token = ""
    while True:
        page = browser.get(f"/api/jobs?page_size=2&page_token={token}").body
        assert len(page["jobs"]) <= 2
        seen += [int(job["id"]) for job in page["jobs"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == sorted(ids, reverse=True)
    blocked = browser.get("/api/jobs?status=blocked&name=j*").body["jobs"]
    assert {int(j["id"]) for j in blocked} == set(ids)
    assert browser.get("/api/jobs?status=JOB_STATUS_RUNNING").body["jobs"] == []
    assert len(browser.get(f"/api/jobs?pgrp={ids[0]}").body["jobs"]) == 1


def test_output_is_followed_with_offsets_until_the_frame_ends(served: ServerProcess) -> None:
    script = "for i in 1 2 3 4; do echo line$i; sleep 0.3; done; echo oops >&2"
    with served.client() as client:
        job = client.submit([{"name": "talk", "package": {"cmdline": script}}]).jobs[0]
        browser = Http(served.http_url)
        text, offset, chunks = "", 0, 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            reply = browser.get(f"/api/jobs/{job.id}/work/0/output?offset={offset}")
            if reply.status == 404:  # not started yet
                time.sleep(0.1)
                continue
            assert reply.status == 200, reply.body
            text += reply.body["data"]
            chunks += 1 if reply.body["data"] else 0
            assert reply.body["next_offset"] >= offset
            offset = reply.body["next_offset"]
            if reply.body["eof"]:
                break
            time.sleep(0.1)
        assert text == "line1\nline2\nline3\nline4\n"
        wait_job(client, job.id)
    stderr = browser.get(f"/api/jobs/{job.id}/work/0/output?stderr=1").body
    assert stderr["data"] == "oops\n" and stderr["size"] == 5


def test_job_events_runs_hosts_and_overview(served: ServerProcess) -> None:
    with served.client() as client:
        done = client.submit([{"name": "ok", "package": {"cmdline": "true"}}]).jobs[0]
        failed = client.submit([{"name": "broken", "package": {"cmdline": "exit 3"}}]).jobs[0]
        wait_job(client, done.id)
        wait_job(client, failed.id)
        client.submit([_blocked("other")])
    browser = Http(served.http_url)
    events = browser.get(f"/api/jobs/{done.id}/events?limit=3").body["events"]
    assert 0 < len(events) <= 3
    assert {e["job_id"] for e in events} == {str(done.id)}
    seqs = [int(e["seq"]) for e in events]
    assert seqs == sorted(seqs) and events[-1]["name"] == "EVENT_NAME_COMPLETE"
    every = browser.get(f"/api/jobs/{done.id}/events").body["events"]
    assert every[0]["name"] == "EVENT_NAME_SUBMIT" and every[-3:] == events
    assert browser.get(f"/api/jobs/{done.id}/runs").body == {"runs": [], "next_page_token": ""}
    hosts = browser.get("/api/hosts").body["hosts"]
    assert [h["name"] for h in hosts] == ["testhost"] and hosts[0]["slots"] == 2
    overview = browser.get("/api/overview").body
    assert overview["jobs_by_status"] == {
        "JOB_STATUS_COMPLETE": 1,
        "JOB_STATUS_FAILED": 1,
        "JOB_STATUS_BLOCKED": 1,
    }
    assert overview["frames_by_status"]["WORK_STATUS_COMPLETE"] == 1
    assert overview["frames_by_status"]["WORK_STATUS_FAILED"] == 1
    assert overview["hosts"] == {"up": 1, "down": 0, "locked": 0, "slots": 2, "slots_in_use": 0}
    assert overview["head_seq"] >= max(seqs)
    failures = overview["recent_failures"]
    assert failures and {f["job_id"] for f in failures} == {failed.id}
    assert failures[0]["job_name"] == "broken" and failures[0]["seq"] > 0


def test_graph_draws_triggers_and_children_across_groups(served: ServerProcess) -> None:
    with served.client() as client:
        first = client.submit(
            [
                _blocked("render"),
                {
                    **_blocked("comp"),
                    "callbacks": [{"triggers": "complete-job-render", "code": "unblock-self"}],
                },
            ]
        ).jobs
        render, comp = first[0], first[1]
        child = client.submit([{**_blocked("child"), "pid": render.id}]).jobs[0]
        unrelated = client.submit([_blocked("unrelated")]).jobs[0]
    browser = Http(served.http_url)
    group = browser.get(f"/api/graph?pgrp={render.pgrp}").body
    names = {node["id"]: node["name"] for node in group["nodes"]}
    assert names[render.id] == "render" and names[comp.id] == "comp"
    assert names[child.id] == "child", "the other group's end of an edge is drawn"
    assert unrelated.id not in names
    edges = {(e["from"], e["to"], e["kind"]) for e in group["edges"]}
    assert (render.id, child.id, "child") in edges
    assert (render.id, comp.id, "trigger") in edges
    trigger = next(e for e in group["edges"] if e["kind"] == "trigger")
    assert trigger["trigger"] == "complete-job-render"
    across = browser.get(f"/api/graph?job={child.id}").body
    assert {n["id"] for n in across["nodes"]} == {render.id, comp.id, child.id}


def test_explain_answers_as_the_grpc_call_does(served: ServerProcess) -> None:
    with served.client() as client:
        jobs = client.submit(
            [
                _blocked("a"),
                {
                    **_blocked("b"),
                    "callbacks": [{"triggers": "complete-job-a", "code": "kill-self"}],
                },
            ]
        ).jobs
    browser = Http(served.http_url)
    reply = browser.get(f"/api/jobs/{jobs[1].id}/explain")
    assert reply.status == 200, reply.body
    assert reply.body["job_id"] == str(jobs[1].id)
    callback = reply.body["callbacks"][0]
    assert callback["triggers"] == "complete-job-a" and callback["satisfied"] is False
    assert callback["root"]["watches_job_id"] == str(jobs[0].id)
    assert browser.get("/api/jobs/999999/explain").status == 404
