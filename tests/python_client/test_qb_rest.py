"""qb: the rest of Qube's API as pipeline scripts use it (qb.Job attributes, jobinfo's fields,
filters and label, genchunks, workinfo, the verb-first work forms), against a real supervisor."""

from __future__ import annotations

from types import ModuleType

import pytest

from latchwork.client import LatchworkError

from ..serverproc import ServerProcess


def test_job_attributes_and_items_are_one_thing(qb: ModuleType) -> None:
    job = qb.Job()
    job.name = "attr-job"
    job.prototype = "cmdline"
    job["package"] = {"cmdline": "true"}
    job.priority = 7
    assert job["name"] == "attr-job" and job.package == {"cmdline": "true"}
    assert dict(job) == {
        "name": "attr-job",
        "prototype": "cmdline",
        "package": {"cmdline": "true"},
        "priority": 7,
    }
    (submitted,) = qb.submit(job)
    assert submitted.name == "attr-job" and submitted["priority"] == 7
    del job.priority
    assert "priority" not in job

    with pytest.raises(AttributeError, match=r"^job\.colour: unknown job attribute"):
        job.colour = "red"
    with pytest.raises(KeyError, match=r"job\.colour: unknown job attribute"):
        job["colour"] = "red"
    with pytest.raises(qb.JobAttributeError, match=r"job\.kind: not supported by Latchwork"):
        qb.Job(name="x", kind="render")
    with pytest.raises(AttributeError):
        job.update({"nmae": "typo"})
    with pytest.raises(KeyError):
        job |= {"nmae": "typo"}
    with pytest.raises(AttributeError):
        _ = job.colour
    assert "colour" not in job and "nmae" not in job
    assert qb.waitfor(submitted, timeout=60)[0]["status"] == "complete"


def test_jobinfo_fields_filters_and_label(qb: ModuleType) -> None:
    a, b, c = qb.submit(
        [
            {"name": "lit", "label": "lit", "status": "blocked", "package": {"cmdline": "true"}},
            {"name": "comp", "label": "comp", "priority": 7, "status": "blocked"}
            | {"package": {"cmdline": "true"}},
            {"name": "fx", "label": "fx", "status": "blocked", "package": {"cmdline": "true"}},
        ]
    )
    group = a["pgrp"]
    (other,) = qb.submit(
        {"name": "comp", "label": "comp", "status": "blocked"} | {"package": {"cmdline": "true"}}
    )

    assert [j["id"] for j in qb.jobinfo(pgrp=group, label="comp")] == [b["id"]]
    assert sorted(j["id"] for j in qb.jobinfo(label="comp")) == sorted([b["id"], other["id"]])
    both = qb.jobinfo(filters={"pgrp": group, "label": ["lit", "fx"]})
    assert sorted(j["id"] for j in both) == sorted([a["id"], c["id"]])
    assert [j["id"] for j in qb.jobinfo(pgrp=group, filters={"priority": 7})] == [b["id"]]
    assert [j["id"] for j in qb.jobinfo(id=[a["id"], b["id"]], label="lit")] == [a["id"]]
    assert [j["id"] for j in qb.jobinfo(filters={"id": c["id"]})] == [c["id"]]
    assert qb.jobinfo(filters={"pgrp": group, "status": "complete"}) == []

    (plain,) = qb.jobinfo(id=a["id"])
    assert "agenda" not in plain
    (full,) = qb.jobinfo(id=a["id"], fields=["agenda"])
    assert [w["name"] for w in full["agenda"]] == ["0"]
    listed = qb.jobinfo(pgrp=group, fields=["subjobs", "callbacks"])
    assert all("agenda" in j and "subjobs" in j for j in listed)

    with pytest.raises(ValueError, match="unknown field"):
        qb.jobinfo(fields=["colour"])
    with pytest.raises(ValueError, match="given both as a keyword and in filters"):
        qb.jobinfo(pgrp=group, filters={"pgrp": group})
    with pytest.raises(TypeError, match="unknown option"):
        qb.jobinfo(filters={"colour": "red"})
    qb.remove([a, b, c, other])


def test_genchunks_runs_one_command_per_chunk(qb: ModuleType, server: ServerProcess) -> None:
    assert [w.name for w in qb.genchunks(4, "1-10")] == ["1-4", "5-8", "9-10"]
    assert [w["name"] for w in qb.genchunks(5, "10-1")] == ["10-6", "5-1"]
    assert [w["name"] for w in qb.genchunks(3, "1-10x2")] == ["1", "3", "5", "7", "9"]
    assert [w["name"] for w in qb.genchunks(2, "1-3,7-8")] == ["1-2", "3", "7-8"]
    with pytest.raises(ValueError, match="chunksize must be at least 1"):
        qb.genchunks(0, "1-10")

    (job,) = qb.submit(
        {
            "name": "chunks",
            "prototype": "cmdrange",
            "package": {"cmdline": "echo QB_FRAME_START QB_FRAME_END", "range": "1-10"},
            "agenda": qb.genchunks(4, "1-10"),
        }
    )
    done = qb.waitfor(job, timeout=60)[0]
    assert [(w["name"], w["status"]) for w in done["agenda"]] == [
        ("1-4", "complete"),
        ("5-8", "complete"),
        ("9-10", "complete"),
    ]
    with server.client() as lw:
        assert lw.work_output(job["id"], "5-8").data == b"5 8\n"


def test_workinfo_and_the_verb_first_work_forms(qb: ModuleType) -> None:
    agenda = qb.genframes("1-3")
    for work in agenda:
        work.status = "blocked"
    (job,) = qb.submit(
        {
            "name": "frames",
            "prototype": "cmdrange",
            "package": {"cmdline": "true", "range": "1-3"},
            "agenda": agenda,
        }
    )
    jid = job["id"]
    items = qb.workinfo(jid)
    assert [(w.jobid, w.name, w.status) for w in items] == [
        (jid, "1", "blocked"),
        (jid, "2", "blocked"),
        (jid, "3", "blocked"),
    ]
    assert [w["name"] for w in qb.workinfo(f"{jid}:2")] == ["2"]
    assert [w["name"] for w in qb.workinfo([f"{jid}:1", (jid, "3")])] == ["1", "3"]
    assert qb.workinfo(999_999) == []
    with pytest.raises(ValueError, match="has no work named '9'"):
        qb.workinfo(f"{jid}:9")

    assert qb.unblockwork(f"{jid}:1") == [f"{jid}:1"]
    assert qb.killwork([f"{jid}:2"]) == [f"{jid}:2"]
    assert qb.blockwork(f"{jid}:3") == [f"{jid}:3"]  # already held: acted on, unchanged
    assert qb.unblockwork(f"{jid}:3") == [f"{jid}:3"]
    done = qb.waitfor(jid, timeout=60)[0]
    assert {w["name"]: w["status"] for w in done["agenda"]} == {
        "1": "complete",
        "2": "killed",
        "3": "complete",
    }
    assert qb.retrywork(f"{jid}:2") == [f"{jid}:2"]
    assert qb.waitfor(jid, timeout=60)[0]["todotally"]["complete"] == 3
    with pytest.raises(LatchworkError):
        qb.killwork(f"{jid}:nope")
