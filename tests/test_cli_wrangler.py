"""The ``latchwork`` command as a wrangler lives in it, run as a subprocess against a live
supervisor: pipes closed early, bad values named, the queue table, one job's frames, logs,
``watch`` lines, and ``watch --until-done`` for a process group and across a restart.
"""

from __future__ import annotations

import os
import pty
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import grpc
import pytest

from latchwork.client import Client, LatchworkError

from .serverproc import ServerProcess
from .waiting import wait_job

CLI = [sys.executable, "-m", "latchwork.client.cli"]


def _env(server: ServerProcess) -> dict[str, str]:
    return {**os.environ, "LATCHWORK_ADDRESS": server.address, "LATCHWORK_USER": "tester"}


def _latchwork(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, env=_env(server)
    )


def _frames(name: str, cmdline: str, frames: str, **extra: object) -> dict[str, object]:
    package = {"cmdline": cmdline, "range": frames}
    return {"name": name, "prototype": "cmdrange", "package": package, **extra}


# ------------------------------------------------------------------------- a pipe closed early


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A supervisor whose every listing is far longer than a pipe holds (64 KiB): 2,000 held
    jobs, a job of 3,000 held frames, and a frame that printed 50,000 lines."""
    server = ServerProcess(tmp_path_factory.mktemp("busy") / "data").start()
    try:
        with server.client() as client:
            held = [
                {"name": f"held {i}", "status": "blocked", "package": {"cmdline": "true"}}
                for i in range(2000)
            ]
            client.submit(held)
            client.submit([_frames("many frames", "true", "1-3000", status="blocked")])
            loud = client.submit([{"name": "loud", "package": {"cmdline": "seq 1 50000"}}])
            wait_job(client, loud.jobs[0].id)
        yield server
    finally:
        server.stop()


def _head_1(server: ServerProcess, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """``latchwork ARGS | head -1`` in a shell: latchwork's exit code, the line head printed,
    and what latchwork wrote on stderr."""
    errors = tmp_path / "stderr"
    line = f"{shlex.join([*CLI, *args])} 2>{shlex.quote(str(errors))} | head -1"
    done = subprocess.run(
        ["bash", "-c", f'{line}; exit "${{PIPESTATUS[0]}}"'],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(server),
    )
    return done.returncode, done.stdout, errors.read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["jobs", "--limit", "0"],
        ["watch"],
        ["job", "2001"],
        ["logs", "2002"],
        ["logs", "2002:0"],
    ],
    ids=" ".join,
)
def test_a_pipe_closed_early_stops_the_command_quietly(
    busy: ServerProcess, tmp_path: Path, args: list[str]
) -> None:
    code, out, err = _head_1(busy, tmp_path, *args)
    assert err == ""
    assert code == 141  # 128 + SIGPIPE, as a shell reports any command a closed pipe stopped
    assert out.count("\n") == 1 and out.strip()


def test_the_default_listing_piped_to_head_says_nothing_on_stderr(
    busy: ServerProcess, tmp_path: Path
) -> None:
    code, out, err = _head_1(busy, tmp_path, "jobs")
    assert err == ""
    assert code in (0, 141)  # 50 lines fit in the pipe: it may be gone only after they went
    assert out.split()[0] == "ID"


def test_jobs_lists_the_newest_50_unless_asked(busy: ServerProcess) -> None:
    listed = _latchwork(busy, "jobs")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert len(lines) == 1 + 50
    assert lines[1].split()[0] == "2002"  # newest first
    assert listed.stderr == ""  # the note that more exist is for a terminal only
    more = _latchwork(busy, "jobs", "--limit", "60")
    assert len(more.stdout.splitlines()) == 61
    assert len(_latchwork(busy, "jobs", "--limit", "0").stdout.splitlines()) == 1 + 2002
    assert _latchwork(busy, "jobs", "--limit", "-1").returncode == 2


def test_jobs_on_a_terminal_says_that_more_exist(busy: ServerProcess) -> None:
    reader, terminal = pty.openpty()
    try:
        shown = subprocess.run(
            [*CLI, "jobs", "--limit", "3"],  # four lines: far less than a terminal buffers
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env=_env(busy),
        )
    finally:
        os.close(terminal)
        os.close(reader)
    assert shown.returncode == 0
    assert shown.stderr == (
        "latchwork jobs: the newest 3 shown; --limit N for more, --limit 0 for all\n"
    )


# ------------------------------------------------------------------------------ small things


def test_version(tmp_path: Path) -> None:
    done = subprocess.run([*CLI, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout == f"latchwork {version('latchwork')}\n"


def test_an_unknown_status_names_the_ones_that_exist(server: ServerProcess) -> None:
    done = _latchwork(server, "jobs", "--status", "bogus")
    assert done.returncode == 2
    assert "invalid choice: 'bogus'" in done.stderr
    for status in ("pending", "running", "complete", "failed", "killed", "removed"):
        assert f"'{status}'" in done.stderr
    assert "Enum" not in done.stderr


# --------------------------------------------------------------------------------------- jobs


def _columns(header: str, line: str) -> dict[str, str]:
    """A table line by the header's column names (cells are two or more blanks apart; an
    empty last cell is dropped by the table, so it reads as "")."""
    names = re.split(r"\s{2,}", header.strip())
    cells = re.split(r"\s{2,}", line.strip())
    assert len(cells) <= len(names), line
    return dict(zip(names, cells + [""] * (len(names) - len(cells)), strict=True))


def test_jobs_table(server: ServerProcess, client: Client) -> None:
    failing = client.submit(
        [_frames("plates", "test QB_FRAME_NUMBER != 3", "1-4", priority=50)]
    ).jobs[0]
    wait_job(client, failing.id)
    long_label = "a_very_long_label_for_the_sequence_sq010_and_more"
    long_name = "beauty pass " * 8
    held = client.submit(
        [{"name": long_name, "label": long_label, "status": "blocked", "package": {"cmdline": "x"}}]
    ).jobs[0]
    listed = _latchwork(server, "jobs")
    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.splitlines()
    assert header.split() == [
        *("ID", "PGRP", "USER", "STATUS", "PRI", "DONE", "RUN", "FAIL", "ELAPSED", "LABEL", "NAME")
    ]
    rows = {int(line.split()[0]): _columns(header, line) for line in lines}
    plates = rows[failing.id]
    assert plates["USER"] == "tester" and plates["STATUS"] == "failed"
    assert plates["PRI"] == "50"
    assert plates["DONE"] == "3/4" and plates["FAIL"] == "1" and plates["RUN"] == "0"
    assert re.fullmatch(r"\d+\.\ds|\d+s", plates["ELAPSED"]), plates
    blocked = rows[held.id]
    assert blocked["ELAPSED"] == "-" and blocked["DONE"] == "0/1"
    assert blocked["LABEL"].endswith("…") and len(blocked["LABEL"]) == 24
    assert blocked["NAME"].endswith("…") and len(blocked["NAME"]) == 48
    assert plates["NAME"] == "plates"
    for line in lines:  # the last column starts at the same place, clipped cells or not
        assert line.index(_columns(header, line)["NAME"]) == header.index("NAME"), line
    wide = _latchwork(server, "jobs", "--wide").stdout
    assert long_label in wide and long_name.strip() in wide


# ---------------------------------------------------------------------------------------- job


def test_job_frames_show_exit_codes_only_when_finished(
    server: ServerProcess, client: Client
) -> None:
    done = client.submit([_frames("mixed", "exit $((QB_FRAME_NUMBER - 1))", "1-2")]).jobs[0]
    wait_job(client, done.id)
    held = client.submit([_frames("held", "true", "1-2", status="blocked")]).jobs[0]
    shown = _latchwork(server, "job", str(done.id))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert re.match(r"submitted \d\d:\d\d:\d\d  started \d\d:\d\d:\d\d  ended \d\d:", lines[2])
    header = next(line for line in lines if line.startswith("WORK"))
    assert header.split() == [
        *("WORK", "STATUS", "TRIES", "EXIT", "HOST", "START", "END", "DURATION", "MESSAGE")
    ]
    frames = [_columns(header, line) for line in lines[lines.index(header) + 1 :]]
    assert [(f["WORK"], f["STATUS"], f["EXIT"]) for f in frames] == [
        ("1", "complete", "0"),
        ("2", "failed", "1"),
    ]
    for frame in frames:
        assert re.fullmatch(r"\d\d:\d\d:\d\d", frame["START"]) and frame["END"] != "-"
        assert re.fullmatch(r"\d+\.\ds", frame["DURATION"]), frame
    pending = _latchwork(server, "job", str(held.id)).stdout.splitlines()
    header = next(line for line in pending if line.startswith("WORK"))
    for line in pending[pending.index(header) + 1 :]:
        cells = _columns(header, line)
        assert cells["STATUS"] in ("pending", "blocked")  # a held job holds its frames
        assert cells["EXIT"] == cells["START"] == cells["END"] == cells["DURATION"] == "-"


# --------------------------------------------------------------------------------------- logs


def test_logs_of_a_job_have_a_header_per_frame(server: ServerProcess, client: Client) -> None:
    job = client.submit([_frames("echo", "echo frame QB_FRAME_NUMBER", "1-2")]).jobs[0]
    wait_job(client, job.id)
    shown = _latchwork(server, "logs", str(job.id))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (
        f"==> {job.id}:1 (attempt 1, stdout) <==\nframe 1\n\n"
        f"==> {job.id}:2 (attempt 1, stdout) <==\nframe 2\n"
    )
    assert _latchwork(server, "logs", f"{job.id}:2").stdout == "frame 2\n"


def test_logs_of_a_missing_attempt_say_so_once(server: ServerProcess, client: Client) -> None:
    job = client.submit([_frames("echo", "echo hi", "1-2")]).jobs[0]
    wait_job(client, job.id)
    for target in (str(job.id), f"{job.id}:1"):
        refused = _latchwork(server, "logs", target, "--attempt", "99")
        assert refused.returncode == 1
        assert refused.stdout == ""
        assert len(refused.stderr.splitlines()) == 1, refused.stderr
        assert "attempt" in refused.stderr and "has 1 attempts" in refused.stderr


# -------------------------------------------------------------------------------------- watch


def test_watch_lines_name_host_and_job_in_aligned_columns(
    server: ServerProcess, client: Client
) -> None:
    job = client.submit([_frames("the render", "true", "1-2", label="R")]).jobs[0]
    wait_job(client, job.id)
    watched = _latchwork(server, "watch", "--job", str(job.id), "--until-done")
    assert watched.returncode == 0, watched.stderr
    header, *lines = watched.stdout.splitlines()
    assert header.split()[:5] == ["SEQ", "TIME", "EVENT", "JOB", "WORK"]
    assert "HOST" in header and "JOB NAME" in header
    name_at = header.index("JOB NAME")
    host_at = header.index("HOST")
    for line in lines:
        assert line[name_at:].startswith("the render"), line
    work = [line for line in lines if "running-work" in line]
    assert len(work) == 2
    assert all(line[host_at:].startswith("testhost") for line in work)
    assert lines[-1].split()[2:4] == ["complete-job", str(job.id)]


def test_watch_until_done_waits_for_a_whole_process_group(
    server: ServerProcess, client: Client
) -> None:
    first = client.submit([{"name": "lead", "status": "blocked", "package": {"cmdline": "true"}}])
    pgrp = first.pgrp
    with subprocess.Popen(
        [*CLI, "watch", "--pgrp", str(pgrp), "--until-done", "--type", "job"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(server),
    ) as watching:
        assert watching.stdout is not None
        assert "submit-job" in watching.stdout.readline() + watching.stdout.readline()
        # A job that joins the group while the wait goes on is waited for too.
        joined = client.submit(
            [{"name": "late", "status": "blocked", "package": {"cmdline": "exit 2"}}], pgrp=pgrp
        ).jobs[0]
        client.control("unblock", [first.jobs[0].id])
        wait_job(client, first.jobs[0].id)
        assert watching.poll() is None  # the late job is still held
        client.control("unblock", [joined.id])
        out, err = watching.communicate(timeout=60)
    assert watching.returncode == 4, err  # the late job failed
    assert f"failed-job         {joined.id:>6}" in out
    assert err == ""


def test_watch_until_done_takes_jobs_or_a_group(server: ServerProcess) -> None:
    neither = _latchwork(server, "watch", "--until-done")
    both = _latchwork(server, "watch", "--until-done", "--job", "1", "--pgrp", "1")
    for refused in (neither, both):
        assert refused.returncode == 2 and "--job or --pgrp" in refused.stderr
    empty = _latchwork(server, "watch", "--until-done", "--pgrp", "4242")
    assert empty.returncode == 1 and "no jobs" in empty.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _unblock(address: str, job_id: int) -> None:
    """Unblock once the restarted supervisor answers (its channel may still be backing off)."""
    with Client(address, user="tester") as client:
        for _ in range(600):
            try:
                client.control("unblock", [job_id])
                return
            except LatchworkError as error:
                if error.code != grpc.StatusCode.UNAVAILABLE:
                    raise
            time.sleep(0.1)
    raise AssertionError("the restarted supervisor never answered")


def test_watch_until_done_resumes_across_a_supervisor_restart(tmp_path: Path) -> None:
    port = _free_port()
    listen = ["--listen", f"127.0.0.1:{port}"]  # the later --listen wins over ServerProcess's
    first = ServerProcess(tmp_path / "data", extra=listen).start()
    with first.client() as client:
        job = client.submit([_frames("held", "true", "1-2", status="blocked")]).jobs[0]
    watching = subprocess.Popen(
        [*CLI, "watch", "--job", str(job.id), "--until-done"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(first),
    )
    second: ServerProcess | None = None
    try:
        assert watching.stdout is not None
        assert watching.stdout.readline().startswith("SEQ")
        assert "submit-job" in watching.stdout.readline()
        first.stop()
        second = ServerProcess(tmp_path / "data", extra=listen).start()
        _unblock(second.address, job.id)
        out, err = watching.communicate(timeout=120)
    finally:
        if watching.poll() is None:
            watching.kill()
            watching.wait()
        (second or first).stop()
    assert watching.returncode == 0, err
    assert err == ""
    seqs = [int(line.split()[0][1:]) for line in out.splitlines()]
    assert seqs == sorted(set(seqs))  # every event once, in order, after the reconnect
    assert re.search(rf"unblocked-job\s+{job.id}\b", out)
    assert re.search(rf"complete-job\s+{job.id}\b", out)


def test_watch_until_done_gives_up_on_a_supervisor_that_stays_away(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data").start()
    with server.client() as client:
        job = client.submit([{"name": "held", "status": "blocked", "package": {"cmdline": "x"}}])
    watching = subprocess.Popen(
        [*CLI, "watch", "--job", str(job.jobs[0].id), "--until-done", "--give-up-after", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(server),
    )
    assert watching.stdout is not None
    assert watching.stdout.readline().startswith("SEQ")
    server.stop()
    _, err = watching.communicate(timeout=120)
    assert watching.returncode == 3
    assert "cannot reach the supervisor" in err and "Traceback" not in err
