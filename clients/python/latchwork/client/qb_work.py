"""``qb``'s work forms: agendas (``genframes``, ``genchunks``), ``workinfo``, and the actions
on single work items, under both of Qube's spellings (``workblock`` and ``blockwork``).

A work item is named by ``"jobid:work"`` (the part after ``:`` is the work's name, not its
index) or a ``(jobid, name)`` pair.
"""

from __future__ import annotations

from typing import Any

import grpc

from latchwork.common.frames import parse_frame_range

from .client import LatchworkError
from .qb_connection import get_client
from .qb_objects import Work, job_ids, work_dict, work_refs


def genframes(frame_range: str | int) -> list[Work]:
    """Work items for Qube's range syntax ("1-100x2", "1,3,5-9", "10-1"): ``[{"name": "1"}...]``.

    Raises ``ValueError`` (``FrameRangeError``) naming the offset of a part it cannot read.
    """
    return [Work(name=str(frame)) for frame in parse_frame_range(str(frame_range))]


def genchunks(chunksize: int, frame_range: str | int) -> list[Work]:
    """Work items of up to ``chunksize`` frames each, named ``"1-10"``, ``"11-20"``...

    A cmdrange job's command sees the chunk as ``QB_FRAME_START``/``QB_FRAME_END``. A chunk
    holds consecutive frames only (``"1-10x2"`` gives one chunk per frame, named ``"3"``), in
    the range's order (``"10-1"`` in chunks of 5: ``"10-6"``, ``"5-1"``).
    """
    try:
        size = int(chunksize)
    except (TypeError, ValueError):
        raise ValueError(f"genchunks: chunksize {chunksize!r} is not a whole number") from None
    if size < 1:
        raise ValueError(f"genchunks: chunksize must be at least 1, not {size}")
    chunks: list[list[int]] = []
    for frame in parse_frame_range(str(frame_range)):
        current = chunks[-1] if chunks else None
        if current is not None and len(current) < size and _continues(current, frame):
            current.append(frame)
        else:
            chunks.append([frame])
    return [Work(name=_chunk_name(chunk)) for chunk in chunks]


def _continues(chunk: list[int], frame: int) -> bool:
    step = frame - chunk[-1]
    if abs(step) != 1:
        return False
    return len(chunk) == 1 or chunk[-1] - chunk[-2] == step


def _chunk_name(chunk: list[int]) -> str:
    return str(chunk[0]) if len(chunk) == 1 else f"{chunk[0]}-{chunk[-1]}"


def workinfo(ids: Any) -> list[Work]:
    """Work items as dicts: every item of jobs (an id, ids, job dicts) or single items
    (``"jobid:work"``), each with its job's id under ``jobid``. Unknown jobs are left out;
    an unknown work name of a known job is a ``ValueError``."""
    client = get_client()
    wanted: list[tuple[int, str | None]]
    if _are_work_refs(ids):
        wanted = [(job_id, name) for job_id, name in work_refs(ids)]
    else:
        wanted = [(job_id, None) for job_id in job_ids(ids)]
    result: list[Work] = []
    for job_id, name in wanted:
        try:
            job = client.get_job(job_id)
        except LatchworkError as error:
            if error.code != grpc.StatusCode.NOT_FOUND:
                raise
            continue
        items = [w for w in job.work if name is None or w.name == name]
        if name is not None and not items:
            raise ValueError(f"workinfo: job {job_id} has no work named {name!r}")
        for item in items:
            entry = work_dict(item)
            entry["jobid"] = job.id
            result.append(entry)
    return result


def _are_work_refs(ids: Any) -> bool:
    if isinstance(ids, str):
        return ":" in ids
    if isinstance(ids, tuple) and len(ids) == 2 and isinstance(ids[1], str):
        return True
    if isinstance(ids, list) and ids:
        return all(_are_work_refs(item) for item in ids)
    return False


def _work_control(action: str, refs: Any, reason: str = "") -> list[str]:
    work = work_refs(refs)
    response = get_client().control(action, work=work, reason=reason)
    return [f"{r.job_id}:{r.work_name}" for r in response.results]


def workblock(refs: Any, reason: str = "") -> list[str]:
    """Hold work items ("jobid:work" or a list); the "jobid:work" acted on."""
    return _work_control("block", refs, reason)


def workunblock(refs: Any, reason: str = "") -> list[str]:
    """Release held work items; the "jobid:work" acted on."""
    return _work_control("unblock", refs, reason)


def workkill(refs: Any, reason: str = "") -> list[str]:
    """Kill work items; the "jobid:work" acted on."""
    return _work_control("kill", refs, reason)


def workretry(refs: Any, reason: str = "") -> list[str]:
    """Run work items again; the "jobid:work" acted on."""
    return _work_control("retry", refs, reason)


def workrequeue(refs: Any, reason: str = "") -> list[str]:
    """Take running work items back to pending without counting a failure; the "jobid:work"
    acted on (items that are not running are left as they are)."""
    return _work_control("requeue", refs, reason)


# Qube's client API spells the same functions verb first (qb.retrywork, qbretrywork).
blockwork = workblock
unblockwork = workunblock
killwork = workkill
requeuework = workrequeue
retrywork = workretry
