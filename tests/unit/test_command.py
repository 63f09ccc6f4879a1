"""The command line and environment of a work item's process."""

from __future__ import annotations

import pytest

from latchwork.server.core.command import frame_values, process_for
from latchwork.server.core.model import Job, JobSpec, Prototype, WorkSpec

from .factories import new_job


def cmdrange(cmdline: str, *names: str, **fields: object) -> Job:
    spec = JobSpec(
        cmdline=cmdline,
        prototype=Prototype.CMDRANGE,
        agenda=[WorkSpec(n) for n in names],
        **fields,  # type: ignore[arg-type]
    )
    return new_job(spec, job_id=42, label="comp", pgrp=40)


@pytest.mark.parametrize(
    ("name", "number", "start", "end"),
    [
        ("12", "12", "12", "12"),
        ("0012", "0012", "0012", "0012"),
        ("-3", "-3", "-3", "-3"),
        ("1-10", "1", "1", "10"),
        ("-5--1", "-5", "-5", "-1"),
        ("-5-3", "-5", "-5", "3"),
    ],
)
def test_frame_values(name: str, number: str, start: str, end: str) -> None:
    assert frame_values(name) == {
        "QB_FRAME_NUMBER": number,
        "QB_FRAME_START": start,
        "QB_FRAME_END": end,
        "QB_FRAME_STEP": "1",
    }


@pytest.mark.parametrize(
    ("name", "padding", "start", "end"),
    [
        ("7", 4, "0007", "0007"),
        ("12345", 4, "12345", "12345"),
        ("-7", 4, "-007", "-007"),
        ("1-10", 4, "0001", "0010"),
        ("-5--1", 3, "-05", "-01"),
        ("0012", 2, "0012", "0012"),
        ("7", 0, "7", "7"),
        ("a", 4, "a", "a"),
        ("shot_010", 4, "shot_010", "shot_010"),
    ],
)
def test_padding_zero_fills_numbers_and_leaves_other_names(
    name: str, padding: int, start: str, end: str
) -> None:
    values = frame_values(name, padding)
    assert (values["QB_FRAME_START"], values["QB_FRAME_END"]) == (start, end)
    assert values["QB_FRAME_NUMBER"] == start


def test_padding_formats_the_command_and_the_environment_not_the_name() -> None:
    job = cmdrange("render -s QB_FRAME_START -e QB_FRAME_END out.QB_FRAME_NUMBER.exr", "1-10", "12",
                   padding=4)  # fmt: skip
    chunk = process_for(job, job.work[0], 0, "lease")
    assert chunk.cmdline == "render -s 0001 -e 0010 out.0001.exr"
    assert (chunk.env["QB_FRAME_START"], chunk.env["QB_FRAME_END"]) == ("0001", "0010")
    frame = process_for(job, job.work[1], 0, "lease")
    assert frame.cmdline == "render -s 0012 -e 0012 out.0012.exr"
    assert frame.env["LATCHWORK_WORK_NAME"] == "12"
    assert [w.name for w in job.work] == ["1-10", "12"]


def test_frame_tokens_are_substituted_for_a_frame() -> None:
    job = cmdrange("render -f QB_FRAME_NUMBER -s QB_FRAME_START -e QB_FRAME_END", "7")
    process = process_for(job, job.work[0], 0, "lease")
    assert process.cmdline == "render -f 7 -s 7 -e 7"


def test_frame_tokens_are_substituted_for_a_chunk() -> None:
    job = cmdrange("render -s QB_FRAME_START -e QB_FRAME_END -by QB_FRAME_STEP", "1-10")
    process = process_for(job, job.work[0], 0, "lease")
    assert process.cmdline == "render -s 1 -e 10 -by 1"
    assert process.env["QB_FRAME_START"] == "1"
    assert process.env["QB_FRAME_END"] == "10"
    assert process.env["QB_FRAME_NUMBER"] == "1"


@pytest.mark.parametrize(
    "cmdline",
    [
        "echo $QB_FRAME_NUMBER",
        "echo ${QB_FRAME_NUMBER}",
        "echo QB_FRAME_NUMBERS",
        "echo MY_QB_FRAME_NUMBER",
        "echo $QB_FRAME_START-$QB_FRAME_END",
    ],
)
def test_shell_references_and_longer_words_are_left_alone(cmdline: str) -> None:
    job = cmdrange(cmdline, "5")
    assert process_for(job, job.work[0], 0, "lease").cmdline == cmdline


def test_tokens_next_to_punctuation_are_substituted() -> None:
    job = cmdrange("out.QB_FRAME_NUMBER.exr;echo 'QB_FRAME_NUMBER'", "5")
    assert process_for(job, job.work[0], 0, "lease").cmdline == "out.5.exr;echo '5'"


def test_cmdline_jobs_are_not_substituted() -> None:
    job = new_job(JobSpec(cmdline="echo QB_FRAME_NUMBER", cpus=2), job_id=3)
    process = process_for(job, job.work[1], 1, "lease")
    assert process.cmdline == "echo QB_FRAME_NUMBER"
    assert "QB_FRAME_NUMBER" not in process.env
    assert process.env["LATCHWORK_WORK_NAME"] == "1"


def test_environment_identifies_the_run() -> None:
    job = cmdrange(
        "render",
        "a",
        "b",
        env={"SHOT": "010", "LATCHWORK_JOB_ID": "spoofed"},
        cwd="/tmp/shots",
        cpus=2,
    )
    work = job.work[1]
    work.attempts = 3
    process = process_for(job, work, 1, "abc123")
    assert process.cwd == "/tmp/shots"
    assert process.env == {
        "SHOT": "010",
        "QB_FRAME_NUMBER": "b",
        "QB_FRAME_START": "b",
        "QB_FRAME_END": "b",
        "QB_FRAME_STEP": "1",
        "LATCHWORK_JOB_ID": "42",
        "LATCHWORK_PGRP": "40",
        "LATCHWORK_LABEL": "comp",
        "LATCHWORK_WORK_NAME": "b",
        "LATCHWORK_SUBJOB_ID": "1",
        "LATCHWORK_ATTEMPT": "3",
        "LATCHWORK_LEASE_ID": "abc123",
        "QB_JOB_ID": "42",
        "QB_SUBJOB_ID": "1",
    }
    assert job.spec.env == {"SHOT": "010", "LATCHWORK_JOB_ID": "spoofed"}  # not mutated
