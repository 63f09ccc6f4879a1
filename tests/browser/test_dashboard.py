"""The dashboard in a real browser (headless Chromium) against a live supervisor: every page
updates from the event stream without a reload, and every action is refused exactly as over
gRPC. Frames that must stay running wait for a gate file the test creates."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import uuid4

import pytest
from selenium import webdriver

from latchwork.client import Client, LatchworkError
from latchwork.v1 import job_pb2

from ..serverproc import ServerProcess
from ..waiting import FINAL
from .browser import Dashboard
from .conftest import ALICE, BOB, Farm

FONT_SIZE = "return parseFloat(getComputedStyle(document.body).fontSize)"


def _gate(farm: Farm) -> Path:
    return farm.gates / uuid4().hex


def _gated(gate: Path, before: str = "", after: str = "") -> str:
    """A command that prints ``before``, waits for ``gate`` to exist, then prints ``after``."""
    return f"echo {before}; while [ ! -e {gate} ]; do sleep 0.1; done; echo {after}"


def wait_for_job(client: Client, job_id: int, timeout: float = 60.0) -> job_pb2.Job:
    """The job once final (polled: the tokens' metadata rides on every call of ``client``)."""
    deadline = time.monotonic() + timeout
    while (job := client.get_job(job_id)).status not in FINAL:
        assert time.monotonic() < deadline, f"job {job_id} still {job.status} after {timeout} s"
        time.sleep(0.1)
    return job


def _alice(farm: Farm) -> Client:
    return Client(farm.server.address, token=ALICE)


def test_the_overview_loads_from_the_supervisor_alone(dash: Dashboard, farm: Farm) -> None:
    dash.login(ALICE, "alice")
    dash.css("#jobs-by-state")
    dash.css("#hosts-summary")
    dash.wait_text("#live", "live")
    assert dash.text("h1") == "Farm overview"
    loaded = dash.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded and all(url.startswith(dash.base_url + "/") for url in loaded), loaded
    dash.shot("overview")


def test_a_job_submitted_over_grpc_appears_without_reload(dash: Dashboard, farm: Farm) -> None:
    dash.login(ALICE, "alice")
    dash.go("#/jobs")
    dash.css("#job-table")
    dash.mark_document()
    with _alice(farm) as alice:
        job = alice.submit(
            [{"name": "appears", "package": {"cmdline": "true"}, "status": "blocked"}]
        ).jobs[0]
    row = f"tr[data-job-id='{job.id}']"
    dash.css(row)
    assert "appears" in dash.text(row) and "blocked" in dash.text(row)
    assert dash.same_document()


def test_the_frame_grid_fills_in_as_frames_finish(dash: Dashboard, farm: Farm) -> None:
    gate = _gate(farm)
    with _alice(farm) as alice:
        job = alice.submit(
            [
                {
                    "name": "grid",
                    "prototype": "cmdrange",
                    "cpus": 4,
                    "package": {"cmdline": _gated(gate, "frame QB_FRAME_NUMBER"), "range": "1-4"},
                }
            ]
        ).jobs[0]
        dash.login(ALICE, "alice")
        dash.go(f"#/job/{job.id}")
        dash.wait(lambda _d: dash.count("#frame-grid .cell") == 4)
        dash.css("#frame-grid .cell[data-status='running']")
        dash.mark_document()
        assert not dash.count("#frame-grid .cell[data-status='complete']")
        gate.touch()
        dash.wait(lambda _d: dash.count("#frame-grid .cell[data-status='complete']") == 4)
        assert dash.same_document()
        title = dash.attrs("#frame-grid .cell[data-work='1']", "title")[0]
        assert "complete" in title and "exit code 0" in title and "host testhost" in title
        assert "attempt 1" in title and "duration" in title
        assert wait_for_job(alice, job.id).status == job_pb2.JOB_STATUS_COMPLETE


def test_a_running_frames_log_streams(dash: Dashboard, farm: Farm) -> None:
    gate = _gate(farm)
    with _alice(farm) as alice:
        job = alice.submit(
            [{"name": "log", "package": {"cmdline": _gated(gate, "first-line", "second-line")}}]
        ).jobs[0]
        dash.login(ALICE, "alice")
        dash.go(f"#/job/{job.id}")
        dash.click("#frame-grid .cell[data-status='running']")
        dash.wait_text("#log", "first-line")
        assert "second-line" not in dash.text("#log")
        dash.shot("job")
        gate.touch()
        dash.wait_text("#log", "second-line")
        wait_for_job(alice, job.id)


def test_the_graph_has_a_node_per_job_of_a_chain(dash: Dashboard, farm: Farm) -> None:
    with _alice(farm) as alice:
        a, b, c = alice.submit(
            [
                {"name": "A", "label": "A", "package": {"cmdline": "true"}, "status": "blocked"},
                {
                    "name": "B",
                    "label": "B",
                    "package": {"cmdline": "true"},
                    "dependency": "link-complete-job-A",
                },
                {
                    "name": "C",
                    "label": "C",
                    "package": {"cmdline": "true"},
                    "dependency": "link-complete-job-B",
                },
            ]
        ).jobs
    dash.login(ALICE, "alice")
    dash.go(f"#/graph?pgrp={a.pgrp}")
    dash.wait(lambda _d: dash.count("#graph-svg .node") == 3)
    nodes = set(dash.attrs("#graph-svg .node", "data-job-id"))
    assert nodes == {str(a.id), str(b.id), str(c.id)}
    edges = set(
        zip(
            dash.attrs("#graph-svg .edge.trigger", "data-from"),
            dash.attrs("#graph-svg .edge.trigger", "data-to"),
            strict=True,
        )
    )
    assert {(str(a.id), str(b.id)), (str(b.id), str(c.id))} <= edges
    assert "complete-job" in dash.text("#graph-svg .edge.trigger")
    dash.shot("graph")
    dash.click(f"#graph-svg .node[data-job-id='{b.id}']")
    dash.wait_text("#job-head h1", f"Job {b.id}")


def test_why_shows_an_awaited_atom_turning_latched(dash: Dashboard, farm: Farm) -> None:
    # `last` waits for both: once `first` completes, its atom is latched while the callback
    # still awaits `other` (once a callback fires, its latches start over).
    first_gate, other_gate = _gate(farm), _gate(farm)
    with _alice(farm) as alice:
        first, _other, last = alice.submit(
            [
                {"name": "first", "label": "first", "package": {"cmdline": _gated(first_gate)}},
                {"name": "other", "label": "other", "package": {"cmdline": _gated(other_gate)}},
                {
                    "name": "last",
                    "label": "last",
                    "package": {"cmdline": "true"},
                    "dependency": "link-complete-job-first,link-complete-job-other",
                },
            ]
        ).jobs
        dash.login(ALICE, "alice")
        dash.go(f"#/job/{last.id}")
        dash.wait(lambda _d: dash.count("#why .atom.awaited") == 2)
        assert not dash.count("#why .atom.latched")
        dash.mark_document()
        first_gate.touch()
        dash.css("#why .atom.latched")
        assert dash.attrs("#why .atom.latched", "data-text") == ["complete-job-first"]
        assert "✓ latched @" in dash.text("#why .atom.latched")
        assert dash.count("#why .atom.awaited") == 1
        dash.shot("why")
        assert dash.same_document()
        wait_for_job(alice, first.id)
        other_gate.touch()
        wait_for_job(alice, last.id)


def test_a_kill_from_the_ui_kills_the_job(dash: Dashboard, farm: Farm) -> None:
    gate = _gate(farm)
    with _alice(farm) as alice:
        job = alice.submit([{"name": "victim", "package": {"cmdline": _gated(gate)}}]).jobs[0]
        dash.login(ALICE, "alice")
        dash.go(f"#/job/{job.id}")
        dash.css("#frame-grid .cell[data-status='running']")
        dash.click("#action-kill")
        dash.confirm()
        dash.wait_text("#job-status", "killed")
        assert "kill: job" in dash.text("#action-message")
        assert wait_for_job(alice, job.id).status == job_pb2.JOB_STATUS_KILLED
        gate.touch()


def test_a_user_without_rights_sees_the_refusal(dash: Dashboard, farm: Farm) -> None:
    with _alice(farm) as alice:
        job = alice.submit(
            [{"name": "alices", "package": {"cmdline": "true"}, "status": "blocked"}]
        ).jobs[0]
    with Client(farm.server.address, token=BOB) as bob, pytest.raises(LatchworkError) as grpc:
        bob.control("kill", [job.id])
    dash.login(BOB, "bob")
    dash.go(f"#/job/{job.id}")
    dash.css("#job-head h1")
    dash.click("#action-kill")
    dash.confirm()
    dash.css("#action-message.error")
    shown = dash.text("#action-message")
    assert shown == str(grpc.value)  # "PERMISSION_DENIED: <the supervisor's words>"
    with _alice(farm) as alice:
        assert alice.get_job(job.id).status == job_pb2.JOB_STATUS_BLOCKED


def test_one_frame_is_killed_then_retried_from_the_ui(dash: Dashboard, farm: Farm) -> None:
    gate = _gate(farm)
    with _alice(farm) as alice:
        job = alice.submit(
            [
                {
                    "name": "frames",
                    "prototype": "cmdrange",
                    "cpus": 2,
                    "package": {"cmdline": _gated(gate), "range": "1-2"},
                }
            ]
        ).jobs[0]
        dash.login(ALICE, "alice")
        dash.go(f"#/job/{job.id}")
        dash.wait(lambda _d: dash.count("#frame-grid .cell[data-status='running']") == 2)
        dash.click("#frame-grid .cell[data-work='2']")
        assert "complete" in dash.text("#frame-actions")  # says why there is no such button
        dash.click("#frame-kill")
        dash.confirm()
        dash.css("#frame-grid .cell[data-work='2'][data-status='killed']")
        assert dash.count("#frame-grid .cell[data-work='1'][data-status='running']")
        dash.click("#frame-retry")
        dash.confirm()
        killed = "#frame-grid .cell[data-work='2'][data-status='killed']"
        dash.wait(lambda _d: not dash.count(killed))
        gate.touch()
        dash.wait(lambda _d: dash.count("#frame-grid .cell[data-status='complete']") == 2)
        assert wait_for_job(alice, job.id).status == job_pb2.JOB_STATUS_COMPLETE


def test_the_job_list_filters_pages_sorts_and_searches(dash: Dashboard, farm: Farm) -> None:
    tag = f"pg{uuid4().hex[:8]}"
    with _alice(farm) as alice:
        ids = [
            j.id
            for j in alice.submit(
                [
                    {"name": f"{tag}-{n}", "package": {"cmdline": "true"}, "status": "blocked"}
                    for n in range(3)
                ]
            ).jobs
        ]
    dash.login(ALICE, "alice")
    dash.go(f"#/jobs?status=JOB_STATUS_BLOCKED&name={tag}*&page_size=2")

    def rows(count: int = 0) -> list[str]:
        """The job ids listed, in order, once there are ``count`` of them (any, when 0)."""

        def listed(_driver: webdriver.Chrome) -> list[str]:
            shown = dash.attrs("tr.job", "data-job-id")
            return shown if shown and (not count or len(shown) == count) else []

        return dash.wait(listed)

    first = rows(2)
    dash.click("#page-next")
    second = rows(1)
    assert sorted(int(i) for i in first + second) == ids  # the server pages; every job once
    dash.click("#page-prev")
    rows(2)
    dash.click("button.sort[data-sort='id']")  # id was descending: now ascending
    dash.wait(lambda _d: rows(2) == sorted(rows(2), key=int))
    dash.click("button.sort[data-sort='id']")
    dash.wait(lambda _d: rows(2) == sorted(rows(2), key=int, reverse=True))
    shown = rows(2)[-1]  # search within the page shown: one of its jobs, by name
    dash.css("#job-search").send_keys(f"{tag}-{ids.index(int(shown))}")
    dash.wait(lambda _d: rows(1) == [shown])
    assert dash.css("#filter-status").get_attribute("value") == "JOB_STATUS_BLOCKED"


def test_the_hosts_page_lists_the_local_pool(dash: Dashboard, farm: Farm) -> None:
    dash.login(ALICE, "alice")
    dash.go("#/hosts")
    row = "#hosts-table tr.host[data-host='testhost']"
    dash.css(row)
    assert "up" in dash.text(row) and "/ 4" in dash.text(row)


def test_the_overview_in_wall_mode(dash: Dashboard, farm: Farm) -> None:
    dash.login(ALICE, "alice")
    dash.shot("overview")
    dash.go("#/jobs")  # by now, the farm has a few jobs to list
    dash.css("tr.job")
    dash.shot("jobs")
    dash.go("#/")
    dash.css("#overview")
    normal = float(dash.driver.execute_script(FONT_SIZE))
    dash.click("#wall-toggle")
    dash.wait(lambda d: d.execute_script("return document.body.classList.contains('wall')"))
    wall = float(dash.driver.execute_script(FONT_SIZE))
    assert wall >= 1.5 * normal
    dash.shot("overview-wall")
    dash.open("#/")  # remembered by the browser
    assert dash.driver.execute_script("return document.body.classList.contains('wall')")
    dash.click("#wall-toggle")
    dash.wait(lambda d: not d.execute_script("return document.body.classList.contains('wall')"))


def test_open_mode_reads_without_login_and_acts_after_naming_oneself(
    chromium: webdriver.Chrome, tmp_path: Path
) -> None:
    server = ServerProcess(tmp_path / "data", slots=0).start()
    try:
        with Client(server.address, user="carol") as carol:
            job = carol.submit(
                [{"name": "open", "package": {"cmdline": "true"}, "status": "blocked"}]
            ).jobs[0]
        dash = Dashboard(chromium, f"http://{server.http_address}")
        dash.open(f"#/job/{job.id}")
        chromium.delete_all_cookies()
        dash.open(f"#/job/{job.id}")
        dash.wait_text("#who", "read-only")
        dash.click("#action-unblock")
        dash.confirm()
        dash.css("#action-message.error")
        refused = dash.text("#action-message")
        assert refused.startswith("UNAUTHENTICATED: ")
        dash.open("#/login")
        dash.css("#login-user").send_keys("carol")
        dash.click("#login-submit")
        dash.wait_text("#who", "carol")
        dash.go(f"#/job/{job.id}")
        dash.click("#action-unblock")
        dash.confirm()
        dash.wait_text("#action-message", "unblock: job")
        dash.click("#logout")
        dash.wait_text("#who", "not logged in")
    finally:
        server.stop()


def test_the_priority_is_set_from_the_ui(dash: Dashboard, farm: Farm) -> None:
    with _alice(farm) as alice:
        job = alice.submit(
            [{"name": "prio", "package": {"cmdline": "true"}, "status": "blocked"}]
        ).jobs[0]
        dash.login(ALICE, "alice")
        dash.go(f"#/job/{job.id}")
        dash.wait_text("#job-head", "priority 9999")
        field = dash.css("#priority")
        field.clear()
        field.send_keys("42")
        dash.click("#priority-form button[type='submit']")
        dash.confirm()
        dash.wait_text("#job-head", "priority 42")
        assert alice.get_job(job.id).spec.priority == 42
