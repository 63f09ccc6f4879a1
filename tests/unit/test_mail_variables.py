"""The mail variables: Qube's documented names all expand, the docs table is the code's, and
every value stays bounded (issue 14, item 7)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.model import Job, JobSpec, Prototype, Subjob, WorkItem
from latchwork.server.core.runs import CallbackRun
from latchwork.server.core.states import JobStatus, WorkStatus
from latchwork.server.mail_variables import (
    NAMES,
    VALUE_LIMIT,
    VARIABLES,
    mail_variables,
    markdown,
)
from latchwork.server.mailer import BODY_LIMIT, render

DOC = (Path(__file__).resolve().parents[2] / "docs" / "callbacks.md").read_text()

# "Variables available for expansion in supervisor's mailed reports", PipelineFX developer's
# guide (pipelinefx.github.io/docs/developers-guide/), as Qube lists them.
QUBE_JOB = [
    "HOST",
    "JOB_ACCOUNT",
    "JOB_CLUSTER",
    "JOB_CPUS",
    "JOB_DATA",
    "JOB_DOMAIN",
    "JOB_FLAGS",
    "JOB_GLOBALORDER",
    "JOB_GROUPS",
    "JOB_HOSTORDER",
    "JOB_HOSTS",
    "JOB_ID",
    "JOB_KIND",
    "JOB_LABEL",
    "JOB_LOCALORDER",
    "JOB_NAME",
    "JOB_OMITGROUPS",
    "JOB_OMITHOSTS",
    "JOB_PACKAGE",
    "JOB_PGRP",
    "JOB_PID",
    "JOB_PRIORITY",
    "JOB_PROTOTYPE",
    "JOB_REQUIREMENTS",
    "JOB_RESTRICTIONS",
    "JOB_STATUS",
    "JOB_TIMECOMPLETE",
    "JOB_TIMEELAPSED",
    "JOB_TIMEOUT",
    "JOB_TIMESTART",
    "JOB_TIMESUBMIT",
    "JOB_TYPE",
    "JOB_USER",
    "TRIGGERS",
    "USER",
]
QUBE_AGENDA = [
    "WORK_NAME",
    "WORK_HOST",
    "WORK_STATUS",
    "WORK_PID",
    "WORK_SUBID",
    "WORK_ADDRESS",
    "WORK_RESULTPACKAGE",
]
QUBE_INSTANCE = ["SUBJOB_ID", "SUBJOB_STATUS", "SUBJOB_PID", "SUBJOB_ADDRESS"]

T0 = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC).timestamp()


def example_job(env: dict[str, str] | None = None, frames: int = 3) -> Job:
    """The job of the docs' examples: frame 3 of job 1234 failed on node7 after 30 s."""
    spec = JobSpec(
        name="shot010 comp",
        label="comp",
        pid=1230,
        prototype=Prototype.CMDRANGE,
        cmdline="comp.sh",
        frame_range="1-3",
        padding=4,
        cpus=2,
        priority=100,
        timeout=3600,
        data={"shot": "010", "show": "a"},
        env={"OCIO": "/show/a/ocio.config"} if env is None else env,
        cwd="/show/a",
        hosts="node7,node8",
        omithosts="node9",
        groups="gpu",
        omitgroups="slow",
        cluster="/show/a",
        requirements="host.processor_speed>=2000",
        restrictions="/show/a",
    )
    work = [WorkItem(i, str(i + 1), WorkStatus.COMPLETE) for i in range(frames - 1)]
    work.append(
        WorkItem(
            frames - 1,
            str(frames),
            WorkStatus.FAILED,
            subjob_id=1,
            host="node7",
            exit_code=3,
            start_time=T0 + 95,
            end_time=T0 + 125,
        )
    )
    return Job(
        id=1234,
        pgrp=1230,
        label="comp",
        spec=spec,
        user="ana",
        submit_time=T0,
        work=work,
        subjobs=[Subjob(0, WorkStatus.COMPLETE, "node8"), Subjob(1, WorkStatus.FAILED, "node7")],
        status=JobStatus.FAILED,
        start_time=T0 + 5,
        end_time=T0 + 125,
    )


def work_event(**fields: object) -> Event:
    values: dict[str, object] = {
        "job_id": 1234,
        "pgrp": 1230,
        "label": "comp",
        "user": "ana",
        "subjob_id": 1,
        "work_name": "3",
        "host": "node7",
        "status": "failed",
        "message": "exit code 3",
        "seq": 9,
        "time": T0 + 125,
    }
    values.update(fields)
    return Event(EventName.FAILED, EventType.WORK, **values)  # type: ignore[arg-type]


def run(triggers: str = "failed-work-self-*", binding: str = "3") -> CallbackRun:
    return CallbackRun(1, 1, 1234, triggers, binding, 9, T0 + 125)


def test_every_variable_qube_documents_is_there() -> None:
    assert set(QUBE_JOB + QUBE_AGENDA + QUBE_INSTANCE) <= NAMES
    assert len(NAMES) == len(VARIABLES)  # no name twice


def test_each_documented_example_is_what_the_code_expands() -> None:
    values = mail_variables(example_job(), work_event(), run(), now=T0 + 500)
    assert set(values) == NAMES
    assert {v.name: values[v.name] for v in VARIABLES} == {v.name: v.example for v in VARIABLES}


def test_the_docs_show_the_table_as_generated() -> None:
    shown = re.search(
        r"<!-- mail-variables: generated, do not edit -->\n(.*?)<!-- end mail-variables -->",
        DOC,
        re.S,
    )
    assert shown is not None
    assert shown.group(1) == markdown(), "run: python -m latchwork.server.mail_variables"
    after = DOC[shown.end() : shown.end() + 400]
    assert f"{VALUE_LIMIT:,} characters" in after and f"{BODY_LIMIT:,}" in after


def test_a_subjob_event_sets_the_instance_and_no_work_item() -> None:
    event = Event(
        EventName.FAILED,
        EventType.SUBJOB,
        job_id=1234,
        subjob_id=1,
        host="node7",
        status="failed",
        time=T0 + 125,
    )
    values = mail_variables(example_job(), event, run("failed-subjob-self-*", "1"), T0 + 500)
    assert values["SUBJOB_ID"] == "1" and values["SUBJOB_STATUS"] == "failed"
    assert values["SUBJOB_PID"] == "1234" and values["SUBJOB_ADDRESS"] == "node7"
    assert values["HOST"] == "node7" and values["EVENT_TYPE"] == "subjob"
    # "1" is bound to the instance, not frame 1.
    assert all(values[n] == "" for n in QUBE_AGENDA)


def test_a_job_event_sets_no_instance_and_names_a_bound_frame_only() -> None:
    event = Event(EventName.FAILED, EventType.JOB, job_id=1234, status="failed", time=T0 + 125)
    values = mail_variables(example_job(), event, run("failed-job-self", ""), T0 + 500)
    assert all(values[n] == "" for n in QUBE_AGENDA + QUBE_INSTANCE + ["HOST"])
    assert values["JOB_STATUS"] == "failed" and values["EVENT_TYPE"] == "job"
    bound = mail_variables(example_job(), event, run("x", "2"), T0 + 500)
    assert bound["WORK_NAME"] == "2" and bound["WORK_STATUS"] == ""


def test_a_running_job_counts_its_time_to_now_and_has_no_end() -> None:
    job = example_job()
    job.status, job.end_time = JobStatus.RUNNING, 0.0
    values = mail_variables(job, work_event(), run(), now=T0 + 5 + 3723)
    assert values["JOB_TIMEELAPSED"] == "1:02:03"
    assert values["JOB_TIMECOMPLETE"] == ""
    job.start_time = 0.0
    assert mail_variables(job, work_event(), run(), now=T0)["JOB_TIMEELAPSED"] == ""


def test_the_event_of_another_job_gives_its_own_ids() -> None:
    values = mail_variables(example_job(), work_event(job_id=77), run(), T0 + 500)
    assert values["WORK_PID"] == "77" and values["SUBJOB_PID"] == "77"
    assert values["WORK_STATUS"] == "failed" and values["WORK_HOST"] == "node7"
    # Timing is the owner's work items' only: nothing is read of job 77.
    assert values["WORK_TIMESTART"] == "" and values["WORK_RESULTPACKAGE"] == ""
    assert values["JOB_ID"] == "1234"


def test_a_gone_event_leaves_the_event_variables_empty() -> None:
    values = mail_variables(example_job(), None, run(), T0 + 500)
    assert values["EVENT_NAME"] == values["HOST"] == values["SUBJOB_ID"] == ""
    assert values["WORK_NAME"] == "3" and values["TRIGGERS"] == "failed-work-self-*"


def test_values_are_bounded_however_large_the_job() -> None:
    huge_env = {f"VAR{i:03d}": "x" * 32_768 for i in range(256)}
    job = example_job(env=huge_env, frames=100_000)
    job.spec.data = {f"k{i}": "v" * 65_536 for i in range(256)}
    job.spec.name = "n" * 50_000
    values = mail_variables(job, work_event(message="m" * 100_000), run(), T0 + 500)
    assert max(len(v) for v in values.values()) <= VALUE_LIMIT
    assert values["JOB_PACKAGE"].startswith("cmdline=comp.sh, range=1-3, padding=4")
    assert values["JOB_PACKAGE"].endswith("...") and values["JOB_DATA"].endswith("...")
    assert values["WORK_COUNTS"] == "99999 complete, 1 failed"
    subject, body = render("Subject: $JOB_NAME\n" + "$JOB_PACKAGE" * 6_000, values)
    assert len(body) <= BODY_LIMIT + 100 and body.endswith("characters]\n")
    assert len(subject) == VALUE_LIMIT


def test_unknown_names_stay_as_written_and_braces_and_dollars_work() -> None:
    values = mail_variables(example_job(), work_event(), run(), T0 + 500)
    subject, body = render(
        "Subject: ${JOB_LABEL}_v2 $NOPE\n$JOB_ID costs $$5, ${ALSO_NOPE} $ $JOB_IDx", values
    )
    assert subject == "comp_v2 $NOPE"
    assert body == "1234 costs $5, ${ALSO_NOPE} $ $JOB_IDx"
