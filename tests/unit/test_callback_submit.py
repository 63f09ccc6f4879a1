"""Jobs a callback submits (``qb.submit``, issue 14 item 6), over a real supervisor and store.

The runs here are finished by hand (``finish_run``) with the actions ``qb.submit`` records, so
each rule is pinned without a sandbox process: the jobs are the owner's, the ownership rules
of the Submit RPC apply, errors name ``qb.submit jobs[0]...``, a refusal applies nothing of
the run, the run's record names the new jobs, and their cascade depth is stored. The end-to-end
tests (``tests/test_e2e_callback_submit.py``) run real callbacks and real frames.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from latchwork.sandbox.actions import CallbackAction, Scope, Verb
from latchwork.sandbox.python.api import Qb, recorded_actions
from latchwork.sandbox.python.pool import PythonCall, PythonResult
from latchwork.sandbox.submission import (
    MAX_SUBMIT_BYTES,
    MAX_SUBMIT_JOBS,
    SubmissionError,
    decode_submission,
)
from latchwork.server.callback_submit import SubmitBudget
from latchwork.server.callbacks import ActionRefused, LanguagePolicy
from latchwork.server.callrunner import CallbackRunner, OwnerQueue
from latchwork.server.core.limits import Limits
from latchwork.server.core.model import CallbackSpec, Job
from latchwork.server.core.runs import CallbackRun
from latchwork.server.core.states import JobStatus
from latchwork.server.core.visibility import ReadPolicy, Visibility
from latchwork.server.mailer import Mailer, MailSettings
from latchwork.server.output import OutputStore
from latchwork.server.store.protocol import Store
from latchwork.server.supervisor import Supervisor

from .factories import frames_spec, python_supervisor


@pytest.fixture
def store(any_store: Store) -> Store:
    """An SQLite store, then a PostgreSQL one."""
    return any_store


@pytest.fixture
def sup(store: Store, tmp_path: Path) -> Iterator[Supervisor]:
    made = python_supervisor(store, tmp_path)
    yield made
    made.code_checker.close()  # its process, if a test started one


def _job(sup: Supervisor, job_id: int) -> Job:
    job = sup.get_job(job_id)
    assert job is not None, f"job {job_id} does not exist"
    return job


def _submits(owner_id: int, *calls: tuple[Any, int]) -> list[CallbackAction]:
    qb = Qb(owner_id, {"id": owner_id}, {})
    for jobs, pgrp in calls:
        qb.submit(jobs, pgrp=pgrp)
    return recorded_actions(qb)


def _finish(sup: Supervisor, owner_id: int, actions: list[CallbackAction], depth: int = 0) -> Any:
    run = CallbackRun(1, 0, owner_id, "complete-job-self", "", 1, 0.0, depth=depth)
    sup.finish_run(run, actions)
    [stored] = sup.list_runs(job_id=owner_id)
    return stored


PUBLISH = {"name": "publish", "package": {"cmdline": "/studio/bin/publish.py --shot 10"}}


def test_a_submit_action_makes_an_ordinary_job_of_the_owner(sup: Supervisor) -> None:
    owner = sup.submit([frames_spec("1")], user="alice").jobs[0]
    before = {job.id for job in sup.all_jobs()}
    stored = _finish(sup, owner.id, _submits(owner.id, (PUBLISH, 0)))
    [new] = [job for job in sup.all_jobs() if job.id not in before]
    assert (stored.outcome, stored.error) == ("ok", "")
    assert stored.output == f"qb.submit: submitted job {new.id} in process group {new.pgrp}"
    assert new.user == "alice" and new.pgrp == new.id  # a fresh group of its own
    assert new.spec.cmdline == "/studio/bin/publish.py --shot 10"
    assert new.cascade_depth == 1
    assert new.status is JobStatus.PENDING


def test_the_cascade_depth_is_stored(store: Store, tmp_path: Path) -> None:
    sup = python_supervisor(store, tmp_path)
    owner = sup.submit([frames_spec("1")], user="alice").jobs[0]
    _finish(sup, owner.id, _submits(owner.id, (PUBLISH, 0)), depth=4)
    again = Supervisor(store, OutputStore(tmp_path / "output"))
    assert max(job.cascade_depth for job in again.all_jobs()) == 5


def test_pgrp_joins_the_owners_group_with_its_labels(sup: Supervisor) -> None:
    owner = sup.submit([frames_spec("1", label="render")], user="alice").jobs[0]
    job = {**PUBLISH, "label": "publish"}
    _finish(sup, owner.id, _submits(owner.id, (job, owner.pgrp)))
    assert sup.job_by_label(owner.pgrp, "publish") is not None
    # The same group named in the dict, Qube's way, works too; a second "publish" does not.
    stored = _finish_again(sup, owner.id, _submits(owner.id, ({**job, "pgrp": owner.pgrp}, 0)))
    assert stored.outcome == "error"
    assert "qb.submit jobs[0].label" in stored.error


def _finish_again(sup: Supervisor, owner_id: int, actions: list[CallbackAction]) -> Any:
    run = CallbackRun(2, 0, owner_id, "complete-job-self", "", 1, 0.0)
    sup.finish_run(run, actions)
    return next(r for r in sup.list_runs(job_id=owner_id) if r.id == 2)


def test_another_users_group_is_refused_and_nothing_of_the_run_applies(sup: Supervisor) -> None:
    bobs = sup.submit([frames_spec("1")], user="bob").jobs[0]
    owner = sup.submit([frames_spec("1", status=JobStatus.BLOCKED)], user="alice").jobs[0]
    before = len(sup.all_jobs())
    actions = [CallbackAction(Verb.UNBLOCK, Scope.JOB, owner.id)]
    actions += _submits(owner.id, (PUBLISH, 0), (PUBLISH, bobs.pgrp))
    stored = _finish(sup, owner.id, actions)
    assert stored.outcome == "error"
    assert stored.error == (
        f"qb.submit #2 pgrp: process group {bobs.id} belongs to 'bob' (the owner of job "
        f"{bobs.id}); the callback's owner 'alice' is not an admin"
    )
    assert len(sup.all_jobs()) == before  # not even the first call's job
    assert _job(sup, owner.id).blocked  # nor the unblock


def test_another_users_parent_and_user_key_are_refused(sup: Supervisor) -> None:
    bobs = sup.submit([frames_spec("1")], user="bob").jobs[0]
    owner = sup.submit([frames_spec("1")], user="alice").jobs[0]
    stored = _finish(sup, owner.id, _submits(owner.id, ({**PUBLISH, "pid": bobs.id}, 0)))
    assert stored.error.startswith(f"qb.submit jobs[0].pid: job {bobs.id} belongs to 'bob'")
    stored = _finish_again(sup, owner.id, _submits(owner.id, ({**PUBLISH, "user": "bob"}, 0)))
    assert stored.error == (
        "qb.submit jobs[0].user: a callback submits as its owner 'alice'; only an admin's "
        "callback submits for other users"
    )


def test_under_own_visibility_another_users_tree_is_refused_as_missing(
    store: Store, tmp_path: Path
) -> None:
    """A callback under ``visibility = "own"`` learns nothing of bob: his group and his job
    are refused as a group and a job that do not exist would be."""
    sup = Supervisor(
        store,
        OutputStore(tmp_path / "output"),
        languages=LanguagePolicy(enabled=frozenset({"qube", "python"})),
        read_policy=ReadPolicy(Visibility.OWN, tokens=True),
    )
    bobs = sup.submit([frames_spec("1")], user="bob").jobs[0]
    owner = sup.submit([frames_spec("1")], user="alice").jobs[0]
    stored = _finish(sup, owner.id, _submits(owner.id, (PUBLISH, bobs.pgrp)))
    assert stored.error == f"qb.submit pgrp: process group {bobs.pgrp} does not exist"
    stored = _finish_again(sup, owner.id, _submits(owner.id, ({**PUBLISH, "pid": bobs.id}, 0)))
    assert stored.error == f"qb.submit jobs[0].pid: parent job {bobs.id} does not exist"


def test_an_admins_callback_has_admin_rights(store: Store, tmp_path: Path) -> None:
    sup = Supervisor(
        store,
        OutputStore(tmp_path / "output"),
        languages=LanguagePolicy(enabled=frozenset({"qube", "python"})),
        admins=frozenset({"wrangler"}),
    )
    bobs = sup.submit([frames_spec("1")], user="bob").jobs[0]
    owner = sup.submit([frames_spec("1")], user="wrangler").jobs[0]
    job = {**PUBLISH, "user": "bob", "pid": bobs.id}
    stored = _finish(sup, owner.id, _submits(owner.id, (job, bobs.pgrp)))
    assert (stored.outcome, stored.error) == ("ok", "")
    new = max(sup.all_jobs(), key=lambda j: j.id)
    assert (new.user, new.pgrp, new.spec.pid) == ("bob", bobs.pgrp, bobs.id)


def test_errors_name_the_field_as_a_submit_does(sup: Supervisor) -> None:
    owner = sup.submit([frames_spec("1")], user="alice").jobs[0]
    bad = [
        {"name": "x", "package": {"cmdline": "true", "shell": "zsh"}},
        {"name": "y", "package": {"cmdline": "true"}, "priority": "high", "kind": "x"},
    ]
    stored = _finish(sup, owner.id, _submits(owner.id, (bad, 0)))
    assert stored.error == (
        "qb.submit jobs[0].package.shell: unknown package key; "
        "qb.submit jobs[1].priority: 'high' is not a whole number; "
        "qb.submit jobs[1].kind: unknown job attribute"
    )


def test_the_submissions_limits_apply(store: Store, tmp_path: Path) -> None:
    sup = python_supervisor(store, tmp_path)
    owner = sup.submit([frames_spec("1")], user="alice").jobs[0]
    huge_env = {f"V{i}": "x" for i in range(Limits().env_vars + 1)}
    stored = _finish(sup, owner.id, _submits(owner.id, ({**PUBLISH, "env": huge_env}, 0)))
    assert stored.error.startswith("qb.submit jobs[0].env: ")
    assert str(Limits().env_vars) in stored.error


def test_the_sandbox_bounds_count_size_and_shape() -> None:
    qb = Qb(1, {"id": 1}, {})
    with pytest.raises(SubmissionError, match=f"at most {MAX_SUBMIT_JOBS} jobs"):
        qb.submit([PUBLISH] * (MAX_SUBMIT_JOBS + 1))
    with pytest.raises(SubmissionError, match=f"over {MAX_SUBMIT_BYTES} bytes"):
        qb.submit({**PUBLISH, "env": {"BIG": "x" * MAX_SUBMIT_BYTES}})
    with pytest.raises(SubmissionError, match=r"qb.submit jobs\[0\]: a job is a dict"):
        qb.submit(["echo hi"])
    with pytest.raises(SubmissionError, match=r"jobs\[0\].data: set is not JSON data"):
        qb.submit({"data": {1, 2}})
    with pytest.raises(TypeError, match="pgrp is a process group id"):
        qb.submit(PUBLISH, pgrp=-1)
    for _ in range(MAX_SUBMIT_JOBS // 50):
        qb.submit([PUBLISH] * 50)
    with pytest.raises(RuntimeError, match=f"submits at most {MAX_SUBMIT_JOBS} jobs"):
        qb.submit(PUBLISH)
    assert len(recorded_actions(qb)) == MAX_SUBMIT_JOBS // 50


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"jobs": [], "pgrp": 0}',
        '{"jobs": [1], "pgrp": 0}',
        '{"jobs": [{}], "pgrp": -1}',
        '{"jobs": [{}], "pgrp": 0, "user": "root"}',
        '{"jobs": [{"a": [[[[[[[[1]]]]]]]]}], "pgrp": 0}',
        '{"jobs": [{}], "pgrp": 0, "x": "' + "y" * MAX_SUBMIT_BYTES + '"}',
    ],
)
def test_the_wire_check_refuses_a_malformed_submission(text: str) -> None:
    with pytest.raises(SubmissionError):
        decode_submission(text)


class RecordingMailer(Mailer):
    """A mailer that records what it would send (the ordering is what is under test)."""

    def __init__(self) -> None:
        super().__init__(MailSettings(host="127.0.0.1"))
        self.sent: list[str] = []

    async def send(self, to: list[str], subject: str, body: str) -> None:
        self.sent.append(subject)


class FixedSandbox:
    """A sandbox whose code asked for these actions."""

    def __init__(self, actions: list[CallbackAction]) -> None:
        self.actions = actions

    async def run(self, call: PythonCall) -> PythonResult:
        return PythonResult(self.actions, "", "", 0, "", 1.0)


async def test_a_refused_submission_sends_no_mail(store: Store, tmp_path: Path) -> None:
    queue = OwnerQueue.for_slots(2)
    sup = python_supervisor(store, tmp_path, run_queue=queue)
    bobs = sup.submit([frames_spec("1")], user="bob").jobs[0]
    spec = frames_spec("1", mailaddress="alice@example.com")
    spec.callbacks = [CallbackSpec("submit-job-self", "python", "pass")]
    owner = sup.submit([spec], user="alice").jobs[0]
    actions = [CallbackAction(Verb.MAIL, Scope.JOB, owner.id, text="Subject: done\n\nhi")]
    actions += _submits(owner.id, (PUBLISH, bobs.pgrp))
    mailer = RecordingMailer()
    runner = CallbackRunner(sup, FixedSandbox(actions), mailer, queue)
    await runner.run(runner.queue.take())
    [stored] = sup.list_runs(job_id=owner.id)
    assert stored.error.startswith(f"qb.submit pgrp: process group {bobs.pgrp} belongs to 'bob'")
    assert mailer.sent == []


def test_a_tree_of_callbacks_submitting_jobs_meets_the_owners_budget(sup: Supervisor) -> None:
    """The depth bounds a chain; the owner's bucket bounds a tree (each new job brings new
    callbacks, with budgets of their own)."""
    now = [0.0]
    sup.callback_submitter.budget = SubmitBudget(burst=5, window_seconds=10, clock=lambda: now[0])
    owner = sup.submit([frames_spec("1")], user="alice").jobs[0]
    assert _finish(sup, owner.id, _submits(owner.id, ([PUBLISH] * 3, 0))).outcome == "ok"
    stored = _finish_again(sup, owner.id, _submits(owner.id, ([PUBLISH] * 3, 0)))
    assert stored.error == (
        "qb.submit: the callbacks of 'alice' submitted more jobs than their budget of 5 per "
        "10 s (callbacks that submit jobs whose callbacks submit jobs?); try later"
    )
    now[0] = 2.0  # 1 job's worth refilled: 3 available
    run = CallbackRun(3, 0, owner.id, "complete-job-self", "", 1, 0.0)
    sup.finish_run(run, _submits(owner.id, ([PUBLISH] * 3, 0)))
    assert next(r for r in sup.list_runs(job_id=owner.id) if r.id == 3).outcome == "ok"


async def test_python_code_is_judged_by_the_checker_process(sup: Supervisor) -> None:
    owner = sup.submit([frames_spec("1")], user="alice").jobs[0]
    callback = {"triggers": "complete-job-self", "language": "python"}
    # Code of its own: the verdict cache is the process's (this test runs once per store).
    code = f"print('judged elsewhere', {secrets.randbelow(10**9)})"
    good = {**PUBLISH, "callbacks": [{**callback, "code": code}]}
    bad = {**PUBLISH, "callbacks": [{**callback, "code": "class Escape:\n    pass"}]}
    # Not judged yet: refused, never compiled in the supervisor's process.
    stored = _finish(sup, owner.id, _submits(owner.id, (good, 0)))
    assert stored.error == (
        "qb.submit jobs[0].callbacks[0].code: the code could not be checked; try again"
    )
    await sup.check_submits(_submits(owner.id, (good, 0)), _job(sup, owner.id))
    with pytest.raises(ActionRefused, match=r"callbacks\[0\].code: class definitions"):
        await sup.check_submits(_submits(owner.id, (bad, 0)), _job(sup, owner.id))
    stored = _finish_again(sup, owner.id, _submits(owner.id, (good, 0)))
    assert stored.outcome == "ok", stored.error
