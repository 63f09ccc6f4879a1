"""Universal callbacks (issue 14, item 2): read and checked whole, attached to every new job.

Real files in a temporary directory, a real supervisor over a real store; the live process
(SIGHUP, start refusals, mail) is tests/test_e2e_universal_callbacks.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from latchwork.server import staging
from latchwork.server.callbacks import LanguagePolicy
from latchwork.server.core.limits import DEFAULT_LIMITS
from latchwork.server.core.model import CallbackSpec, JobSpec
from latchwork.server.core.submission import SubmissionRejected
from latchwork.server.store.sqlite import StagedChunk
from latchwork.server.supervisor import Supervisor
from latchwork.server.universal_callbacks import (
    MAX_UNIVERSAL_CALLBACKS,
    UniversalCallbacksError,
    read_universal_callbacks,
)

from .factories import Farm, frames_spec

ALL = LanguagePolicy(enabled=frozenset({"qube", "python", "mail"}))
NO_MAIL = LanguagePolicy(enabled=frozenset({"qube", "python"}))


def _write(directory: Path, conf: str, **files: str) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "callbacks.conf").write_text(conf)
    for name, code in files.items():
        (directory / name.replace("__", ".")).write_text(code)
    for path in (directory, *directory.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return directory


def _read(directory: Path, policy: LanguagePolicy = ALL) -> list[tuple[str, str, str, int]]:
    entries = read_universal_callbacks(directory, policy, DEFAULT_LIMITS)
    return [(e.file, e.spec.triggers, e.spec.language, e.line) for e in entries]


def _refusal(directory: Path, policy: LanguagePolicy = ALL) -> str:
    with pytest.raises(UniversalCallbacksError) as caught:
        read_universal_callbacks(directory, policy, DEFAULT_LIMITS)
    return str(caught.value)


def test_each_extension_gives_its_language_and_comments_are_skipped(tmp_path: Path) -> None:
    conf = (
        "# the studio's\n\nlog.py = failed-work-self-*\n"
        "  status.qcb =  done-job-self \nsummary.mail = complete-job-self\n"
    )
    _write(
        tmp_path / "u",
        conf,
        log__py="print(event.binding)\n",
        status__qcb="mail-status\n",
        summary__mail="Subject: $JOB_NAME\ndone",
    )
    assert _read(tmp_path / "u") == [
        ("log.py", "failed-work-self-*", "python", 3),
        ("status.qcb", "done-job-self", "qube", 4),
        ("summary.mail", "complete-job-self", "mail", 5),
    ]


@pytest.mark.parametrize(
    ("line", "files", "expected"),
    [
        ("check.pl = done-job-self", {"check__pl": "print 1;"}, "check.pl: Perl callbacks are"),
        ("check.sh = done-job-self", {"check__sh": "true"}, "unknown kind of file '.sh'"),
        ("gone.py = done-job-self", {}, "gone.py: cannot be read"),
        ("log.py", {"log__py": "pass"}, "expected 'file = trigger'"),
        ("../x.py = done-job-self", {}, "give a file name in"),
        ("log.py = done-jbo-self", {"log__py": "pass"}, "trigger 'done-jbo-self': "),
        ("log.py = done-job-render", {"log__py": "pass"}, "watch only its own job (self)"),
        ("log.py = done-job-12", {"log__py": "pass"}, "job 12 does not exist (offset 9); a"),
        ("log.py = globaltime-1000", {"log__py": "pass"}, "trigger 'globaltime-1000'"),
        ("log.py = done-job-self", {"log__py": "import os\n"}, "log.py: "),
        ("st.qcb = done-job-self", {"st__qcb": "explode-self"}, "st.qcb: "),
        ("w.qcb = done-job-self", {"w__qcb": "retry-work-self"}, "needs a work item"),
    ],
)
def test_a_bad_line_is_refused_naming_the_file_and_line(
    tmp_path: Path, line: str, files: dict[str, str], expected: str
) -> None:
    directory = _write(
        tmp_path / "u",
        f"# comment\nok.qcb = done-job-self\n{line}\n",
        ok__qcb="block-self",
        **files,
    )
    message = _refusal(directory)
    assert f"{directory / 'callbacks.conf'}:3: " in message
    assert expected in message


def test_a_trigger_error_gives_its_offset(tmp_path: Path) -> None:
    directory = _write(tmp_path / "u", "log.py = done-job-self && bogus\n", log__py="pass")
    assert "(offset 17)" in _refusal(directory)


def test_a_mail_file_needs_mail_enabled(tmp_path: Path) -> None:
    directory = _write(tmp_path / "u", "s.mail = done-job-self\n", s__mail="done")
    assert "language 'mail' is refused" in _refusal(directory, NO_MAIL)


def test_files_others_may_write_are_refused(tmp_path: Path) -> None:
    directory = _write(tmp_path / "u", "log.py = done-job-self\n", log__py="pass")
    (directory / "log.py").chmod(0o666)
    assert "log.py: group or others may write it (mode 666)" in _refusal(directory)
    (directory / "log.py").chmod(0o644)
    (directory / "callbacks.conf").chmod(0o620)
    assert "group or others may write it (mode 620)" in _refusal(directory)
    (directory / "callbacks.conf").chmod(0o644)
    directory.chmod(0o777)
    assert f"{directory}: group or others may write it" in _refusal(directory)


def test_no_callbacks_conf_is_refused(tmp_path: Path) -> None:
    (tmp_path / "u").mkdir()
    assert "callbacks.conf: cannot be read" in _refusal(tmp_path / "u")


def test_the_set_is_bounded(tmp_path: Path) -> None:
    lines = "".join("s.qcb = done-job-self\n" for _ in range(MAX_UNIVERSAL_CALLBACKS + 1))
    directory = _write(tmp_path / "u", lines, s__qcb="block-self")
    assert f":{MAX_UNIVERSAL_CALLBACKS + 1}: more than" in _refusal(directory)


# --- on a supervisor ---------------------------------------------------------------------------


def _job(**fields: object) -> JobSpec:
    return JobSpec(cmdline="true", **fields)  # type: ignore[arg-type]


def _universal(supervisor: Supervisor, job_id: int) -> list[str]:
    return [c.universal for c in supervisor.callbacks_of(job_id)]


@pytest.fixture
def farm(tmp_path: Path, store_location: str | Path) -> Iterator[Farm]:
    """On SQLite (tmp_path/data/latchwork.db), then on PostgreSQL."""
    farm = Farm(tmp_path / "data", languages=ALL, location=store_location)
    (tmp_path / "data").mkdir(exist_ok=True)
    yield farm
    farm.close()


def test_every_new_job_gets_the_set_stored_and_recovered(farm: Farm, tmp_path: Path) -> None:
    directory = _write(
        tmp_path / "u",
        "log.py = failed-work-self-*\nstatus.qcb = done-job-self\n",
        log__py="print(event.binding)",
        status__qcb="mail-status",
    )
    supervisor = farm.open()
    supervisor.universal_callbacks.load(directory)
    own = CallbackSpec(triggers="done-job-self", language="qube", code="block-self")
    jobs = supervisor.submit([_job(callbacks=[own], mailaddress="a@example.com"), _job()]).jobs
    assert _universal(supervisor, jobs[0].id) == ["", "log.py", "status.qcb"]
    # status.qcb mails: not attached to a job without a mailaddress.
    assert _universal(supervisor, jobs[1].id) == ["log.py"]
    code = [c.spec.code for c in supervisor.callbacks_of(jobs[0].id)]
    assert code[1:] == ["print(event.binding)", "mail-status"]

    restarted = farm.restart()
    assert _universal(restarted, jobs[0].id) == ["", "log.py", "status.qcb"]
    assert _universal(restarted, jobs[1].id) == ["log.py"]


def test_a_reload_changes_the_set_for_new_jobs_only(farm: Farm, tmp_path: Path) -> None:
    directory = _write(tmp_path / "u", "a.qcb = done-job-self\n", a__qcb="block-self")
    supervisor = farm.open()
    supervisor.universal_callbacks.load(directory)
    before = supervisor.submit([_job()]).jobs[0]
    _write(directory, "b.qcb = complete-job-self\n", b__qcb="block-self")
    supervisor.universal_callbacks.reload()
    after = supervisor.submit([_job()]).jobs[0]
    assert _universal(supervisor, before.id) == ["a.qcb"]
    assert _universal(supervisor, after.id) == ["b.qcb"]

    _write(directory, "b.qcb = done-job-self\nbad.pl = done-job-self\n", bad__pl="1;")
    with pytest.raises(UniversalCallbacksError, match=r"callbacks.conf:2: bad.pl: Perl"):
        supervisor.universal_callbacks.reload()
    kept = supervisor.submit([_job()]).jobs[0]
    assert _universal(supervisor, kept.id) == ["b.qcb"]


def test_universal_callbacks_take_nothing_from_the_users_allowance(
    farm: Farm, tmp_path: Path
) -> None:
    directory = _write(tmp_path / "u", "a.qcb = done-job-self\n", a__qcb="block-self")
    supervisor = farm.open()
    supervisor.universal_callbacks.load(directory)
    spec = CallbackSpec(triggers="done-job-self", language="qube", code="block-self")
    limit = DEFAULT_LIMITS.callbacks_per_job
    job = supervisor.submit([_job(callbacks=[spec] * (limit - 1))]).jobs[0]
    assert len(supervisor.callbacks_of(job.id)) == limit  # its own, and the universal one
    supervisor.add_callbacks(job.id, [spec])  # the user's last one
    with pytest.raises(SubmissionRejected, match="has 100 callbacks"):
        supervisor.add_callbacks(job.id, [spec])


def test_a_rejected_submission_gives_back_the_universal_ids(farm: Farm, tmp_path: Path) -> None:
    directory = _write(tmp_path / "u", "a.qcb = done-job-self\n", a__qcb="block-self")
    supervisor = farm.open()
    supervisor.universal_callbacks.load(directory)
    first = supervisor.submit([_job()]).jobs[0]
    bad = CallbackSpec(triggers="done-job-nowhere", language="qube", code="block-self")
    with pytest.raises(SubmissionRejected):
        supervisor.submit([_job(), _job(callbacks=[bad])])
    second = supervisor.submit([_job()]).jobs[0]
    ids = [c.id for j in (first, second) for c in supervisor.callbacks_of(j.id)]
    assert ids == [ids[0], ids[0] + 1]


async def test_a_staged_submit_gets_the_set_too(
    farm: Farm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging, "STAGE_ABOVE_ROWS", 5)
    monkeypatch.setattr(staging, "STAGE_APART_ABOVE_ROWS", 5)
    monkeypatch.setattr(staging, "STAGE_CHUNK_ROWS", 4)
    directory = _write(tmp_path / "u", "a.qcb = done-job-self\n", a__qcb="block-self")
    supervisor = farm.open()
    supervisor.universal_callbacks.load(directory)
    staged = supervisor.store.stage
    chunks: list[int] = []

    def counted(chunk: StagedChunk) -> None:
        chunks.append(1)
        staged(chunk)

    supervisor.store.stage = counted  # type: ignore[method-assign]
    jobs = (await supervisor.submit_async([frames_spec("1-10"), frames_spec("1-10")])).jobs
    assert chunks  # it was staged
    assert [_universal(supervisor, job.id) for job in jobs] == [["a.qcb"], ["a.qcb"]]
    assert _universal(farm.restart(), jobs[1].id) == ["a.qcb"]


def test_a_qube_callback_that_mails_survives_a_restart(farm: Farm) -> None:
    # Found here: a restart recompiled stored qube code with only `qube` enabled, so a
    # `mail-status` callback (a user's or a universal one) was dropped as "no longer compiles".
    supervisor = farm.open()
    status = CallbackSpec(triggers="done-job-self", language="qube", code="mail-status")
    job = supervisor.submit([_job(callbacks=[status], mailaddress="a@example.com")]).jobs[0]
    restarted = farm.restart()
    assert [c.spec.code for c in restarted.callbacks_of(job.id)] == ["mail-status"]
