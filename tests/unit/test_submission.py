"""Checking a submission whole, and turning specs into jobs."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from latchwork.server.core.frames import MAX_FRAMES
from latchwork.server.core.model import (
    DEFAULT_PRIORITY,
    Job,
    JobSpec,
    Prototype,
    WorkSpec,
)
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.core.submission import (
    MAX_CPUS,
    FieldError,
    SubmissionRejected,
    make_job,
    normalize,
    validate_submission,
)

from .factories import agenda_spec, frames_spec, new_job


class Lookup:
    """Jobs already stored, as validation sees them."""

    def __init__(self, jobs: Iterable[Job] = ()) -> None:
        self.jobs = {job.id: job for job in jobs}

    def get_job(self, job_id: int) -> Job | None:
        return self.jobs.get(job_id)

    def labels_in_pgrp(self, pgrp: int) -> set[str]:
        return {job.label for job in self.jobs.values() if job.pgrp == pgrp}


def cmd(**fields: object) -> JobSpec:
    return JobSpec(cmdline="echo hi", **fields)  # type: ignore[arg-type]


def paths(errors: list[FieldError]) -> list[str]:
    return [e.path for e in errors]


def check(*specs: JobSpec, pgrp: int = 0, lookup: Lookup | None = None) -> list[FieldError]:
    return validate_submission(list(specs), pgrp, lookup or Lookup())


def test_a_valid_submission_has_no_errors() -> None:
    assert check(cmd(label="a"), frames_spec(label="b"), agenda_spec("x", "y", label="c")) == []


def test_empty_submission() -> None:
    assert paths(check()) == ["jobs"]


def test_duplicate_labels_within_the_submission() -> None:
    errors = check(cmd(label="a"), cmd(label="b"), cmd(label="a"))
    assert paths(errors) == ["jobs[2].label"]
    assert "also jobs[0]" in errors[0].message


def test_duplicate_label_against_the_existing_process_group() -> None:
    leader = new_job(job_id=5, label="comp")
    other = new_job(job_id=6, label="plate", pgrp=5)
    stranger = new_job(job_id=7, label="light")
    lookup = Lookup([leader, other, stranger])
    errors = check(cmd(label="plate"), cmd(label="light"), pgrp=5, lookup=lookup)
    assert paths(errors) == ["jobs[0].label"]
    assert "already used in process group 5" in errors[0].message


@pytest.mark.parametrize("label", ["self", "parent"])
def test_reserved_labels(label: str) -> None:
    errors = check(cmd(label=label))
    assert paths(errors) == ["jobs[0].label"]
    assert "reserved" in errors[0].message


@pytest.mark.parametrize("label", ["a-b", "1abc", "with space", "é", ".x", "a$"])
def test_bad_label_pattern(label: str) -> None:
    errors = check(cmd(label=label))
    assert paths(errors) == ["jobs[0].label"]
    assert "not a label" in errors[0].message


@pytest.mark.parametrize("label", ["_", "a", "A.b_9", "shot_010.comp"])
def test_good_labels(label: str) -> None:
    assert check(cmd(label=label)) == []


@pytest.mark.parametrize("cmdline", ["", "   \n"])
def test_missing_cmdline(cmdline: str) -> None:
    assert paths(check(JobSpec(cmdline=cmdline))) == ["jobs[0].command.cmdline"]


def test_bad_pid() -> None:
    removed = new_job(job_id=3)
    removed.removed = True
    lookup = Lookup([new_job(job_id=2), removed])
    errors = check(cmd(pid=-1), cmd(pid=99), cmd(pid=3), cmd(pid=2), lookup=lookup)
    assert paths(errors) == ["jobs[0].pid", "jobs[1].pid", "jobs[2].pid"]
    assert "negative" in errors[0].message
    assert "does not exist" in errors[1].message
    assert "removed" in errors[2].message


def test_unknown_pgrp() -> None:
    errors = check(cmd(), pgrp=42)
    assert paths(errors) == ["pgrp"]
    assert "42 does not exist" in errors[0].message


def test_pgrp_must_name_a_group_leader() -> None:
    lookup = Lookup([new_job(job_id=5), new_job(job_id=6, pgrp=5)])
    assert paths(check(cmd(), pgrp=6, lookup=lookup)) == ["pgrp"]
    assert check(cmd(), pgrp=5, lookup=lookup) == []


def test_negative_pgrp_is_rejected() -> None:
    assert paths(check(cmd(), pgrp=-1)) == ["pgrp"]


def test_negative_pgrp_is_reported_as_negative() -> None:
    errors = check(cmd(), pgrp=-1)
    assert errors[0].message == "must not be negative"


def test_cmdrange_needs_an_agenda_or_a_range() -> None:
    errors = check(JobSpec(cmdline="x", prototype=Prototype.CMDRANGE))
    assert paths(errors) == ["jobs[0].agenda"]


def test_bad_frame_range_is_reported_with_its_offset() -> None:
    errors = check(frames_spec("1-5,x"))
    assert paths(errors) == ["jobs[0].command.frame_range"]
    assert "at offset 4" in errors[0].message


def test_too_many_frames() -> None:
    errors = check(frames_spec(f"1-{MAX_FRAMES + 1}"))
    assert paths(errors) == ["jobs[0].command.frame_range"]


def test_agenda_on_a_cmdline_job() -> None:
    errors = check(cmd(agenda=[WorkSpec("1")]))
    assert paths(errors) == ["jobs[0].agenda"]
    assert "cmdrange" in errors[0].message


def test_bad_work_names() -> None:
    spec = agenda_spec("a", "b", "a", "", "has space", "x" * 257, "b")
    errors = check(spec)
    assert paths(errors) == [
        "jobs[0].agenda[2].name",
        "jobs[0].agenda[3].name",
        "jobs[0].agenda[4].name",
        "jobs[0].agenda[5].name",
        "jobs[0].agenda[6].name",
    ]
    assert "also agenda[0]" in errors[0].message
    assert "also agenda[1]" in errors[4].message


def test_work_is_submitted_pending_or_blocked() -> None:
    spec = agenda_spec("a", "b", "c")
    spec.agenda[1].status = WorkStatus.BLOCKED
    spec.agenda[2].status = WorkStatus.COMPLETE
    assert paths(check(spec)) == ["jobs[0].agenda[2].status"]


def test_job_is_submitted_pending_or_blocked() -> None:
    assert check(cmd(status=JobStatus.BLOCKED)) == []
    assert paths(check(cmd(status=JobStatus.RUNNING))) == ["jobs[0].status"]


def test_bad_env_names() -> None:
    errors = check(cmd(env={"GOOD_1": "x", "1BAD": "x", "A-B": "x", "": "x"}))
    assert paths(errors) == ["jobs[0].env['1BAD']", "jobs[0].env['A-B']", "jobs[0].env['']"]


def test_empty_data_key() -> None:
    assert paths(check(cmd(data={"": "x", "ok": "y"}))) == ["jobs[0].data"]


@pytest.mark.parametrize(
    "field", ["cpus", "priority", "timeout", "agenda_timeout", "retry", "padding"]
)
def test_negative_numbers(field: str) -> None:
    errors = check(cmd(**{field: -1}))
    assert paths(errors) == [f"jobs[0].{field}"]


def test_too_many_cpus() -> None:
    assert paths(check(cmd(cpus=MAX_CPUS + 1))) == ["jobs[0].cpus"]
    assert check(cmd(cpus=MAX_CPUS)) == []


def test_too_long_name() -> None:
    assert paths(check(cmd(name="n" * 257))) == ["jobs[0].name"]


def test_every_error_is_reported_at_once() -> None:
    errors = check(
        JobSpec(label="self", cmdline="", cpus=-2, retry=-1),
        cmd(label="ok", pid=77, env={"9": "x"}),
        cmd(label="ok", agenda=[WorkSpec("1")]),
        pgrp=1234,
    )
    assert set(paths(errors)) == {
        "pgrp",
        "jobs[0].label",
        "jobs[0].command.cmdline",
        "jobs[0].cpus",
        "jobs[0].retry",
        "jobs[1].pid",
        "jobs[1].env['9']",
        "jobs[2].agenda",
        "jobs[2].label",
    }
    rejected = SubmissionRejected(errors)
    assert rejected.errors == errors
    assert "jobs[0].command.cmdline: required" in str(rejected)


# --- building jobs ------------------------------------------------------------------------


def test_normalize_fills_in_defaults() -> None:
    spec = normalize(cmd())
    assert (spec.cpus, spec.priority, spec.status) == (1, DEFAULT_PRIORITY, JobStatus.PENDING)
    kept = normalize(cmd(cpus=4, priority=7, status=JobStatus.BLOCKED))
    assert (kept.cpus, kept.priority, kept.status) == (4, 7, JobStatus.BLOCKED)


def test_make_job_from_a_frame_range() -> None:
    spec = normalize(frames_spec("8-10", cpus=2, padding=4))
    job = make_job(spec, 12, 10, "comp", "bob", 55.0)
    assert (job.id, job.pgrp, job.label, job.user, job.submit_time) == (12, 10, "comp", "bob", 55.0)
    assert [(w.index, w.name, w.status) for w in job.work] == [
        (0, "8", WorkStatus.PENDING),  # padding formats the command's number, not the name
        (1, "9", WorkStatus.PENDING),
        (2, "10", WorkStatus.PENDING),
    ]
    assert [s.id for s in job.subjobs] == [0, 1]
    assert all(not s.busy and s.status is WorkStatus.PENDING for s in job.subjobs)
    assert job.status is JobStatus.PENDING
    assert job.work_named("9") is job.work[1]
    assert job.counts()[WorkStatus.PENDING] == 3


def test_make_job_from_an_agenda_keeps_blocked_items() -> None:
    spec = agenda_spec("a", "b")
    spec.agenda[0].status = WorkStatus.BLOCKED
    job = make_job(normalize(spec), 1, 1, "x", "u", 0.0)
    assert [(w.name, w.status) for w in job.work] == [
        ("a", WorkStatus.BLOCKED),
        ("b", WorkStatus.PENDING),
    ]
    assert job.status is JobStatus.PENDING


def test_all_work_blocked_makes_a_blocked_job() -> None:
    spec = agenda_spec("a")
    spec.agenda[0].status = WorkStatus.BLOCKED
    assert make_job(normalize(spec), 1, 1, "x", "u", 0.0).status is JobStatus.BLOCKED


def test_submitted_blocked_job_holds() -> None:
    job = make_job(normalize(frames_spec(status=JobStatus.BLOCKED)), 1, 1, "x", "u", 0.0)
    assert job.blocked
    assert job.status is JobStatus.BLOCKED
    assert not job.dispatchable


def test_cmdline_job_without_agenda_gets_one_work_item_per_cpu() -> None:
    job = make_job(normalize(cmd(cpus=3)), 1, 1, "x", "u", 0.0)
    assert [w.name for w in job.work] == ["0", "1", "2"]
    assert len(job.subjobs) == 3
    single = make_job(normalize(cmd()), 2, 2, "y", "u", 0.0)
    assert [w.name for w in single.work] == ["0"]
    assert len(single.subjobs) == 1
