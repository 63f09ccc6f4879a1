"""``padding`` and the ``info-complete-{...}`` dependency, as a Qube user writes them.

Real processes on a live supervisor; what runs when is read from job state (a held frame that a
test releases, a job that waits on the others' frames), never from sleeps.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from latchwork.client.errors import InvalidArgumentError

from ..serverproc import ServerProcess


def output(server: ServerProcess, job_id: int, work: str) -> str:
    with server.client() as lw:
        return bytes(lw.work_output(job_id, work).data).decode()


def test_padding_formats_the_frame_number_the_command_sees(
    qb: ModuleType, server: ServerProcess
) -> None:
    render, chunks = qb.submit(
        [
            {
                "name": "render",
                "prototype": "cmdrange",
                "package": {
                    "cmdline": "echo img.QB_FRAME_NUMBER.exr $QB_FRAME_START",
                    "range": "1-3",
                    "padding": 4,
                },
                "agenda": qb.genframes("1-3"),
            },
            {
                "name": "chunks",
                "prototype": "cmdrange",
                "package": {"cmdline": "echo QB_FRAME_START QB_FRAME_END", "padding": 3},
                "agenda": ["1-10", "11-12", "shot_a"],
            },
        ]
    )
    render, chunks = qb.waitfor([render, chunks], timeout=60)
    # the work items keep their names; only what the command sees is padded
    assert [w["name"] for w in render["agenda"]] == ["1", "2", "3"]
    assert output(server, render["id"], "2") == "img.0002.exr 0002\n"
    assert output(server, chunks["id"], "1-10") == "001 010\n"
    assert output(server, chunks["id"], "11-12") == "011 012\n"
    assert output(server, chunks["id"], "shot_a") == "shot_a shot_a\n"  # not a number


def test_a_padded_job_links_frame_to_frame_with_an_unpadded_one(
    qb: ModuleType, server: ServerProcess
) -> None:
    plates = qb.genframes("1-4")
    plates[2]["status"] = "blocked"  # frame 3 waits for the test
    render, comp = qb.submit(
        [
            {
                "name": "render",
                "label": "render",
                "prototype": "cmdrange",
                "package": {"cmdline": "true", "range": "1-4"},
                "agenda": plates,
            },
            {
                "name": "comp",
                "label": "comp",
                "prototype": "cmdrange",
                "package": {"cmdline": "echo comp QB_FRAME_NUMBER", "range": "1-4", "padding": 4},
                "dependency": "link-complete-work-render",
            },
        ]
    )
    probe = qb.submit(
        {
            "name": "probe",
            "package": {"cmdline": "true"},
            "status": "blocked",
            "callbacks": [
                {
                    "triggers": " && ".join(f"complete-work-{comp['id']}-{n}" for n in (1, 2, 4)),
                    "code": "unblock-self",
                }
            ],
        },
        pgrp=render["pgrp"],
    )[0]
    qb.waitfor(probe, timeout=60)
    frames = {w["name"]: w["status"] for w in qb.jobinfo(id=comp["id"], agenda=True)[0]["agenda"]}
    assert frames == {"1": "complete", "2": "complete", "3": "blocked", "4": "complete"}
    qb.workunblock(f"{render['id']}:3")
    render, comp = qb.waitfor([render, comp], timeout=60)
    assert comp["status"] == "complete"
    assert output(server, comp["id"], "3") == "comp 0003\n"
    done = {w["name"]: w["timecomplete"] for w in render["agenda"]}
    for work in comp["agenda"]:
        assert work["timestart"] >= done[work["name"]]


def test_a_frame_link_that_can_never_hold_is_refused_at_submit(qb: ModuleType) -> None:
    padded_names = [f"{n:04d}" for n in range(1, 9)]  # what padding used to name frames
    with pytest.raises(InvalidArgumentError) as refused:
        qb.submit(
            [
                {
                    "name": "render",
                    "label": "render",
                    "prototype": "cmdrange",
                    "package": {"cmdline": "true"},
                    "agenda": padded_names,
                },
                {
                    "name": "comp",
                    "prototype": "cmdrange",
                    "package": {"cmdline": "true", "range": "1-8"},
                    "dependency": "link-complete-work-render",
                },
            ]
        )
    [violation] = refused.value.violations
    assert violation.field == "jobs[1].dependency"
    assert "can never hold" in violation.description
    assert "'0001', '0002', '0003' and 5 more" in violation.description
    assert "(offset 0)" in violation.description


def test_info_complete_as_in_qubes_knowledge_base(qb: ModuleType, server: ServerProcess) -> None:
    fx_frames = qb.genframes("1-3")
    fx_frames[2]["status"] = "blocked"  # fx frame 3 waits for the test
    prep, render, fx = qb.submit(
        [
            {"name": "prep", "label": "prep", "package": {"cmdline": "true"}},
            {
                "name": "render",
                "label": "render",
                "prototype": "cmdrange",
                "package": {"cmdline": "true", "range": "1-4"},
                "agenda": qb.genframes("1-4"),
            },
            {
                "name": "fx",
                "label": "fx",
                "prototype": "cmdrange",
                "package": {"cmdline": "true", "range": "1-3"},
                "agenda": fx_frames,
            },
        ]
    )
    # frame 1 waits for frame 3 of fx, each frame for its namesake in render, all for prep
    dependency = f'info-complete-{{"1":["{fx["id"]}:3"], "*":["render:*"], "":["{prep["id"]}"]}}'
    (comp,) = qb.submit(
        {
            "name": "comp",
            "label": "comp",
            "prototype": "cmdrange",
            "package": {"cmdline": "echo comp QB_FRAME_NUMBER", "padding": 4},
            "agenda": qb.genframes("1-4"),
            "dependency": dependency,
        },
        pgrp=prep["pgrp"],
    )
    probe = qb.submit(
        {
            "name": "probe",
            "package": {"cmdline": "true"},
            "status": "blocked",
            "callbacks": [
                {
                    "triggers": " && ".join(f"complete-work-comp-{n}" for n in (2, 3, 4)),
                    "code": "unblock-self",
                }
            ],
        },
        pgrp=prep["pgrp"],
    )[0]
    qb.waitfor(probe, timeout=60)
    # render's frame 1 and prep are long done: frame 1 still waits for fx frame 3
    assert qb.waitfor(render, timeout=60)[0]["status"] == "complete"
    frames = {w["name"]: w["status"] for w in qb.jobinfo(id=comp["id"], agenda=True)[0]["agenda"]}
    assert frames == {"1": "blocked", "2": "complete", "3": "complete", "4": "complete"}
    qb.workunblock(f"{fx['id']}:3")
    prep, render, fx, comp = qb.waitfor([prep, render, fx, comp], timeout=60)
    assert comp["status"] == "complete"
    assert output(server, comp["id"], "1") == "comp 0001\n"
    fx_done = {w["name"]: w["timecomplete"] for w in fx["agenda"]}
    render_done = {w["name"]: w["timecomplete"] for w in render["agenda"]}
    for work in comp["agenda"]:
        assert work["timestart"] >= max(render_done[work["name"]], prep["timecomplete"])
    assert comp["agenda"][0]["timestart"] >= fx_done["3"]
    # one callback for the frames without an entry of their own, one for frame 1
    assert [c["fired"] for c in comp["callbacks"]] == [3, 1]


def test_a_malformed_info_dependency_names_the_field_and_the_offset(qb: ModuleType) -> None:
    text = 'info-complete-{"1": ["render:3"], "*": ["render:"]}'
    with pytest.raises(InvalidArgumentError) as refused:
        qb.submit(
            [
                {"name": "render", "label": "render", "package": {"cmdline": "true"}},
                {"name": "comp", "package": {"cmdline": "true"}, "dependency": text},
            ]
        )
    [violation] = refused.value.violations
    assert violation.field == "jobs[1].dependency"
    at = text.index('"render:"')
    assert f"(offset {at})" in violation.description
    assert "is not JOB, JOB:* or JOB:FRAME" in violation.description
