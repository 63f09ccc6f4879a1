"""Running one work item as a real process: ``/bin/sh -c cmdline`` in its own session.

Each process leads its own process group so that kill, suspend and resume reach everything it
started. Output goes straight to files; the exit is noticed through a pidfd on the event loop,
so a running process costs no thread and no polling. Who the process runs as and the
environment it gets (built from nothing) are :mod:`.frame_user`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from .core.command import ProcessSpec
from .core.transitions import WorkOutcome
from .file_modes import open_private_output
from .frame_user import FramePolicy, FrameUser, FrameUserError, frame_environment, frame_user

_AS_WORKER = FramePolicy()


class StartFailed(Exception):
    """The process could not be started. The message is the reason, in words, for the work
    item's record: whatever went wrong (a bad cwd, a NUL byte, an unwritable output file)
    the item is reported START_FAILED, never left running with nothing behind it."""


def start_failure_reason(error: BaseException) -> str:
    if isinstance(error, StartFailed):
        return str(error)
    if isinstance(error, ValueError) and "null byte" in str(error):
        return "the command line, the environment or the working directory contains a NUL byte"
    if isinstance(error, UnicodeError):
        return "the command line, the environment or the working directory cannot be encoded"
    if isinstance(error, OSError):
        return str(error)
    return str(error) or "an unexpected error prevented the start"


@dataclass(frozen=True, slots=True)
class RunResult:
    outcome: WorkOutcome
    exit_code: int
    message: str


class ManagedProcess:
    def __init__(self, popen: subprocess.Popen[bytes], kill_grace: float) -> None:
        self._popen = popen
        self._kill_grace = kill_grace
        self._killed = False
        self._timed_out = 0.0

    @property
    def pid(self) -> int:
        return self._popen.pid

    @classmethod
    def start(
        cls,
        spec: ProcessSpec,
        stdout: Path,
        stderr: Path,
        *,
        kill_grace: float = 0.5,
        policy: FramePolicy = _AS_WORKER,
    ) -> ManagedProcess:
        """Start the process as the user ``policy`` says, in a clean environment; any failure
        on the way (an owner this host cannot run as, too) is raised as ``StartFailed``."""
        try:
            user = frame_user(spec.user, policy)
            return cls(_spawn(spec, stdout, stderr, user, policy), kill_grace)
        except FrameUserError as error:
            raise StartFailed(str(error)) from error
        except Exception as error:
            raise StartFailed(start_failure_reason(error)) from error

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signum)

    def kill(self) -> None:
        """Terminate the whole process group: SIGTERM, then SIGKILL after the grace period."""
        self._killed = True
        self._signal_group(signal.SIGCONT)
        self._signal_group(signal.SIGTERM)
        asyncio.get_running_loop().call_later(self._kill_grace, self._signal_group, signal.SIGKILL)

    def suspend(self) -> None:
        self._signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal_group(signal.SIGCONT)

    def _time_out(self, seconds: float) -> None:
        if self._popen.returncode is None and not self._killed:
            self._timed_out = seconds
            self.kill()
            self._killed = False

    async def wait(self, timeout: float = 0.0) -> RunResult:
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[None] = loop.create_future()
        pidfd = os.pidfd_open(self._popen.pid)
        timer = loop.call_later(timeout, self._time_out, timeout) if timeout > 0 else None

        def on_exit() -> None:
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(pidfd, on_exit)
        try:
            await exited
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            if timer is not None:
                timer.cancel()
        # Whatever the leader left behind in its group goes with it; before the leader is
        # reaped, while its unreaped pid still holds the group's id, so that a reused pid
        # can never make this signal reach an unrelated group.
        self._signal_group(signal.SIGKILL)
        code = self._popen.wait()
        if self._timed_out:
            return RunResult(WorkOutcome.TIMED_OUT, code, f"timed out after {self._timed_out:g} s")
        if self._killed:
            return RunResult(WorkOutcome.KILLED, code, "killed")
        if code < 0:
            return RunResult(WorkOutcome.EXITED, code, f"killed by signal {-code}")
        return RunResult(WorkOutcome.EXITED, code, f"exit code {code}")


def _spawn(
    spec: ProcessSpec, stdout: Path, stderr: Path, user: FrameUser, policy: FramePolicy
) -> subprocess.Popen[bytes]:
    # Bytes throughout: converting os.environ to str and back for every process was the
    # largest cost of a spawn after fork/exec itself. Nothing of this process's own
    # environment is copied (frame_user.frame_environment).
    env = frame_environment(user, spec.env, policy.passthrough)
    with contextlib.ExitStack() as opened:
        out = open_private_output(stdout)
        opened.callback(os.close, out)
        err = open_private_output(stderr)
        opened.callback(os.close, err)
        if user.switch:
            # Written by the frame, read by its owner.
            os.fchown(out, user.uid, user.gid)
            os.fchown(err, user.uid, user.gid)
        return subprocess.Popen(
            ["/bin/sh", "-c", spec.cmdline],
            stdin=_devnull(),
            stdout=out,
            stderr=err,
            env=env,
            # Without a cwd of its own, a frame run as its owner starts in the owner's home
            # (the worker's directory may be closed to it).
            cwd=spec.cwd or (user.home if user.switch else None),
            start_new_session=True,
            close_fds=True,
            user=user.uid if user.switch else None,
            group=user.gid if user.switch else None,
            extra_groups=list(user.groups) if user.switch else None,
        )


@functools.cache
def _devnull() -> int:
    """``/dev/null`` for every frame's stdin, opened once (``subprocess.DEVNULL`` opens and
    closes it at every spawn). Not inheritable: only the frame's stdin gets a copy."""
    return os.open(os.devnull, os.O_RDONLY)


def kill_orphans(lease_ids: Collection[str]) -> list[int]:
    """Kill the process groups of runs a previous supervisor left behind.

    A process is recognised by the ``LATCHWORK_LEASE_ID`` in its environment, so a pid reused
    by an unrelated program is never touched.
    """
    if not lease_ids:
        return []
    wanted = {f"LATCHWORK_LEASE_ID={lease}".encode() for lease in lease_ids}
    killed: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:
            continue
        if wanted.intersection(environ):
            pid = int(entry.name)
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
                killed.append(pid)
    return killed
