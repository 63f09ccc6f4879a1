"""What a callback's ``qb.submit`` carries: job dicts as bounded JSON text, never objects.

A callback may not start a process (the sandbox and the kernel cage forbid it), but it may ask
for a job: the sanctioned way to run a studio script on an event. ``qb.submit`` records a
``submit`` action whose ``text`` is the JSON of :func:`encode_submission`; the supervisor turns
the dicts into job specs and checks them exactly as it checks a Submit RPC from the callback's
owner, then applies them with the run's other actions, all or none.

The job dicts are plain JSON here (dicts with string keys, lists, strings, numbers, booleans,
None), bounded in count, size and nesting on both sides of the wire: inside the sandbox, so the
code learns at once what is wrong, and again by the supervisor, which trusts nothing a worker
sends (``python/protocol.py``). What each key means is the supervisor's business
(``latchwork.server.core.job_dicts``), so the errors read like a Submit's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_SUBMIT_JOBS = 100
"""Jobs one callback run may submit, all its ``qb.submit`` calls together."""
MAX_SUBMIT_BYTES = 128 * 1024
"""One ``qb.submit``'s JSON, at most: a run's texts together stay under ``MAX_TEXT_TOTAL``."""
MAX_NESTING = 6
"""A job dict nests a package, callbacks and their criteria, an agenda of dicts: no deeper."""


class SubmissionError(ValueError):
    """A ``qb.submit`` that cannot be sent: not JSON data, too large, too many jobs."""


@dataclass(frozen=True, slots=True)
class Submission:
    """The jobs of one ``qb.submit`` and the process group they join (0: a new one)."""

    jobs: tuple[dict[str, Any], ...]
    pgrp: int


def _text(value: str, where: str) -> str:
    """``value``, if it is text a process and the store can take (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SubmissionError(f"{where}: not valid Unicode text") from None
    return value


def _plain(value: object, where: str, depth: int) -> Any:
    """A JSON copy of ``value``; SubmissionError naming ``where`` for anything else."""
    if depth > MAX_NESTING:
        raise SubmissionError(f"{where}: nested deeper than {MAX_NESTING} levels")
    if type(value) is str:
        return _text(value, where)
    if value is None or type(value) in (bool, int):
        return value
    if type(value) is float:
        if not math.isfinite(value):
            raise SubmissionError(f"{where}: {value} is not a finite number")
        return value
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return [_plain(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    plain = getattr(value, "_sandbox_plain_", None)
    if type(value) is not dict and callable(plain):  # a read-only record of the sandbox
        value = plain()
    if type(value) is dict:
        result: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                raise SubmissionError(f"{where}: keys are strings, not {type(key).__name__}")
            result[_text(key, where)] = _plain(item, f"{where}.{key[:40]}", depth + 1)
        return result
    raise SubmissionError(f"{where}: {type(value).__name__} is not JSON data")


def _jobs(jobs: object) -> list[object]:
    if isinstance(jobs, (list, tuple)) and type(jobs) in (list, tuple):
        return list(jobs)
    return [jobs]


def encode_submission(jobs: object, pgrp: int = 0) -> tuple[str, int]:
    """The action text of ``qb.submit(jobs, pgrp)`` and how many jobs it holds.

    ``jobs``: a job dict or a list of them. Raises :class:`SubmissionError` or TypeError.
    """
    if type(pgrp) is not int or pgrp < 0:
        raise TypeError("qb.submit(): pgrp is a process group id (0, the default: a new group)")
    items = _jobs(jobs)
    if not items:
        raise SubmissionError("qb.submit(): give at least one job")
    if len(items) > MAX_SUBMIT_JOBS:
        raise SubmissionError(f"qb.submit(): at most {MAX_SUBMIT_JOBS} jobs per callback run")
    plain = []
    for index, item in enumerate(items):
        job = _plain(item, f"qb.submit jobs[{index}]", 1)
        if type(job) is not dict:
            raise SubmissionError(f"qb.submit jobs[{index}]: a job is a dict")
        plain.append(job)
    text = json.dumps({"jobs": plain, "pgrp": pgrp}, separators=(",", ":"), allow_nan=False)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SUBMIT_BYTES:
        raise SubmissionError(
            f"qb.submit(): the jobs take over {MAX_SUBMIT_BYTES} bytes as JSON; "
            "a callback submits small jobs (the script they run does the work)"
        )
    return text, len(plain)


def decode_submission(text: str) -> Submission:
    """The submission an action text holds; SubmissionError for anything off (untrusted)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SUBMIT_BYTES:
        raise SubmissionError(f"a submission has at most {MAX_SUBMIT_BYTES} bytes")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise SubmissionError("a submission is JSON") from None
    if type(data) is not dict or set(data) != {"jobs", "pgrp"}:
        raise SubmissionError("a submission has exactly the keys jobs and pgrp")
    jobs, pgrp = data["jobs"], data["pgrp"]
    if type(pgrp) is not int or pgrp < 0:
        raise SubmissionError("a submission's pgrp is 0 or a process group id")
    if type(jobs) is not list or not 0 < len(jobs) <= MAX_SUBMIT_JOBS:
        raise SubmissionError(f"a submission has 1 to {MAX_SUBMIT_JOBS} jobs")
    checked = tuple(_plain(job, f"jobs[{i}]", 1) for i, job in enumerate(jobs))
    if not all(type(job) is dict for job in checked):
        raise SubmissionError("each job of a submission is a dict")
    return Submission(checked, pgrp)
