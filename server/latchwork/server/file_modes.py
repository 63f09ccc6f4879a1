"""Private files: what the supervisor creates, only its own user can read.

The data directory holds the database (every job's command line and ``env``, secrets
included), its WAL, the captured output of every frame and the instance lock; frames may run
as other users on the same machine. So the directories are made 0700 and the files 0600,
each with an explicit mode when it is created, and an existing one is tightened when this
process's user owns it (a directory or file owned by someone else is left as it is, with a
warning: it is theirs to change).

Explicit modes rather than the process umask: frames inherit the supervisor's umask, and a
render that writes its images 0600 would surprise every studio; a umask changed and restored
around each creation would race with the threads that create files. SQLite creates the
``-wal`` and ``-shm`` files later, but with the database file's own permission bits (its unix
VFS copies them), so a database created 0600 keeps its WAL and shared memory 0600 too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SHARED_BITS = 0o077
"""Any access by group or others."""

log = logging.getLogger("latchwork")


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) with the directory itself 0700, or tighten it to
    0700 when it exists and is ours."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists; tighten it to 0600 when it
    exists and is ours. The contents are never touched."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
        return path
    _tighten(path, PRIVATE_FILE_MODE)
    return path


def open_private_output(path: Path) -> int:
    """A descriptor writing ``path`` from its start, the file 0600: created so in one call
    when it is new (the common case: every run has its own files), else tightened and
    truncated (a run started again after a restart)."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        _tighten(path, PRIVATE_FILE_MODE)
        return os.open(path, os.O_WRONLY | os.O_TRUNC)


def tighten_if_present(path: Path) -> None:
    """Tighten an existing file (a WAL left by an older Latchwork, say) to 0600."""
    with contextlib.suppress(FileNotFoundError):
        _tighten(path, PRIVATE_FILE_MODE)


def open_private_append(path: Path) -> int:
    """A descriptor appending to ``path``, created 0600 if missing."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE)


def shared_access(path: Path) -> int:
    """The group and other permission bits of ``path`` (0 when only its owner may use it)."""
    return stat.S_IMODE(path.stat().st_mode) & SHARED_BITS


def _tighten(path: Path, mode: int) -> None:
    info = path.stat()
    if stat.S_IMODE(info.st_mode) & SHARED_BITS == 0:
        return
    if info.st_uid != os.geteuid():
        log.warning(
            "%s has mode %04o and belongs to uid %d, not to this process: it may be readable "
            "by other users; make it %04o",
            path,
            stat.S_IMODE(info.st_mode),
            info.st_uid,
            mode,
        )
        return
    try:
        os.chmod(path, mode)
    except OSError as error:  # a read-only mount, say: whatever uses it next says so
        log.warning("cannot make %s %04o: %s", path, mode, error.strerror or error)
