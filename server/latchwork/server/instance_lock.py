"""One running instance per resource: an exclusive ``flock`` held for the life of the process.

Two supervisors on one data directory each recover the other's running work and then fight
over the event sequence; two workers with one identity each claim the other's leases. The
lock is taken before anything is read, and released by the kernel however the process ends
(kill -9 included), so a stale lock file never blocks a restart. The holder writes its pid
and what it serves into the file, so that the refusal can name it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from pathlib import Path

HOLDER_WAIT_SECONDS = 1.0


class InstanceLocked(Exception):
    """Another live process holds the lock."""

    def __init__(self, path: Path, pid: int, address: str) -> None:
        self.path = path
        self.pid = pid
        self.address = address
        super().__init__(f"{path} is held by pid {pid or '?'}")

    def holder(self) -> str:
        """``pid 1234 (serving on 127.0.0.1:50051)``, as far as the holder told."""
        who = f"pid {self.pid}" if self.pid else "another process"
        return f"{who} ({self.address})" if self.address else who


class InstanceLock:
    """An exclusive, non-blocking lock on ``path`` (created if missing)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path, address: str = "") -> InstanceLock:
        """Take the lock or raise ``InstanceLocked`` naming the holder. OSError if the file
        cannot be opened at all (a read-only directory, say)."""
        # os.open makes the descriptor non-inheritable: a frame the supervisor starts must
        # not keep the lock alive after the supervisor is gone.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                pid, holder_address = _read_holder(fd)
            finally:
                os.close(fd)
            raise InstanceLocked(path, pid, holder_address) from None
        except BaseException:
            os.close(fd)
            raise
        lock = cls(path, fd)
        lock.describe(address)
        return lock

    def describe(self, address: str) -> None:
        """Record this process's pid and ``address`` (what it serves) for the next comer."""
        if self._fd is None:
            return
        text = json.dumps({"pid": os.getpid(), "address": address}).encode()
        # Best effort: on a full disk the lock still holds; the refusal just names no pid.
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, text, 0)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the last descriptor drops the flock
        self._fd = None

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def _read_holder(fd: int) -> tuple[int, str]:
    """The holder's pid and address; it may be a moment between locking and writing them."""
    deadline = time.monotonic() + HOLDER_WAIT_SECONDS
    while True:
        try:
            data = json.loads(os.pread(fd, 4096, 0) or b"null")
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("pid"), int):
            return int(data["pid"]), str(data.get("address", ""))
        if time.monotonic() >= deadline:
            return 0, ""
        time.sleep(0.05)


def runtime_dir() -> Path:
    """A directory private to this user for lock files: $XDG_RUNTIME_DIR/latchwork, else
    /tmp/latchwork-<uid>. Refused if someone else owns it (a planted directory)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "latchwork" if base else Path("/tmp") / f"latchwork-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if path.is_symlink() or info.st_uid != os.getuid():
        raise PermissionError(f"{path} is not a directory owned by uid {os.getuid()}")
    return path


def worker_lock_path(host: str, supervisor: str) -> Path:
    """The lock file of the worker with this identity (host name and supervisor address)."""
    digest = hashlib.sha256(f"{host}\0{supervisor}".encode()).hexdigest()[:20]
    return runtime_dir() / f"worker-{digest}.lock"
