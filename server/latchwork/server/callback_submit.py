"""Jobs a callback submits (``qb.submit``): checked as its owner's Submit, applied with the run.

A callback may not start a process; it may ask for a job, which then runs on a worker as any
job does (as its owner, ``run_as``). This is where such a request becomes jobs:

- **as the owner, with exactly their rights.** The jobs belong to the callback's owner. The
  ownership rules of the Submit RPC (``api.ownership``) apply whatever the mode: another
  user's process group or parent job is refused, and so is a ``user`` key naming someone else,
  unless the owner is an admin. The callback's own rights are no wider than its owner's.
- **the Submit's checks.** The dicts are read like the Python client reads them
  (``core.job_dicts``), then go through ``core.submission.validate_submission`` with the
  supervisor's limits; every error names its field: ``qb.submit jobs[0].package.cmdline``.
- **Python code checked off the supervisor.** The code of a submitted job's Python callbacks is
  compiled in the code checker's process, as a Submit's is (:meth:`CallbackSubmitter.check_async`,
  awaited by the callback runner before the run's end); the supervisor only reads the cached
  verdicts and never compiles hostile code itself.
- **all or nothing, with the run.** :meth:`CallbackSubmitter.check` runs before any action of
  the run is applied (a refusal leaves nothing applied); :meth:`CallbackSubmitter.apply` puts
  the jobs into the same ``Changes`` as the run's other actions, so one transaction stores
  them all, the run's record (which lists the new job ids in its output) included.
- **bounded cascades.** A job submitted by a run of cascade depth ``d`` carries depth
  ``d + 1`` (``Job.cascade_depth``, stored): its events fire callbacks at that depth at least,
  so a chain of callbacks submitting jobs whose callbacks submit jobs meets the firing
  budget's depth bound like any other cascade (``core.firing_budget``). The depth bounds a
  chain, not a tree: each new job brings new callbacks with budgets of their own, so a
  callback on ``submit-job-self`` that submits 100 copies of itself would make 100**d jobs
  before depth ``d`` stops it. A token bucket per owner bounds the breadth: at most
  :data:`SUBMIT_BURST` jobs at once, refilled over :data:`SUBMIT_WINDOW_SECONDS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from latchwork.sandbox.actions import CallbackAction, Verb
from latchwork.sandbox.python.pool import DEFAULT_LIMITS, cached_verdict
from latchwork.sandbox.submission import MAX_SUBMIT_JOBS, SubmissionError, decode_submission

from .callbacks import ActionRefused
from .core.changes import Changes
from .core.errors import FieldError
from .core.job_dicts import dict_pgrp, job_specs
from .core.limits import Limits
from .core.model import CallbackLanguage, Job, JobSpec
from .core.submission import validate_submission
from .core.token_buckets import TokenBuckets
from .core.tree_rights import tree_refusal
from .core.triggers.engine import Firing
from .core.visibility import ReadPolicy

PYTHON = CallbackLanguage.PYTHON
MAX_SOURCE_BYTES = DEFAULT_LIMITS.max_source_bytes
SHOWN_ERRORS = 5
"""A refused submission's message lists this many problems, then how many more."""
SUBMIT_BURST = 2_000
"""Jobs one user's callbacks may submit at once: a Submit's own limit (``jobs_per_submit``)."""
SUBMIT_WINDOW_SECONDS = 60.0
"""...refilled at ``SUBMIT_BURST`` per this many seconds (33 jobs a second)."""


class SubmitBudget(TokenBuckets[str]):
    """Per user, the jobs their callbacks submit: :data:`SUBMIT_BURST` per
    :data:`SUBMIT_WINDOW_SECONDS` (the firing budget's kind of bucket, keyed by user)."""

    def __init__(
        self,
        burst: int = SUBMIT_BURST,
        window_seconds: float = SUBMIT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(burst, window_seconds, clock)


class CodeChecker(Protocol):
    """The checker process of Python code (``codecheck.CodeChecker``)."""

    async def check(self, sources: Iterable[str]) -> list[str]: ...


class JobPlacer(Protocol):
    """What submitting needs from the Submit service (``submissions.Submissions``)."""

    def get_job(self, job_id: int) -> Job | None: ...

    def labels_in_pgrp(self, pgrp: int) -> set[str]: ...

    def place(
        self,
        changes: Changes,
        specs: Sequence[JobSpec],
        *,
        pgrp: int = 0,
        user: str = "",
        check_python_code: bool = True,
    ) -> tuple[list[Job], int, list[Firing]]: ...


@dataclass(frozen=True, slots=True)
class CheckedSubmit:
    """One ``qb.submit`` call, read and checked: its specs, its group, its place in the run."""

    specs: list[JobSpec]
    pgrp: int
    call: str  # "qb.submit" or "qb.submit #2": how errors and the run's record name it


def _refuse(errors: list[FieldError]) -> ActionRefused:
    shown = "; ".join(str(error) for error in errors[:SHOWN_ERRORS])
    more = len(errors) - SHOWN_ERRORS
    return ActionRefused(shown + (f"; and {more} more" if more > 0 else ""))


class CallbackSubmitter:
    def __init__(
        self,
        placer: JobPlacer,
        limits: Limits,
        admins: Collection[str],
        known_globals: Collection[str] | None = None,
        code_checker: CodeChecker | None = None,
        reads: ReadPolicy | None = None,
    ) -> None:
        self._placer = placer
        self._reads = reads if reads is not None else ReadPolicy()
        self._code_checker = code_checker
        self._limits = limits
        self._admins = admins
        self._known_globals = known_globals
        self.budget = SubmitBudget()

    async def check_async(self, actions: Sequence[CallbackAction], owner: Job) -> None:
        """:meth:`check`, the Python code of the jobs' callbacks compiled first in the checker
        process (its verdicts are cached for :meth:`check`, which only reads them)."""
        codes = _python_codes(actions)
        if codes and self._code_checker is not None and await self._code_checker.check(codes):
            raise ActionRefused(
                "qb.submit: the code of a callback could not be checked (the checker process "
                "failed); try again"
            )
        self.check(actions, owner)

    def check(self, actions: Sequence[CallbackAction], owner: Job) -> list[CheckedSubmit]:
        """Read and check every ``submit`` action of a run; ActionRefused for the first call
        that may not be applied (nothing is applied then). Changes nothing."""
        calls = [a for a in actions if a.verb is Verb.SUBMIT]
        checked: list[CheckedSubmit] = []
        labels: dict[int, set[str]] = {}
        total = 0
        for number, action in enumerate(calls, start=1):
            call = "qb.submit" if len(calls) == 1 else f"qb.submit #{number}"
            if action.job_id != owner.id:
                raise ActionRefused(f"{call}: jobs are submitted by the callback's own job")
            try:
                submission = decode_submission(action.text)
            except SubmissionError as error:
                raise ActionRefused(f"{call}: {error}") from None
            total += len(submission.jobs)
            if total > MAX_SUBMIT_JOBS:
                raise ActionRefused(
                    f"{call}: a callback run submits at most {MAX_SUBMIT_JOBS} jobs"
                )
            if total > self.budget.available(owner.user):
                raise ActionRefused(
                    f"{call}: the callbacks of {owner.user!r} submitted more jobs than their "
                    f"budget of {self.budget.burst} per {self.budget.window_seconds:.0f} s "
                    "(callbacks that submit jobs whose callbacks submit jobs?); try later"
                )
            prefix = f"{call} "
            pgrp, errors = dict_pgrp(submission.jobs, submission.pgrp, prefix)
            specs, problems = job_specs(submission.jobs, prefix)
            errors += problems
            if errors:
                raise _refuse(errors)
            self._check_rights(specs, pgrp, owner, prefix)
            errors = _code_problems(specs, prefix)
            errors += [
                FieldError(prefix + error.path, error.message)
                for error in validate_submission(
                    specs,
                    pgrp,
                    self._placer,
                    self._limits,
                    request_bytes=len(action.text.encode("utf-8", "surrogatepass")),
                    known_globals=self._known_globals,
                )
            ]
            if pgrp:  # labels taken by an earlier call of this run into the same group
                earlier = labels.setdefault(pgrp, set())
                for index, spec in enumerate(specs):
                    if spec.label and spec.label in earlier:
                        errors.append(
                            FieldError(
                                f"{prefix}jobs[{index}].label",
                                f"label {spec.label!r} is taken by an earlier qb.submit of "
                                "this run",
                            )
                        )
                earlier.update(spec.label for spec in specs if spec.label)
            if errors:
                raise _refuse(errors)
            checked.append(CheckedSubmit(specs, pgrp, call))
        return checked

    def _check_rights(self, specs: list[JobSpec], pgrp: int, owner: Job, prefix: str) -> None:
        """The Submit RPC's ownership rules (:mod:`.core.tree_rights`), for the callback's owner;
        what the owner may not read (``visibility``) is refused as missing."""
        if owner.user in self._admins:
            return
        for index, spec in enumerate(specs):
            if spec.user and spec.user != owner.user:
                raise ActionRefused(
                    f"{prefix}jobs[{index}].user: a callback submits as its owner "
                    f"{owner.user!r}; only an admin's callback submits for other users"
                )
        refusal = tree_refusal(
            owner.user,
            pgrp,
            [spec.pid for spec in specs],
            self._placer.get_job,
            not_admin=f"the callback's owner {owner.user!r} is not an admin",
            scope=self._reads.scope(owner.user),
        )
        if refusal is not None:
            raise ActionRefused(f"{prefix}{refusal}")

    def apply(
        self, changes: Changes, checked: Sequence[CheckedSubmit], owner: Job, depth: int
    ) -> tuple[list[str], list[Firing]]:
        """Add the checked jobs to ``changes`` (committed by the caller with the firings
        returned); a line per call for the run's record, naming the new jobs."""
        lines: list[str] = []
        firings: list[Firing] = []
        for submit in checked:
            jobs, group, found = self._placer.place(
                changes,
                submit.specs,
                pgrp=submit.pgrp,
                user=owner.user,
                check_python_code=False,  # checked by _code_problems, in the checker process
            )
            self.budget.spend(owner.user, len(jobs))
            for job in jobs:
                job.cascade_depth = depth + 1
            firings.extend(found)
            ids = ", ".join(str(job.id) for job in jobs)
            noun = "job" if len(jobs) == 1 else "jobs"
            lines.append(f"{submit.call}: submitted {noun} {ids} in process group {group}")
        return lines, firings


def _python_codes(actions: Sequence[CallbackAction]) -> list[str]:
    """The code of every Python callback the run's ``qb.submit`` calls ask for (best effort:
    a malformed call is refused by :meth:`CallbackSubmitter.check`)."""
    codes: list[str] = []
    for action in actions:
        if action.verb is not Verb.SUBMIT:
            continue
        try:
            submission = decode_submission(action.text)
        except SubmissionError:
            continue
        specs, _ = job_specs(submission.jobs, "")
        codes.extend(c.code for spec in specs for c in spec.callbacks if c.language == PYTHON)
    return codes


def _code_problems(specs: Sequence[JobSpec], prefix: str) -> list[FieldError]:
    """The verdicts of the checker process on the Python code of the jobs' callbacks; code it
    has not judged is refused (never compiled here). Sizes are left to the Submit's checks."""
    errors: list[FieldError] = []
    for index, spec in enumerate(specs):
        for number, callback in enumerate(spec.callbacks):
            if callback.language != PYTHON or len(callback.code.encode()) > MAX_SOURCE_BYTES:
                continue
            where = f"{prefix}jobs[{index}].callbacks[{number}].code"
            known, verdict = cached_verdict(callback.code)
            if not known:
                errors.append(FieldError(where, "the code could not be checked; try again"))
            elif verdict is not None:
                errors.append(FieldError(where, f"{verdict[0]} (line {verdict[1]})"))
    return errors
