"""qb: Qube's Python API as pipeline tools use it, against a real supervisor."""

from __future__ import annotations

from types import ModuleType

import pytest

from latchwork.client import LatchworkError
from latchwork.server.core.frames import FrameRangeError


def test_genframes_cases(qb: ModuleType) -> None:
    assert qb.genframes("1-5") == [{"name": str(n)} for n in range(1, 6)]
    assert [w["name"] for w in qb.genframes("1-10x2")] == ["1", "3", "5", "7", "9"]
    assert [w["name"] for w in qb.genframes("1,3,5-9")] == ["1", "3", "5", "6", "7", "8", "9"]
    assert [w["name"] for w in qb.genframes("10-7")] == ["10", "9", "8", "7"]
    assert [w["name"] for w in qb.genframes("10-1x3")] == ["10", "7", "4", "1"]
    assert [w["name"] for w in qb.genframes("1-3,2-4")] == ["1", "2", "3", "4"]
    assert [w["name"] for w in qb.genframes(7)] == ["7"]
    assert qb.genframes("1-3")[0].name == "1"
    with pytest.raises(FrameRangeError) as bad:
        qb.genframes("1-3,x")
    assert bad.value.offset == 4
    with pytest.raises(ValueError):
        qb.genframes("1-10x0")


def test_job_b_waits_for_job_a_as_qube_users_write_it(qb: ModuleType) -> None:
    job_a = {
        "name": "jobA",
        "label": "jobA",
        "prototype": "cmdrange",
        "package": {"cmdline": "sleep 0.2", "range": "1-3"},
        "agenda": qb.genframes("1-3"),
    }
    job_b = {
        "name": "jobB",
        "label": "jobB",
        "prototype": "cmdrange",
        "package": {"cmdline": "true", "range": "1-3"},
        "agenda": qb.genframes("1-3"),
        "status": "blocked",
        "callbacks": [
            {"triggers": "complete-job-jobA", "language": "qube", "code": "unblock-self"}
        ],
    }
    submitted = qb.submit([job_a, job_b])
    assert [j["label"] for j in submitted] == ["jobA", "jobB"]
    assert submitted[0]["pgrp"] == submitted[1]["pgrp"] == submitted[0]["id"]
    assert submitted[1]["status"] == "blocked"
    assert submitted[0].id == submitted[0]["id"]

    a, b = qb.waitfor([j["id"] for j in submitted], timeout=60)
    assert a["status"] == b["status"] == "complete"
    assert b["timestart"] >= a["timecomplete"]
    assert [w["status"] for w in b["agenda"]] == ["complete"] * 3
    assert b["todotally"]["complete"] == 3 and b["todo"] == 3


def test_frame_to_frame_with_genframes_agenda(qb: ModuleType) -> None:
    agenda = qb.genframes("1-4")
    for work in agenda:
        work["status"] = "blocked"
    jobs = qb.submit(
        [
            {
                "name": "render",
                "label": "render",
                "prototype": "cmdrange",
                "package": {"cmdline": "sleep 0.1", "range": "1-4"},
                "agenda": qb.genframes("1-4"),
            },
            {
                "name": "comp",
                "label": "comp",
                "prototype": "cmdrange",
                "package": {"cmdline": "true", "range": "1-4"},
                "agenda": agenda,
                "callbacks": [
                    {
                        "triggers": "complete-work-render-*",
                        "language": "qube",
                        "code": "unblock-work-self",
                    }
                ],
            },
        ]
    )
    render, comp = qb.waitfor(jobs, timeout=60)
    assert comp["status"] == "complete"
    assert comp["callbacks"][0]["fired"] == 4
    finished = {w["name"]: w["timecomplete"] for w in render["agenda"]}
    for work in comp["agenda"]:
        assert work["timestart"] >= finished[work["name"]]


def test_submit_a_single_dict(qb: ModuleType) -> None:
    (job,) = qb.submit({"name": "one", "package": {"cmdline": "true"}})
    assert job["name"] == "one" and job["prototype"] == "cmdline"
    assert qb.waitfor(job["id"])[0]["status"] == "complete"


def test_jobinfo_forms(qb: ModuleType) -> None:
    held = qb.submit(
        [
            {"name": "h1", "label": "h1", "package": {"cmdline": "true"}, "status": "blocked"},
            {"name": "h2", "label": "h2", "package": {"cmdline": "true"}, "status": "blocked"},
        ]
    )
    other = qb.submit({"name": "runs", "package": {"cmdline": "sleep 30"}})[0]
    ids = [j["id"] for j in held]

    assert [j["id"] for j in qb.jobinfo(id=ids[0])] == [ids[0]]
    assert [j["id"] for j in qb.jobinfo(id=ids)] == ids
    assert [j["id"] for j in qb.jobinfo("-id", ids[1])] == [ids[1]]
    assert [j["id"] for j in qb.jobinfo("-id", ids, "-agenda")] == ids
    assert "agenda" not in qb.jobinfo(id=ids[0])[0]
    (with_agenda,) = qb.jobinfo(id=ids[0], agenda=True)
    assert [(w["name"], w["status"]) for w in with_agenda["agenda"]] == [
        ("0", "pending")
    ]  # the job holds, not its work
    assert sorted(j["id"] for j in qb.jobinfo(pgrp=held[0]["pgrp"])) == ids
    assert sorted(j["id"] for j in qb.jobinfo("-pgrp", held[0]["pgrp"])) == ids
    assert sorted(j["id"] for j in qb.jobinfo(status="blocked")) == ids
    assert qb.jobinfo(id=ids, status="running") == []
    assert qb.jobinfo(id=999_999) == []
    everything = {j["id"] for j in qb.jobinfo()}
    assert {*ids, other["id"]} <= everything

    qb.waitfor([], timeout=1)  # nothing to wait for
    assert qb.kill(other["id"]) == [other["id"]]
    assert qb.waitfor(other)[0]["status"] == "killed"
    with pytest.raises(ValueError):
        qb.jobinfo(status="sleeping")
    with pytest.raises(TypeError):
        qb.jobinfo(colour="red")


def test_job_controls(qb: ModuleType) -> None:
    jobs = qb.submit(
        [
            {"name": "a", "package": {"cmdline": "true"}, "status": "blocked"},
            {"name": "b", "package": {"cmdline": "true"}, "status": "blocked"},
        ]
    )
    ids = [j["id"] for j in jobs]
    assert qb.block(ids) == ids
    assert qb.remove(ids[1]) == [ids[1]]
    assert qb.unblock([str(ids[0])]) == [ids[0]]
    a, b = qb.waitfor(ids, timeout=30)
    assert a["status"] == "complete" and b["status"] == "removed"
    with pytest.raises(LatchworkError):
        qb.kill(999_999)
    with pytest.raises(LatchworkError):
        qb.waitfor(999_999)


def test_work_controls_and_submitcallback(qb: ModuleType) -> None:
    agenda = qb.genframes("1-3")
    for work in agenda:
        work["status"] = "blocked"
    (job,) = qb.submit(
        {
            "name": "frames",
            "prototype": "cmdrange",
            "package": {"cmdline": "true", "range": "1-3"},
            "agenda": agenda,
        }
    )
    jid = job["id"]
    assert qb.workunblock(f"{jid}:1") == [f"{jid}:1"]
    assert qb.workkill([f"{jid}:2"]) == [f"{jid}:2"]
    # frame 3 is released (unblock-self lifts work holds) by a callback added later
    callback_id = qb.submitcallback(jid, f"complete-work-{jid}-1", "qube", "unblock-self")
    assert callback_id > 0
    with pytest.raises(ValueError):
        qb.workunblock("no-colon")
    done = qb.waitfor(jid, timeout=30)[0]
    statuses = {w["name"]: w["status"] for w in done["agenda"]}
    assert statuses["1"] == "complete" and statuses["2"] == "killed"
    assert done["status"] == "killed"
    assert qb.workretry(f"{jid}:2") == [f"{jid}:2"]
    assert qb.waitfor(jid, timeout=30)[0]["todotally"]["complete"] == 3


def test_waitfor_times_out(qb: ModuleType) -> None:
    (job,) = qb.submit({"name": "held", "package": {"cmdline": "true"}, "status": "blocked"})
    with pytest.raises(TimeoutError):
        qb.waitfor(job, timeout=0.5)
