"""What a callback's source can reach, and what the supervisor therefore sends with a run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.sandbox.python.pool import PythonCall
from latchwork.sandbox.python.references import reads_job_snapshots, reads_tree
from latchwork.server.callbacks import LanguagePolicy
from latchwork.server.callrunner import CallbackRunner, OwnerQueue
from latchwork.server.core.model import CallbackSpec
from latchwork.server.core.runs import CallbackRun
from latchwork.server.mailer import Mailer, MailSettings
from latchwork.server.output import OutputStore
from latchwork.server.store import SqliteStore
from latchwork.server.supervisor import Supervisor
from tests.unit.factories import frames_spec


@pytest.mark.parametrize(
    ("code", "reads"),
    [
        ("qb.workunblock('%d:%s' % (qb.jobid(), event.binding))", False),
        ("print(event.work_name, event.binding)", False),
        ("# job and jobinfo in a comment reach nothing\nqb.unblock()", False),
        ("note = 'job jobinfo getattr'  # strings alone look nothing up", False),
        ("jobs = 3\njobinfo_count = 1", False),
        ("print(len(job.work))", True),
        ("for j in qb.jobinfo(pgrp=5): print(j['status'])", True),
        ("f = getattr(qb, 'job' + 'info')\nprint(f())", True),
        ("x = '''unterminated", True),
    ],
)
def test_reads_job_snapshots(code: str, reads: bool) -> None:
    assert reads_job_snapshots(code) is reads


@pytest.mark.parametrize(
    ("code", "reads"),
    [
        ("qb.unblock()", False),
        ("print(job.status)", False),
        ("print(getattr(qb, 'jobid')())", False),  # no attribute leads to the tree global
        ("print([t.status for t in tree])", True),
        ("(", True),
    ],
)
def test_reads_tree(code: str, reads: bool) -> None:
    assert reads_tree(code) is reads


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    store = SqliteStore(tmp_path / "latchwork.db")
    yield Supervisor(
        store,
        OutputStore(tmp_path / "output"),
        languages=LanguagePolicy(enabled=frozenset({"qube", "python"})),
    )
    store.close()


def _python_call(sup: Supervisor, code: str, triggers: str = "complete-work-self-*") -> PythonCall:
    other = sup.submit([frames_spec("1-5", label="other")]).jobs[0]
    spec = frames_spec("1-400", label="big", callbacks=[CallbackSpec(triggers, "python", code)])
    owner = sup.submit([spec], pgrp=other.pgrp).jobs[0]
    (callback,) = sup.callbacks_of(owner.id)
    run = CallbackRun(
        id=1,
        callback_id=callback.id,
        job_id=owner.id,
        triggers=triggers,
        binding="7",
        event_seq=0,
        due_time=0.0,
    )
    runner = CallbackRunner(sup, None, Mailer(MailSettings()), OwnerQueue.for_slots(1))
    return runner._call(callback, owner, None, run)  # noqa: SLF001 - the unit under test


def test_a_run_whose_code_reads_no_job_carries_no_work_list(supervisor: Supervisor) -> None:
    call = _python_call(supervisor, "qb.workunblock('%d:%s' % (qb.jobid(), event.binding))")
    assert call.job["work"] == []
    assert call.jobs == {}
    assert call.job["label"] == "big"  # the owner's own fields still travel


def test_a_run_whose_code_reads_job_carries_the_work_list(supervisor: Supervisor) -> None:
    call = _python_call(supervisor, "print(len(job.work))")
    assert len(call.job["work"]) == 400  # type: ignore[arg-type]
    assert [j["label"] for j in call.jobs.values()] == ["other"]  # the small process group
