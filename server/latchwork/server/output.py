"""Captured output of work items: one file per work item, attempt and stream.

Files rather than rows: a process writes its output straight into them, so capturing costs the
supervisor nothing however chatty the process is. The directories are 0700 and the files
0600, created so by the supervisor (:mod:`latchwork.server.file_modes`): output may hold
secrets, and frames may run as other users on this machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .file_modes import open_private_append, private_dir

DEFAULT_READ_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class OutputChunk:
    data: bytes
    next_offset: int
    size: int


class OutputStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[int] = set()

    def path(self, job_id: int, work_index: int, attempt: int, stderr: bool) -> Path:
        return self.root / str(job_id) / f"{work_index}.{attempt}.{'err' if stderr else 'out'}"

    def prepare(self, job_id: int, work_index: int, attempt: int) -> tuple[Path, Path]:
        """The paths of a run's stdout and stderr, in its job's private directory (made
        once). The runner creates the files, 0600, as it opens them for the process
        (:func:`~latchwork.server.file_modes.open_private_output`): one call per file."""
        self._job_dir(job_id)
        return (
            self.path(job_id, work_index, attempt, False),
            self.path(job_id, work_index, attempt, True),
        )

    def append(self, job_id: int, work_index: int, attempt: int, stderr: bool, data: bytes) -> None:
        self._job_dir(job_id)
        with open(open_private_append(self.path(job_id, work_index, attempt, stderr)), "ab") as f:
            f.write(data)

    def _job_dir(self, job_id: int) -> None:
        if job_id not in self._made:
            if not self._made:
                private_dir(self.root)
            private_dir(self.root / str(job_id))
            self._made.add(job_id)

    def read(
        self, job_id: int, work_index: int, attempt: int, stderr: bool, offset: int, limit: int
    ) -> OutputChunk:
        path = self.path(job_id, work_index, attempt, stderr)
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            return OutputChunk(b"", offset, 0)
        limit = limit if limit > 0 else DEFAULT_READ_LIMIT
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(min(limit, DEFAULT_READ_LIMIT))
        return OutputChunk(data, offset + len(data), size)
