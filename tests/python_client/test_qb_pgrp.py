"""qb: joining an existing process group through the job's own ``pgrp``, as Qube's docs do it.

"A developer may link jobs to the same process group by collecting the lead job's process
group ID and then using that to submit the successive jobs, setting each job's pgrp value."
Written as a Qube user writes it, against a real supervisor.
"""

from __future__ import annotations

from types import ModuleType

import grpc
import pytest

from latchwork.client import InvalidArgumentError
from latchwork.client.jobspec import JobSpecError


def _held(label: str) -> dict[str, object]:
    return {"name": label, "label": label, "status": "blocked", "package": {"cmdline": "true"}}


def test_a_later_job_joins_the_group_and_its_trigger_names_an_earlier_label(qb: ModuleType) -> None:
    (render,) = qb.submit([_held("render")])
    group = render["pgrp"]

    comp = {
        "name": "comp",
        "label": "comp",
        "pgrp": group,
        "status": "blocked",
        "package": {"cmdline": "true"},
        "callbacks": [
            {"triggers": "complete-job-render", "language": "qube", "code": "unblock-self"}
        ],
    }
    (joined,) = qb.submit([comp])
    assert joined["pgrp"] == group and joined["id"] != group
    assert sorted(j["label"] for j in qb.jobinfo(pgrp=group)) == ["comp", "render"]

    qb.unblock(render["id"])  # render runs, completes; the trigger releases comp
    render_done, comp_done = qb.waitfor([render["id"], joined["id"]], timeout=60)
    assert render_done["status"] == comp_done["status"] == "complete"
    assert comp_done["timestart"] >= render_done["timecomplete"]
    assert comp_done["callbacks"][0]["fired"] == 1


def test_a_trigger_on_a_label_already_complete_catches_up(qb: ModuleType) -> None:
    (render,) = qb.submit({"name": "render", "label": "render", "package": {"cmdline": "true"}})
    assert qb.waitfor(render, timeout=60)[0]["status"] == "complete"

    job = qb.Job(name="publish", label="publish", status="blocked")
    job.pgrp = render.pgrp  # attribute or item: the same key
    job.package = {"cmdline": "true"}
    job.callbacks = [
        {"triggers": "complete-job-render", "language": "qube", "code": "unblock-self"}
    ]
    (publish,) = qb.submit(job)
    assert publish["pgrp"] == render["pgrp"]
    done = qb.waitfor(publish, timeout=60)[0]
    assert done["status"] == "complete"
    assert done["callbacks"][0]["fired"] == 1


def test_labels_stay_unique_across_the_submissions_of_a_group(qb: ModuleType) -> None:
    (render,) = qb.submit([_held("render")])
    with pytest.raises(InvalidArgumentError) as refused:
        qb.submit([{**_held("render"), "pgrp": render["pgrp"]}])
    assert [v.field for v in refused.value.violations] == ["jobs[0].label"]
    assert "already used in process group" in refused.value.violations[0].description
    qb.remove(render)


def test_jobs_of_one_submission_naming_different_groups_are_refused(qb: ModuleType) -> None:
    (first,) = qb.submit([_held("a")])
    (second,) = qb.submit([_held("b")])
    before = {j["id"] for j in qb.jobinfo()}
    with pytest.raises(JobSpecError) as refused:
        qb.submit(
            [
                {**_held("c"), "pgrp": first["pgrp"]},
                _held("d"),  # no pgrp: joins what the others name
                {**_held("e"), "pgrp": second["pgrp"]},
            ]
        )
    message = str(refused.value)
    assert message.startswith("jobs[2].pgrp:")
    assert "jobs[0].pgrp" in message and "one submission joins one process group" in message
    assert isinstance(refused.value, ValueError)
    assert {j["id"] for j in qb.jobinfo()} == before  # nothing was submitted
    qb.remove([first, second])


def test_a_dict_pgrp_and_the_pgrp_argument_must_agree(qb: ModuleType) -> None:
    (lead,) = qb.submit([_held("lead")])
    (other,) = qb.submit([_held("other")])
    with pytest.raises(JobSpecError, match=r"^jobs\[0\]\.pgrp: .* differs from pgrp"):
        qb.submit([{**_held("x"), "pgrp": lead["pgrp"]}], pgrp=other["pgrp"])
    (agreed,) = qb.submit([{**_held("x"), "pgrp": lead["pgrp"]}], pgrp=lead["pgrp"])
    assert agreed["pgrp"] == lead["pgrp"]
    with pytest.raises(JobSpecError, match=r"^jobs\[0\]\.pgrp: 'twelve' is not a whole number"):
        qb.submit([{**_held("y"), "pgrp": "twelve"}])
    qb.remove([lead, other, agreed])


def test_a_group_that_does_not_exist_is_refused_by_the_supervisor(qb: ModuleType) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        qb.submit([{**_held("lost"), "pgrp": 999_999}])
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in refused.value.violations] == ["pgrp"]
