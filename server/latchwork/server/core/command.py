"""What a work item's process runs: its command line and environment.

Qube substitutes frame tokens into the command line itself (``QB_FRAME_NUMBER``); Latchwork
does the same and also exports them, so both styles of command work.

``padding`` formats the numbers the command sees (``7`` -> ``0007``), never the work items'
names: a frame-to-frame link matches frames by name, and ``1`` must stay ``1`` whatever the
padding of the job that links to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import Job, Prototype, WorkItem

_CHUNK = re.compile(r"^(-?\d+)-(-?\d+)$")
_NUMBER = re.compile(r"^-?\d+$")
# A bare token is replaced; ``$QB_FRAME_NUMBER`` and ``${QB_FRAME_NUMBER}`` are left for the
# shell, which finds the same value in the environment.
_TOKEN = re.compile(r"(?<![$\w{])(QB_FRAME_NUMBER|QB_FRAME_START|QB_FRAME_END|QB_FRAME_STEP)(?!\w)")


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    cmdline: str
    env: dict[str, str]
    cwd: str
    # The job's owner: with run_as = "owner" the frame runs as this account
    # (docs/operations.md#who-frames-run-as).
    user: str = ""


def frame_values(work_name: str, padding: int = 0) -> dict[str, str]:
    """Frame tokens for a work item named ``12`` (a frame) or ``1-10`` (a chunk).

    Numbers are zero-filled to ``padding`` digits (both ends of a chunk); other names are left
    as they are.
    """
    chunk = _CHUNK.match(work_name)
    if chunk:
        start, end = _pad(chunk.group(1), padding), _pad(chunk.group(2), padding)
    else:
        start = end = _pad(work_name, padding)
    return {
        "QB_FRAME_NUMBER": start,
        "QB_FRAME_START": start,
        "QB_FRAME_END": end,
        "QB_FRAME_STEP": "1",
    }


def _pad(number: str, padding: int) -> str:
    """``7`` -> ``0007`` and ``-7`` -> ``-007`` for padding 4 (a sign counts, as in printf)."""
    if padding <= 0 or not _NUMBER.match(number):
        return number
    return number.zfill(padding)


def process_for(job: Job, work: WorkItem, subjob_id: int, lease_id: str) -> ProcessSpec:
    cmdline = job.spec.cmdline
    env = dict(job.spec.env)
    if job.spec.prototype is Prototype.CMDRANGE:
        values = frame_values(work.name, job.spec.padding)
        cmdline = _TOKEN.sub(lambda match: values[match.group(1)], cmdline)
        env.update(values)
    env.update(
        {
            "LATCHWORK_JOB_ID": str(job.id),
            "LATCHWORK_PGRP": str(job.pgrp),
            "LATCHWORK_LABEL": job.label,
            "LATCHWORK_WORK_NAME": work.name,
            "LATCHWORK_SUBJOB_ID": str(subjob_id),
            "LATCHWORK_ATTEMPT": str(work.attempts),
            "LATCHWORK_LEASE_ID": lease_id,
            "QB_JOB_ID": str(job.id),
            "QB_SUBJOB_ID": str(subjob_id),
        }
    )
    return ProcessSpec(cmdline=cmdline, env=env, cwd=job.spec.cwd, user=job.user)
