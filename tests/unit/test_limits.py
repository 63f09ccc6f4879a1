"""Every documented limit refuses what is over it, with the field path; what is at it passes.

Also: NUL bytes in any string that reaches a process or a record are refused; a restart does
not check stored Python callbacks again (they were checked when accepted).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from latchwork.sandbox.python import pool
from latchwork.sandbox.python.pool import DEFAULT_LIMITS as SANDBOX_LIMITS
from latchwork.server.callbacks import LanguagePolicy
from latchwork.server.core import size_checks
from latchwork.server.core.limits import DEFAULT_LIMITS, Limits
from latchwork.server.core.model import (
    PLAIN_SPEC_FIELDS,
    CallbackSpec,
    JobSpec,
    Prototype,
    WorkSpec,
)
from latchwork.server.core.size_checks import job_size_problems
from latchwork.server.core.submission import FieldError, SubmissionRejected, validate_submission
from latchwork.server.core.triggers.parser import MAX_TRIGGER_LENGTH
from latchwork.server.output import OutputStore
from latchwork.server.staging import SubmitResult
from latchwork.server.store import SqliteStore
from latchwork.server.store.opening import open_store
from latchwork.server.supervisor import Supervisor

from .test_submission import Lookup

L = DEFAULT_LIMITS


def job(**fields: object) -> JobSpec:
    return JobSpec(cmdline="render", **fields)  # type: ignore[arg-type]


def frames(count: int, **fields: object) -> JobSpec:
    return job(prototype=Prototype.CMDRANGE, frame_range=f"1-{count}", **fields)


def qube(**fields: object) -> CallbackSpec:
    values: dict[str, object] = {"triggers": "done-job-self", "language": "qube"}
    values["code"] = "unblock-self"
    values.update(fields)
    return CallbackSpec(**values)  # type: ignore[arg-type]


def errors_of(specs: list[JobSpec], request_bytes: int = 0) -> list[FieldError]:
    return validate_submission(specs, 0, Lookup(), request_bytes=request_bytes)


# (case, submission over the limit, the path refused, words of the message)
OVER: list[tuple[str, Callable[[], list[JobSpec]], str, str]] = [
    (
        "jobs per Submit",
        lambda: [job()] * (L.jobs_per_submit + 1),
        "jobs",
        f"at most {L.jobs_per_submit}",
    ),
    (
        "work items per job (frame range)",
        lambda: [frames(L.work_items_per_job + 1)],
        "jobs[0].command.frame_range",
        f"more than {L.work_items_per_job} frames",
    ),
    (
        "work items per job (agenda)",
        lambda: [
            job(
                prototype=Prototype.CMDRANGE,
                agenda=[WorkSpec(str(i)) for i in range(L.work_items_per_job + 1)],
            )
        ],
        "jobs[0].agenda",
        f"at most {L.work_items_per_job}",
    ),
    (
        "work items per Submit",
        lambda: (
            [frames(L.work_items_per_job)] * (L.work_items_per_submit // L.work_items_per_job)
            + [frames(1)]
        ),
        "jobs",
        f"{L.work_items_per_submit + 1} work items in all",
    ),
    (
        "instances per Submit",
        lambda: [frames(1, cpus=L.cpus_per_job)] * 2 + [frames(1, cpus=1)],
        "jobs",
        "instances (cpus) in all",
    ),
    ("cpus per job", lambda: [job(cpus=L.cpus_per_job + 1)], "jobs[0].cpus", "between 1 and"),
    ("name", lambda: [job(name="n" * (L.name_chars + 1))], "jobs[0].name", "at most 256"),
    ("label", lambda: [job(label="l" * (L.label_chars + 1))], "jobs[0].label", "at most 128"),
    ("user", lambda: [job(user="u" * (L.name_chars + 1))], "jobs[0].user", "at most 256"),
    (
        "work name",
        lambda: [job(prototype=Prototype.CMDRANGE, agenda=[WorkSpec("w" * 257)])],
        "jobs[0].agenda[0].name",
        "at most 256",
    ),
    (
        "cmdline",
        lambda: [JobSpec(cmdline="x" * (L.cmdline_bytes + 1))],
        "jobs[0].command.cmdline",
        "65537 bytes; at most 65536",
    ),
    (
        "cmdline counts bytes, not characters",
        lambda: [JobSpec(cmdline="é" * (L.cmdline_bytes // 2 + 1))],
        "jobs[0].command.cmdline",
        "bytes; at most 65536",
    ),
    (
        "frame range text",
        lambda: [job(prototype=Prototype.CMDRANGE, frame_range="1," * L.frame_range_chars)],
        "jobs[0].command.frame_range",
        "at most 655360",
    ),
    (
        "padding",
        lambda: [frames(3, padding=L.padding + 1)],
        "jobs[0].command.padding",
        "at most 16",
    ),
    ("cwd", lambda: [job(cwd="/" + "d" * L.cwd_bytes)], "jobs[0].cwd", "at most 4095"),
    (
        "mailaddress",
        lambda: [job(mailaddress="a" * L.mailaddress_bytes + "@x")],
        "jobs[0].mailaddress",
        "at most 1024",
    ),
    (
        "dependency",
        lambda: [job(dependency="d" * (L.dependency_chars + 1))],
        "jobs[0].dependency",
        "at most 10000",
    ),
    (
        "env variables",
        lambda: [job(env={f"V{i}": "1" for i in range(L.env_vars + 1)})],
        "jobs[0].env",
        "257 entries; at most 256",
    ),
    (
        "env name",
        lambda: [job(env={"N" * (L.env_name_bytes + 1): "1"})],
        "jobs[0].env['NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN...']",
        "the name is 257 bytes",
    ),
    (
        "env value",
        lambda: [job(env={"BIG": "v" * (L.env_value_bytes + 1)})],
        "jobs[0].env['BIG']",
        "at most 32768",
    ),
    (
        "env in all",
        lambda: [job(env={f"V{i}": "v" * L.env_value_bytes for i in range(8)})],
        "jobs[0].env",
        "in all; at most 262144",
    ),
    (
        "data entries",
        lambda: [job(data={f"k{i}": "1" for i in range(L.data_entries + 1)})],
        "jobs[0].data",
        "257 entries",
    ),
    (
        "data key",
        lambda: [job(data={"k" * (L.data_key_bytes + 1): "1"})],
        "jobs[0].data['kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...']",
        "the name is 257 bytes",
    ),
    (
        "data value",
        lambda: [job(data={"k": "v" * (L.data_value_bytes + 1)})],
        "jobs[0].data['k']",
        "at most 65536",
    ),
    (
        "data in all",
        lambda: [job(data={f"k{i}": "v" * L.data_value_bytes for i in range(4)})],
        "jobs[0].data",
        "in all; at most 262144",
    ),
    (
        "callbacks per job",
        lambda: [job(callbacks=[qube()] * (L.callbacks_per_job + 1))],
        "jobs[0].callbacks",
        "101 entries; at most 100",
    ),
    (
        "callbacks per Submit",
        lambda: [job(callbacks=[qube()] * 100) for _ in range(6)],
        "jobs",
        f"600 callbacks (dependencies included) in all; a Submit has at most "
        f"{L.callbacks_per_submit}",
    ),
    (
        "callbacks per Submit, dependencies included",
        lambda: [job(callbacks=[qube()] * 2, dependency="done-job-a") for _ in range(167)],
        "jobs",
        "501 callbacks (dependencies included) in all",
    ),
    (
        "trigger",
        lambda: [job(callbacks=[qube(triggers="t" * (L.trigger_chars + 1))])],
        "jobs[0].callbacks[0].triggers",
        "at most 10000",
    ),
    (
        "code",
        lambda: [job(callbacks=[qube(code="#" * (L.code_bytes + 1))])],
        "jobs[0].callbacks[0].code",
        "65537 bytes; at most 65536",
    ),
    (
        "code per Submit",
        lambda: [job(callbacks=[qube(code="#" * L.code_bytes)] * 17)],
        "jobs",
        "bytes of callback code in all",
    ),
    (
        "language",
        lambda: [job(callbacks=[qube(language="q" * 17)])],
        "jobs[0].callbacks[0].language",
        "at most 16",
    ),
    (
        "criteria entries",
        lambda: [job(callbacks=[qube(criteria={f"c{i}": "1" for i in range(65)})])],
        "jobs[0].callbacks[0].criteria",
        "65 entries; at most 64",
    ),
    (
        "criteria value",
        lambda: [job(callbacks=[qube(criteria={"c": "v" * (L.criteria_value_bytes + 1)})])],
        "jobs[0].callbacks[0].criteria['c']",
        "at most 4096",
    ),
    (
        "include_data entries",
        lambda: [job(callbacks=[qube(include_data=["k"] * 257)])],
        "jobs[0].callbacks[0].include_data",
        "257 entries; at most 256",
    ),
    (
        "include_data name",
        lambda: [job(callbacks=[qube(include_data=["k" * 257])])],
        "jobs[0].callbacks[0].include_data[0]",
        "at most 256",
    ),
]


@pytest.mark.parametrize(("case", "build", "path", "words"), OVER, ids=[c[0] for c in OVER])
def test_over_a_limit_is_refused_with_the_field_path(
    case: str, build: Callable[[], list[JobSpec]], path: str, words: str
) -> None:
    errors = errors_of(build())
    messages = [e.message for e in errors if e.path == path]
    assert any(words in message for message in messages), (case, errors[:3])


def test_request_size_is_refused_before_anything_else() -> None:
    errors = errors_of([job()] * (L.jobs_per_submit + 1), request_bytes=L.request_bytes + 1)
    assert [e.path for e in errors] == ["request", "jobs"]
    assert f"at most {L.request_bytes} bytes" in errors[0].message


def test_at_every_limit_a_submission_passes() -> None:
    """One Submit at the per-job and per-Submit limits together is valid."""
    rest = [job(label=f"j{i}") for i in range(L.jobs_per_submit - 2)]  # one work item each
    second = frames(L.work_items_per_submit - L.work_items_per_job - len(rest), label="second")
    big = frames(
        L.work_items_per_job,
        name="n" * L.name_chars,
        label="l" * L.label_chars,
        padding=L.padding,
        cwd="/" + "d" * (L.cwd_bytes - 1),
        mailaddress="a" * (L.mailaddress_bytes - 2) + "@x",
        env={f"V{i}": "v" * (L.env_total_bytes // 8 - 8) for i in range(8)},
        data={f"k{i}": "v" * (L.data_total_bytes // 4 - 8) for i in range(4)},
        callbacks=[qube(code="#" * (L.code_bytes_per_submit // 16 - 1))] * 16,
    )
    specs = [big, second, *rest]
    assert len(specs) == L.jobs_per_submit
    assert errors_of(specs) == []


NUL_CASES: list[tuple[str, JobSpec, str]] = [
    ("cmdline", JobSpec(cmdline="echo a\x00b"), "jobs[0].command.cmdline"),
    ("env value", job(env={"A": "x\x00y"}), "jobs[0].env['A']"),
    ("env name", job(env={"A\x00": "x"}), "jobs[0].env['A\\x00']"),
    ("cwd", job(cwd="/tmp\x00"), "jobs[0].cwd"),
    ("name", job(name="a\x00"), "jobs[0].name"),
    ("label", job(label="a\x00"), "jobs[0].label"),
    ("user", job(user="a\x00"), "jobs[0].user"),
    ("mailaddress", job(mailaddress="a@b\x00"), "jobs[0].mailaddress"),
    ("dependency", job(dependency="done-job-a\x00"), "jobs[0].dependency"),
    (
        "frame range",
        job(prototype=Prototype.CMDRANGE, frame_range="1\x00"),
        "jobs[0].command.frame_range",
    ),
    (
        "work name",
        job(prototype=Prototype.CMDRANGE, agenda=[WorkSpec("a\x00")]),
        "jobs[0].agenda[0].name",
    ),
    ("data value", job(data={"k": "\x00"}), "jobs[0].data['k']"),
    ("data key", job(data={"\x00": "v"}), "jobs[0].data['\\x00']"),
    (
        "trigger",
        job(callbacks=[qube(triggers="done-job-self\x00")]),
        "jobs[0].callbacks[0].triggers",
    ),
    ("code", job(callbacks=[qube(code="unblock-self\x00")]), "jobs[0].callbacks[0].code"),
    (
        "criteria",
        job(callbacks=[qube(criteria={"c": "\x00"})]),
        "jobs[0].callbacks[0].criteria['c']",
    ),
]


@pytest.mark.parametrize(("case", "spec", "path"), NUL_CASES, ids=[c[0] for c in NUL_CASES])
def test_a_nul_byte_is_refused_with_the_field_path(case: str, spec: JobSpec, path: str) -> None:
    errors = errors_of([spec])
    assert FieldError(path, "contains a NUL byte") in errors or any(
        e.path == path and "NUL" in e.message for e in errors
    ), (case, errors)


def test_the_limits_agree_with_the_parser_and_the_sandbox() -> None:
    assert L.trigger_chars == MAX_TRIGGER_LENGTH
    assert L.code_bytes == SANDBOX_LIMITS.max_source_bytes
    assert L.dependency_chars == MAX_TRIGGER_LENGTH
    assert 2 * L.request_bytes <= 64 * 2**20  # the transport's limits (app.py)
    with pytest.raises(dataclasses.FrozenInstanceError):
        L.jobs_per_submit = 1  # type: ignore[misc]


def test_the_supervisor_applies_its_limits(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "latchwork.db")
    try:
        sup = Supervisor(store, OutputStore(tmp_path / "out"), limits=Limits(jobs_per_submit=2))
        with pytest.raises(SubmissionRejected) as refused:
            sup.submit([job(), job(), job()])
        assert refused.value.errors[0].path == "jobs"
        assert sup.index.jobs == {}
        owner = sup.submit([job()]).jobs[0]
        sup.add_callbacks(owner.id, [qube()] * 60)
        with pytest.raises(SubmissionRejected) as over:
            sup.add_callbacks(owner.id, [qube()] * 41)
        assert over.value.errors[0].path == "callbacks"
        assert "has 60 callbacks" in over.value.errors[0].message
        assert len(sup.callbacks_of(owner.id)) == 60
    finally:
        store.close()


def test_a_restart_does_not_check_stored_python_code_again(
    tmp_path: Path, store_location: str | Path
) -> None:
    """Loading the callbacks at start does not compile them (each took up to 0.5 s)."""
    policy = LanguagePolicy(enabled=frozenset({"qube", "python"}))
    code = "x = 1\nprint('restart check')\n"
    store = open_store(store_location)
    try:
        sup = Supervisor(store, OutputStore(tmp_path / "out"), languages=policy)
        spec = job(callbacks=[CallbackSpec("done-job-self", "python", code)])
        owner = sup.submit([spec]).jobs[0]
    finally:
        store.close()
    pool.forget_verdicts()
    store = open_store(store_location)
    try:
        reopened = Supervisor(store, OutputStore(tmp_path / "out"), languages=policy)
        assert [c.spec.code for c in reopened.callbacks_of(owner.id)] == [code]
        assert pool.cached_verdict(code) == (False, None), "the stored code was compiled again"
    finally:
        store.close()


def test_python_verdicts_are_cached_by_source() -> None:
    code = "y = 2\nprint(y)\n# cache test\n"
    pool.forget_verdicts()
    assert pool.cached_verdict(code) == (False, None)
    assert pool.check_python(code) is None
    assert pool.cached_verdict(code) == (True, None)
    bad = "import os\n# cache test\n"
    problem = pool.check_python(bad)
    assert problem is not None and "not allowed" in problem[0]
    assert pool.cached_verdict(bad) == (True, problem)


def test_concurrent_submits_taking_one_label_do_not_both_succeed(tmp_path: Path) -> None:
    """Both wait for their Python code to be checked; the label is checked again, on the loop,
    when each is applied: one gets it, the other is refused and leaves nothing behind."""
    policy = LanguagePolicy(enabled=frozenset({"qube", "python"}))
    store = SqliteStore(tmp_path / "latchwork.db")
    sup = Supervisor(store, OutputStore(tmp_path / "out"), languages=policy)
    try:
        root = sup.submit([job(label="root")]).jobs[0]

        def wanting(tag: str) -> list[JobSpec]:
            code = f"print({tag!r})\n"
            return [job(label="comp", callbacks=[CallbackSpec("done-job-self", "python", code)])]

        async def both() -> Sequence[SubmitResult | BaseException]:
            return await asyncio.gather(
                sup.submit_async(wanting("a"), pgrp=root.pgrp),
                sup.submit_async(wanting("b"), pgrp=root.pgrp),
                return_exceptions=True,
            )

        outcomes = asyncio.run(both())
        refused = [o for o in outcomes if isinstance(o, SubmissionRejected)]
        assert len(refused) == 1, outcomes
        assert "already used" in refused[0].errors[0].message
        assert sorted(j.label for j in sup.index.jobs.values()) == ["comp", "root"]
        assert len(sup.index.jobs) == 2
    finally:
        sup.code_checker.close()
        store.close()


# --- every plain text and map field is bounded, those added later included ---------------

_PLAIN_TEXT = [n for n in PLAIN_SPEC_FIELDS if isinstance(getattr(JobSpec(), n), str)]
_PLAIN_MAPS = [n for n in PLAIN_SPEC_FIELDS if isinstance(getattr(JobSpec(), n), dict)]


@pytest.mark.parametrize("name", _PLAIN_TEXT)
def test_every_plain_text_field_refuses_nul_and_is_bounded(name: str) -> None:
    # A field added to JobSpec with no check of its own falls under other_text_bytes.
    with_nul = job(**{name: "a\x00b"})
    assert any(e.path == f"jobs[0].{name}" for e in job_size_problems(with_nul, "jobs[0]", L))
    huge = job(**{name: "x" * (L.cmdline_bytes + L.frame_range_chars)})
    assert any(e.path == f"jobs[0].{name}" for e in job_size_problems(huge, "jobs[0]", L))


@pytest.mark.parametrize("name", _PLAIN_MAPS)
def test_every_plain_map_field_refuses_nul_and_is_bounded(name: str) -> None:
    with_nul = job(**{name: {"K": "a\x00b"}})
    assert any(
        e.path.startswith(f"jobs[0].{name}") for e in job_size_problems(with_nul, "jobs[0]", L)
    )
    many = job(**{name: {f"K{i}": "v" for i in range(1 + max(L.env_vars, L.data_entries))}})
    assert any(e.path == f"jobs[0].{name}" for e in job_size_problems(many, "jobs[0]", L))


def test_a_field_with_no_limit_of_its_own_gets_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if `notes` had been added to JobSpec with no line in job_size_problems: `name` is
    # taken off the checked-by-name list and must fall under other_text_bytes.
    monkeypatch.setattr(size_checks, "_UNCHECKED_TEXT", ("name",))
    over = job(name="é" * (L.other_text_bytes // 2 + 1))  # 2 bytes each, over the default
    paths = [e.path for e in job_size_problems(over, "jobs[0]", L) if "bytes" in e.message]
    assert paths == ["jobs[0].name"]
