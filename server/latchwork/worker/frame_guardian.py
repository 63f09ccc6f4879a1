"""Frames die with their worker: a guardian process, and a record for the worker's next run.

A frame runs in its own session, so that kill, suspend and resume reach its whole process group;
that also means nothing in the kernel ties it to the worker. Kill -9 a worker and its frames run
on while the supervisor, a few heartbeats later, gives their work to another host: the same work
item then runs twice at once. ``PR_SET_PDEATHSIG`` on the frame's shell would reach that shell
only, never what it forks (renderers do). So a frame is known by what identifies it for certain,
whatever it forks: its process group, checked by its leader's start time (a reused pid is never
taken for it), and the ``LATCHWORK_LEASE_ID`` in the environment of everything it starts (which
reaches a grandchild that left the group with ``setsid``). Two lines of defence use that:

1. **The guardian**, one small process per worker (never one per frame), started before the
   worker registers, in its own session (a ``kill -9 -PGID`` of the worker's group leaves it) and
   deaf to SIGINT, SIGTERM and SIGHUP (a signal to the worker's whole cgroup or terminal must not
   take the safety net away while the worker shuts down; the guardian ends with the worker
   anyway). The worker writes to the guardian's stdin each frame's lease before it starts, its
   group once it runs, and its end. When stdin reaches EOF the worker is gone, however it died
   (the kernel closes its end of the pipe): the guardian kills every frame still listed and
   exits. ``PR_SET_PDEATHSIG`` (SIGUSR1) is a second way to learn it, should the write end of
   the pipe ever have leaked into another process.
2. **The record**: the same lines in a file next to the worker's identity lock. A worker that
   starts with that identity kills whatever the record names before it registers: the guardian
   may have died with the worker (an OOM killer, ``kill -9`` of both, a container stop).

cgroup v2 (``cgroup.kill``) would do the same in one write, where a delegated cgroup exists; it
is not needed here, and not used.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import subprocess
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_WORKER_GONE_SIGNAL = signal.SIGUSR1
_DEAF_TO = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GUARDIAN_EXIT_SECONDS = 5.0
_KILL_ROUNDS = 3
_READY = b"ready\n"
RECORD_COMPACT_LINES = 256


@dataclass(frozen=True, slots=True)
class RunningFrame:
    """One frame as the worker knows it: ``pgid`` 0 until its process exists."""

    lease_id: str
    pgid: int = 0
    start_ticks: int = 0

    def line(self) -> bytes:
        return f"{self.lease_id} {self.pgid} {self.start_ticks}\n".encode()


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks after boot, /proc/PID/stat field 22); None when
    there is no such process. A zombie still has it, so a group leader that has exited but
    not been reaped (its pid not yet reusable) is still recognised."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _marked_processes(lease_ids: Collection[str]) -> list[int]:
    """This user's processes whose environment carries one of ``lease_ids``."""
    wanted = {f"LATCHWORK_LEASE_ID={lease}".encode() for lease in lease_ids}
    found: list[int] = []
    own = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:  # gone, a zombie (empty), or another user's
            continue
        if wanted.intersection(environ):
            found.append(int(entry.name))
    return found


def kill_frames(frames: Iterable[RunningFrame]) -> list[int]:
    """SIGKILL everything of ``frames``: each group whose leader is still the process that was
    recorded (same start time), and every process carrying one of their lease ids, with its
    group. Returns the pids signalled; an unrelated process is never touched."""
    frames = list(frames)
    killed: list[int] = []
    for frame in frames:
        if frame.pgid > 0 and start_ticks(frame.pgid) == frame.start_ticks:
            with contextlib.suppress(OSError):
                os.killpg(frame.pgid, signal.SIGKILL)
                killed.append(frame.pgid)
    lease_ids = {frame.lease_id for frame in frames}
    # Again while new ones turn up: a process may fork while its group is being killed. One
    # already signalled may still show (SIGKILL is not instant): it is not signalled again.
    for _ in range(_KILL_ROUNDS):
        marked = [pid for pid in _marked_processes(lease_ids) if pid not in killed]
        for pid in marked:
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        if not marked:
            break
    return killed


def record_path_for(lock_path: Path) -> Path:
    """The record of running frames that lives next to a worker's identity lock."""
    return lock_path.with_name(lock_path.stem + ".frames")


def read_record(path: Path) -> list[RunningFrame]:
    """The frames a record names; none if it is missing or unreadable (then nothing is known
    to be ours, so nothing is killed). Its lines are the guardian's."""
    try:
        text = path.read_bytes()
    except OSError:
        return []
    frames: dict[str, RunningFrame] = {}
    for line in text.split(b"\n"):
        _apply(frames, line)
    return list(frames.values())


class _Record:
    """The record on disk: the guardian's lines appended as they happen (one write each, no
    rename: a frame's start must stay cheap), rewritten with only the running frames once it
    has grown."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        self._lines = 0

    def append(self, line: bytes, frames: dict[str, RunningFrame]) -> None:
        try:
            if self._fd < 0 or self._lines >= RECORD_COMPACT_LINES + len(frames):
                self._rewrite(frames)
            else:
                os.write(self._fd, line)
                self._lines += 1
        except OSError as error:  # the guardian still stands; the record is the second line
            log.warning("cannot write the record of running frames %s: %s", self.path, error)

    def _rewrite(self, frames: dict[str, RunningFrame]) -> None:
        temporary = self.path.with_name(self.path.name + ".new")
        temporary.write_bytes(b"".join(frame.line() for frame in frames.values()))
        os.replace(temporary, self.path)
        self.close()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._lines = len(frames)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def clear_leftovers(record: Path) -> list[int]:
    """Kill whatever a previous run of this worker left running, then forget it."""
    killed = kill_frames(read_record(record))
    record.unlink(missing_ok=True)
    return killed


class FrameGuard:
    """The worker's side: tells the guardian and the record about each frame."""

    def __init__(self, record: Path | None, *, guarded: bool = True) -> None:
        self._record = _Record(record) if record is not None else None
        self._guarded = guarded
        self._frames: dict[str, RunningFrame] = {}
        self._guardian: subprocess.Popen[bytes] | None = None
        if guarded:
            self._guardian = _start_guardian()

    @classmethod
    def unguarded(cls) -> FrameGuard:
        """No guardian and no record: for a worker driven by hand (tests)."""
        return cls(None, guarded=False)

    @property
    def guardian_pid(self) -> int:
        return self._guardian.pid if self._guardian is not None else 0

    def starting(self, lease_id: str) -> None:
        """Before the frame's process is started: from now on its lease id marks it."""
        self._set(RunningFrame(lease_id))

    def started(self, lease_id: str, pid: int) -> None:
        """The frame runs as process group ``pid``."""
        self._set(RunningFrame(lease_id, pid, start_ticks(pid) or 0))

    def ended(self, lease_id: str) -> None:
        """The frame's group is gone (reaped and killed): nothing of it to kill any more."""
        if self._frames.pop(lease_id, None) is not None:
            self._tell(f"{lease_id} end\n".encode())

    def _set(self, frame: RunningFrame) -> None:
        self._frames[frame.lease_id] = frame
        self._tell(frame.line())

    def _tell(self, line: bytes) -> None:
        if self._record is not None:
            self._record.append(line, self._frames)
        self._send(line)

    def _send(self, line: bytes) -> None:
        if not self._guarded:
            return
        try:
            _write_to(self._guardian, line)
        except (OSError, ValueError):  # EPIPE: it died (kill -9); ValueError: none stands
            log.warning("the frame guardian is gone; starting another")
            try:
                self._restart_guardian()
            except OSError as error:  # the record still stands; tried again with the next
                log.error("cannot start a frame guardian: %s", error)
                self._guardian = None

    def _restart_guardian(self) -> None:
        if self._guardian is not None:
            with contextlib.suppress(OSError):
                self._guardian.kill()
            self._close(self._guardian)
        self._guardian = _start_guardian()
        with contextlib.suppress(OSError, ValueError):
            _write_to(self._guardian, b"".join(frame.line() for frame in self._frames.values()))

    def close(self) -> None:
        """The worker stops: the guardian kills what is left and exits; then the record,
        which named only those frames, goes."""
        if self._record is not None:
            self._record.close()
        if self._guardian is None:
            return
        if self._close(self._guardian) and self._record is not None:
            self._record.path.unlink(missing_ok=True)
        self._guardian = None

    @staticmethod
    def _close(guardian: subprocess.Popen[bytes]) -> bool:
        if guardian.stdin is not None:
            with contextlib.suppress(OSError):
                guardian.stdin.close()
        try:
            guardian.wait(GUARDIAN_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("the frame guardian (pid %d) did not exit", guardian.pid)
            return False
        return True


def _write_to(guardian: subprocess.Popen[bytes] | None, lines: bytes) -> None:
    if guardian is None or guardian.stdin is None or guardian.stdin.closed:
        raise ValueError("no guardian")
    view = memoryview(lines)
    while view:  # unbuffered: it must know before the frame runs
        view = view[os.write(guardian.stdin.fileno(), view) :]


def _start_guardian() -> subprocess.Popen[bytes]:
    """Start the guardian and wait until it stands (deaf to the signals it must outlive)."""
    guardian = subprocess.Popen(
        [sys.executable, "-m", __name__, str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
    )
    assert guardian.stdout is not None
    with guardian.stdout:
        if guardian.stdout.readline() != _READY:
            log.warning("the frame guardian did not start (exit status %s)", guardian.poll())
    return guardian


def _apply(frames: dict[str, RunningFrame], line: bytes) -> bool:
    """One line from the worker (or its record): ``LEASE PGID START_TICKS`` (PGID 0: not
    started yet) or ``LEASE end``. False if it is neither (it changes nothing)."""
    match line.split():
        case []:
            return True
        case [lease, b"end"]:
            frames.pop(lease.decode(errors="replace"), None)
        case [lease, pgid, ticks] if pgid.isdigit() and ticks.isdigit():
            name = lease.decode(errors="replace")
            frames[name] = RunningFrame(name, int(pgid), int(ticks))
        case _:
            return False
    return True


def _apply_told(frames: dict[str, RunningFrame], line: bytes) -> None:
    if not _apply(frames, line):
        print(f"frame guardian: ignored {line!r}", file=sys.stderr)


def guard(worker_pid: int, stdin: int = 0, ready: int = 1) -> list[int]:
    """The guardian's life: follow the worker's frames until it is gone, then kill them.

    ``ready`` is told once the guardian stands. Gone means EOF on ``stdin``, or the
    parent-death signal with the parent changed (checked: a stray SIGUSR1 from someone else
    changes nothing). The signal only wakes the loop (``set_wakeup_fd``), so no line the
    worker wrote before it died is lost.
    """
    for signum in _DEAF_TO:
        signal.signal(signum, signal.SIG_IGN)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(_WORKER_GONE_SIGNAL, lambda _signum, _frame: None)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(_WORKER_GONE_SIGNAL), 0, 0, 0)
    os.set_blocking(stdin, False)
    with contextlib.suppress(OSError):
        os.write(ready, _READY)
        os.dup2(os.open(os.devnull, os.O_WRONLY), ready)  # the worker stopped reading
    frames: dict[str, RunningFrame] = {}
    buffer = b""
    eof = False
    while not eof:
        if os.getppid() != worker_pid:  # also if it died before the death signal was set
            eof = True  # what it wrote is read below, without waiting for an EOF that a
            # leaked write end of the pipe would hold back
        else:
            readable, _, _ = select.select([stdin, wake_read], [], [])
            if wake_read in readable:
                os.read(wake_read, 512)
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(stdin, 65536):
                buffer += chunk
            eof = True
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            _apply_told(frames, line)
    _apply_told(frames, buffer)
    return kill_frames(frames.values())


def main() -> None:
    killed = guard(int(sys.argv[1]))
    if killed:
        print(
            f"frame guardian: worker {sys.argv[1]} is gone; killed its frames "
            f"(pids {', '.join(map(str, killed))})",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
