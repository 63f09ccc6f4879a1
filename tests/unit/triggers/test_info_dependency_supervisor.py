"""Info dependencies, ``CallbackSpec.work`` and frame links that never meet, through the
supervisor over a real SQLite store (no gRPC, no processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server.core.model import CallbackSpec
from latchwork.server.core.states import WorkStatus
from latchwork.server.core.submission import SubmissionRejected
from latchwork.server.supervisor import Supervisor

from ..factories import agenda_spec, frames_spec
from .test_callbacks_supervisor import Farm, Worker, blocked_frames, work_status

B, P = WorkStatus.BLOCKED, WorkStatus.PENDING


@pytest.fixture
def farm(tmp_path: Path, store_location: str | Path) -> Iterator[Farm]:
    farm = Farm(tmp_path, store_location)
    yield farm
    farm.close()


def rejected(farm: Farm, *specs: object) -> list[tuple[str, str]]:
    sup = farm.open()
    with pytest.raises(SubmissionRejected) as caught:
        sup.submit(list(specs))  # type: ignore[arg-type]
    return [(e.path, e.message) for e in caught.value.errors]


def held(sup: Supervisor, job_id: int) -> set[str]:
    """The job's work items still blocked (released ones are leased by the worker at once)."""
    return {name for name, status in work_status(sup, job_id).items() if status is B}


async def test_a_named_frame_waits_for_its_entry_and_for_the_star_entries(farm: Farm) -> None:
    sup = farm.open()
    a, b, c = sup.submit(
        [
            frames_spec("1-3", label="A", cpus=3),
            frames_spec("1-3", label="B", cpus=3),
            frames_spec("1-3", label="C", dependency='info-complete-{"1": ["B:3"], "*": ["A:*"]}'),
        ]
    ).jobs
    assert held(sup, c.id) == {"1", "2", "3"}
    worker = Worker(sup)
    worker.finish(a.id, "1", "2")
    # frame 2 had only the '*' entry; frame 1 also waits for frame 3 of B
    assert held(sup, c.id) == {"1", "3"}
    worker.finish(b.id, "3")
    assert held(sup, c.id) == {"3"}
    worker.finish(a.id, "3")
    assert held(sup, c.id) == set()
    star, frame_one = sup.callbacks_of(c.id)
    assert [r.callback_id for r in sup.list_runs(job_id=c.id)] == [
        star.id,
        frame_one.id,
        star.id,
    ]


async def test_the_star_callback_skips_named_frames_after_a_restart(farm: Farm) -> None:
    sup = farm.open()
    a, b, c = sup.submit(
        [
            frames_spec("1-2", label="A", cpus=2),
            frames_spec("1", label="B"),
            frames_spec("1-2", label="C", dependency='info-complete-{"1": ["B"], "*": ["A:*"]}'),
        ]
    ).jobs
    farm.close()
    sup = farm.open()
    worker = Worker(sup)
    worker.finish(a.id, "1", "2")
    assert held(sup, c.id) == {"1"}
    worker.finish(b.id, "1")
    assert held(sup, c.id) == set()


@pytest.mark.parametrize("restart", [False, True])
async def test_whole_job_entries_hold_the_job_and_named_frames_stay_held(
    farm: Farm, restart: bool
) -> None:
    sup = farm.open()
    a, b, c = sup.submit(
        [
            frames_spec("1-2", label="A"),
            frames_spec("1", label="B"),
            frames_spec("1-2", label="C", dependency='info-complete-{"": ["B"], "2": ["A:1"]}'),
        ]
    ).jobs
    assert sup.index.jobs[c.id].blocked and held(sup, c.id) == set()
    if restart:
        farm.close()
        sup = farm.open()
    worker = Worker(sup)
    worker.finish(b.id, "1")
    # the job is released, frame 2 is not: it also waits for frame 1 of A
    assert not sup.index.jobs[c.id].blocked and held(sup, c.id) == {"2"}
    assert worker.lease() == [(c.id, "1")]
    worker.finish(a.id, "1")
    assert held(sup, c.id) == set()


async def test_a_callback_acts_on_its_work_when_the_trigger_binds_none(farm: Farm) -> None:
    sup = farm.open()
    unblock_y = CallbackSpec("complete-job-A", "qube", "unblock-work-self", work="y")
    a, c = sup.submit(
        [frames_spec("1", label="A"), blocked_frames(["x", "y"], callbacks=[unblock_y])]
    ).jobs
    Worker(sup).finish(a.id, "1")
    assert work_status(sup, c.id) == {"x": B, "y": P}


def test_a_callback_work_that_the_job_lacks_is_refused(farm: Farm) -> None:
    errors = rejected(
        farm,
        frames_spec("1-2", callbacks=[CallbackSpec("complete-job-self", "qube", "unblock-work-self",
                                                   work="0001")]),
    )  # fmt: skip
    assert errors == [("jobs[0].callbacks[0].work", "this job has no work item '0001'")]


def test_an_info_frame_the_job_lacks_is_refused_at_its_offset(farm: Farm) -> None:
    text = 'info-complete-{"0001": ["A:1"]}'
    errors = rejected(farm, frames_spec("1", label="A"), frames_spec("1-2", dependency=text))
    at = text.index('"0001"')
    assert errors == [("jobs[1].dependency", f"this job has no work item '0001' (offset {at})")]


def test_a_frame_link_whose_names_never_meet_is_refused(farm: Farm) -> None:
    padded = agenda_spec(*[f"{n:04d}" for n in range(1, 9)], label="A")
    errors = rejected(farm, padded, frames_spec("1-8", dependency="1, link-complete-work-A"))
    [(path, message)] = errors
    assert path == "jobs[1].dependency"
    assert "(offset 3)" in message and "can never hold" in message
    assert "'0001', '0002', '0003' and 5 more" in message
    assert "'1', '2', '3' and 5 more" in message


def test_a_frame_link_to_an_earlier_submission_is_checked_too(farm: Farm) -> None:
    sup = farm.open()
    [a] = sup.submit([agenda_spec("a", "b", label="A")]).jobs
    with pytest.raises(SubmissionRejected) as caught:
        sup.submit([frames_spec("1-2", dependency=f'info-done-{{"*": ["{a.id}:*"]}}')])
    [error] = caught.value.errors
    assert "can never hold" in error.message and "(offset 17)" in error.message
    # one name in common is enough: the other frames wait, as in Qube
    sup.submit([agenda_spec("b", "c", dependency=f"link-done-work-{a.id}")])


async def test_catch_up_does_not_release_a_named_frame_either(farm: Farm) -> None:
    sup = farm.open()
    a, b = sup.submit([frames_spec("1-2", label="A", cpus=2), frames_spec("1", label="B")]).jobs
    worker = Worker(sup)
    worker.finish(a.id, "1", "2")
    text = f'info-complete-{{"1": ["{b.id}"], "*": ["{a.id}:*"]}}'
    [c] = sup.submit([frames_spec("1-2", label="C", dependency=text)], pgrp=a.pgrp).jobs
    assert held(sup, c.id) == {"1"}  # frame 2 was released at once: A's frame 2 is done
    worker.finish(b.id, "1")
    assert held(sup, c.id) == set()
