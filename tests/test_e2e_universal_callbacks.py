"""Universal callbacks on a live supervisor, with the files of docs/callbacks.md as written.

The documented ``callbacks.conf`` and its files are written to a directory the supervisor is
started with; jobs submitted as a Qube user submits them get the set, GetJob shows it, the
Python file mails through a real SMTP server, a SIGHUP reloads it for new jobs only, a bad
line stops the start (or is logged at a reload, the previous set kept) naming its line.
"""

from __future__ import annotations

import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from latchwork.v1 import job_pb2, supervisor_pb2

from .privileges import require_root
from .serverproc import ServerProcess, run_refused
from .smtp_inbox import Inbox, running_inbox
from .waiting import wait_job

DOC = (Path(__file__).resolve().parent.parent / "docs" / "callbacks.md").read_text()
SECTION = DOC.split("## Universal callbacks", 1)[1]
FILES = dict(re.findall(r"```\w+ (\S+)\n(.*?)```", SECTION, re.S))
START_ERROR = re.search(r"```text\n(latchwork serve: .*?)\n```", SECTION, re.S)


def _directory(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(exist_ok=True)
    path.chmod(0o755)
    for name, text in files.items():
        (path / name).write_text(text)
        (path / name).chmod(0o644)
    return path


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with running_inbox() as running:
        yield running


@pytest.fixture
def universal(tmp_path: Path) -> Path:
    return _directory(tmp_path / "universal", FILES)


@pytest.fixture
def server(tmp_path: Path, universal: Path, inbox: tuple[Inbox, int]) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path / "data",
        env={
            "LATCHWORK_UNIVERSAL_CALLBACKS_DIR": str(universal),
            "LATCHWORK_SMTP_HOST": "127.0.0.1",
            "LATCHWORK_SMTP_PORT": str(inbox[1]),
        },
    ).start()
    yield server
    server.stop()


def _universal(client: Any, job_id: int) -> list[str]:
    return [c.universal for c in client.get_job(job_id).callbacks]


def _wait_runs(client: Any, job_id: int, count: int) -> list[supervisor_pb2.CallbackRun]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = [r for r in client.callback_runs(job_id=job_id) if r.outcome]
        if len(runs) >= count:
            return runs
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} runs of job {job_id}")


def _wait_mail(inbox: Inbox, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(inbox.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(inbox.messages) >= count, [m["Subject"] for m in inbox.messages]


def _wait_log(server: ServerProcess, text: str) -> None:
    deadline = time.monotonic() + 30
    while text not in server.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert text in server.log_path.read_text()


def _frames(name: str, cmdline: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "prototype": "cmdrange",
        "package": {"cmdline": cmdline, "range": "1-2"},
        **extra,
    }


def test_the_page_documents_a_set_with_each_language() -> None:
    assert set(FILES) == {"callbacks.conf", "logFailures.py", "mail-status.qcb"}
    assert START_ERROR is not None


def test_the_documented_set_runs_on_every_job(
    server: ServerProcess, inbox: tuple[Inbox, int]
) -> None:
    messages = inbox[0]
    with server.client() as client:
        done = client.submit([_frames("done", "true", mailaddress="owner@example.com")]).jobs[0]
        frame_2_fails = "test QB_FRAME_NUMBER != 2"
        broken = client.submit(
            [_frames("broken", frame_2_fails, mailaddress="owner@example.com")]
        ).jobs[0]
        quiet = client.submit([_frames("quiet", frame_2_fails)]).jobs[0]
        for job in (done, broken, quiet):
            wait_job(client, job.id)
        assert _universal(client, done.id) == ["logFailures.py", "mail-status.qcb"]
        assert _universal(client, broken.id) == ["logFailures.py", "mail-status.qcb"]
        # mail-status mails: attached only to jobs with a mailaddress.
        assert _universal(client, quiet.id) == ["logFailures.py"]
        # The job's own callbacks come first, with no `universal`.
        own = {"triggers": "done-job-self", "language": "qube", "code": "block-self"}
        mine = client.submit([_frames("mine", "true", callbacks=[own])]).jobs[0]
        assert _universal(client, mine.id) == ["", "logFailures.py"]
        shown = server.cli("job", str(mine.id)).stdout
        assert "universal: logFailures.py (the admin's, on every job)" in shown

        (status_run,) = _wait_runs(client, done.id, 1)
        assert status_run.outcome == supervisor_pb2.CALLBACK_OUTCOME_OK
        runs = {r.triggers: r for r in _wait_runs(client, broken.id, 2)}
        failure = runs["failed-work-self-*"]
        assert failure.outcome == supervisor_pb2.CALLBACK_OUTCOME_OK, failure.error
        assert failure.binding == "2"
        assert failure.output.startswith("FAILED tester broken frame 2 on testhost retries [0]")
        (quiet_run,) = _wait_runs(client, quiet.id, 1)
        assert quiet_run.output.startswith("FAILED tester quiet frame 2")
        _wait_mail(messages, 3)  # two status mails and the failed frame's
        subjects = sorted(str(m["Subject"]) for m in messages.messages)
        assert "broken: frame 2 failed" in subjects
        assert set(messages.recipients) == {"owner@example.com"}
        assert client.get_job(quiet.id).status == job_pb2.JOB_STATUS_FAILED


def test_sighup_reloads_for_new_jobs_only_and_keeps_the_set_on_error(
    server: ServerProcess, universal: Path
) -> None:
    assert server.process is not None
    with server.client() as client:
        before = client.submit([_frames("before", "true")]).jobs[0]
        summary = "Subject: $JOB_NAME is complete\nJob $JOB_ID: $WORK_COUNTS.\n"
        conf = "logFailures.py = failed-work-self-*\nhold.qcb = failed-job-self\n"
        _directory(universal, {"callbacks.conf": conf, "hold.qcb": "block-self\n"})
        server.process.send_signal(signal.SIGHUP)
        _wait_log(server, "universal callbacks reloaded: logFailures.py, hold.qcb")
        after = client.submit([_frames("after", "true")]).jobs[0]
        assert _universal(client, before.id) == ["logFailures.py"]
        assert _universal(client, after.id) == ["logFailures.py", "hold.qcb"]

        bad = conf + "summary.mail = complete-job-self\ncheckWork.pl = done-work-self-*\n"
        _directory(universal, {"callbacks.conf": bad, "summary.mail": summary})
        server.process.send_signal(signal.SIGHUP)
        _wait_log(server, "callbacks.conf:4: checkWork.pl: Perl callbacks are not supported")
        kept = client.submit([_frames("kept", "true")]).jobs[0]
        assert _universal(client, kept.id) == ["logFailures.py", "hold.qcb"]


def test_a_restart_keeps_the_attached_callbacks(
    server: ServerProcess, universal: Path, tmp_path: Path
) -> None:
    with server.client() as client:
        job = client.submit([_frames("kept", "true", mailaddress="o@example.com")]).jobs[0]
    server.stop()
    (universal / "callbacks.conf").write_text("logFailures.py = failed-job-self\n")
    server.start()
    with server.client() as client:
        assert _universal(client, job.id) == ["logFailures.py", "mail-status.qcb"]
        assert client.get_job(job.id).callbacks[0].spec.triggers == "failed-work-self-*"
        later = client.submit([_frames("later", "true")]).jobs[0]
        assert [c.spec.triggers for c in client.get_job(later.id).callbacks] == ["failed-job-self"]


def test_the_start_refuses_a_bad_line_naming_it(tmp_path: Path, universal: Path) -> None:
    # The documented file's comment and first callback, then Qube's Perl example.
    conf = "".join(FILES["callbacks.conf"].splitlines(keepends=True)[:2])
    conf += "checkWork.pl = done-work-self-*\n"
    (universal / "callbacks.conf").write_text(conf)
    (universal / "checkWork.pl").write_text("print 'checked';\n")
    stderr = run_refused(
        ["serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0"],
        env={"LATCHWORK_UNIVERSAL_CALLBACKS_DIR": str(universal)},
    )
    assert START_ERROR is not None
    documented = START_ERROR.group(1).replace("/etc/latchwork/callbacks", str(universal))
    assert stderr.strip().splitlines()[-1] == documented


def test_the_start_refuses_files_a_user_may_write(tmp_path: Path, universal: Path) -> None:
    (universal / "logFailures.py").chmod(0o666)
    stderr = run_refused(
        ["serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0"],
        env={"LATCHWORK_UNIVERSAL_CALLBACKS_DIR": str(universal)},
    )
    assert "callbacks.conf:2: logFailures.py: group or others may write it" in stderr


def test_another_user_cannot_reload(server: ServerProcess, universal: Path) -> None:
    require_root("sends SIGHUP as another OS user")
    assert server.process is not None
    user = f"lw_{secrets.token_hex(4)}"
    subprocess.run(["useradd", "-M", user], check=True)
    try:
        (universal / "callbacks.conf").write_text("logFailures.py = done-job-self\n")
        refused = subprocess.run(
            ["runuser", "-u", user, "--", "kill", "-HUP", str(server.process.pid)],
            capture_output=True,
            text=True,
        )
    finally:
        subprocess.run(["userdel", user], check=False, capture_output=True)
    assert refused.returncode != 0
    assert "not permitted" in refused.stderr
    with server.client() as client:
        job = client.submit([_frames("same", "true")]).jobs[0]
        assert [c.spec.triggers for c in client.get_job(job.id).callbacks] == ["failed-work-self-*"]
