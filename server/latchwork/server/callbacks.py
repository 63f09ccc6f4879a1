"""Callbacks at the application level: compiling specs, running qube code, applying actions.

Compiling does every check that would otherwise surface as a callback that never fires or
always fails: the trigger parses and resolves, the language is enabled, the code is valid and
has something to act on. Errors carry the field path and the character offset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from latchwork.sandbox.actions import VERBS, CallbackAction, Scope, Verb, verbs_for
from latchwork.sandbox.python.pool import check_python
from latchwork.sandbox.qube import QubeCodeError, parse_qube, qube_actions

from .core.actions import NO_TRANSITION, TRANSITIONS, Carriers, JobTransition, WorkTransition
from .core.changes import Changes
from .core.model import CallbackLanguage, CallbackSpec, Job
from .core.states import WorkStatus
from .core.submission import FieldError
from .core.triggers.dependency import NO_WORK, DependencyCallback
from .core.triggers.engine import Callback
from .core.triggers.frame_links import check_frame_links
from .core.triggers.parser import parse_trigger
from .core.triggers.resolve import ResolveContext, resolve
from .core.triggers.syntax import TriggerSyntaxError

LANGUAGES = tuple(CallbackLanguage)


@dataclass(frozen=True, slots=True)
class LanguagePolicy:
    """Which callback languages this supervisor runs, and why the others are refused."""

    enabled: frozenset[str] = frozenset({CallbackLanguage.QUBE})
    refused_because: str = "it is not enabled on this supervisor"
    reasons: Mapping[str, str] = field(default_factory=dict)

    def check(self, language: str) -> str | None:
        if language not in LANGUAGES:
            return f"unknown language {language!r}; use one of {', '.join(LANGUAGES)}"
        if language not in self.enabled:
            reason = self.reasons.get(language, self.refused_because)
            return f"language {language!r} is refused: {reason}"
        return None


def compile_callback(
    spec: CallbackSpec,
    callback_id: int,
    context: ResolveContext,
    path: str,
    policy: LanguagePolicy,
    *,
    from_dependency: DependencyCallback | None = None,
    registered_seq: int = 0,
    check_python_code: bool = True,
) -> tuple[Callback | None, list[FieldError]]:
    """A ready Callback, or the errors that stop it (with field paths and offsets).

    ``check_python_code=False`` skips RestrictedPython's check of Python code (up to half a
    second per callback), for code that passed it when it was accepted: the sandbox worker
    compiles and checks the code again before every run anyway.
    """
    trigger_path = f"{path}.dependency" if from_dependency else f"{path}.triggers"
    try:
        expr = parse_trigger(spec.triggers)
        watches = resolve(expr, context)
        if from_dependency is not None:
            check_frame_links(watches, context.owner, context.job_by_id, from_dependency.skip_work)
    except TriggerSyntaxError as error:
        offset = from_dependency.origin_of(error.offset) if from_dependency else error.offset
        hint = f"; {error.hint}" if error.hint else ""
        return None, [FieldError(trigger_path, f"{error.message} (offset {offset}){hint}")]
    errors: list[FieldError] = []
    refusal = policy.check(spec.language)
    if refusal:
        errors.append(FieldError(f"{path}.language", refusal))
    if spec.max < 0:
        errors.append(FieldError(f"{path}.max", "must not be negative (0: unlimited)"))
    if spec.work and context.owner.work_named(spec.work) is None:
        errors.append(_no_such_work(spec.work, path, from_dependency))
    callback = Callback(
        id=callback_id,
        job_id=context.owner.id,
        spec=spec,
        expr=expr,
        watches=watches,
        from_dependency=from_dependency is not None,
        registered_seq=registered_seq,
        skip_work=from_dependency.skip_work if from_dependency else NO_WORK,
    )
    if spec.language == CallbackLanguage.QUBE and not refusal:
        errors.extend(_check_qube(callback, f"{path}.code", policy, context.owner))
    elif spec.language == CallbackLanguage.PYTHON and not refusal and check_python_code:
        problem = check_python(spec.code)
        if problem is not None:
            message, line = problem
            errors.append(FieldError(f"{path}.code", f"{message} (line {line})"))
    elif (
        spec.language == CallbackLanguage.MAIL
        and not refusal
        and not context.owner.spec.mailaddress.strip()
    ):
        errors.append(FieldError(f"{path}.language", "a mail callback needs the job's mailaddress"))
    return (None if errors else callback), errors


def _no_such_work(work: str, path: str, origin: DependencyCallback | None) -> FieldError:
    message = f"this job has no work item {work[:80]!r}"
    if origin is not None:
        return FieldError(f"{path}.dependency", f"{message} (offset {origin.work_origin})")
    return FieldError(f"{path}.work", message)


def _check_qube(
    callback: Callback, path: str, policy: LanguagePolicy, owner: Job | None = None
) -> list[FieldError]:
    try:
        commands = parse_qube(callback.spec.code)
    except QubeCodeError as error:
        return [FieldError(path, f"{error.message} (offset {error.offset})")]
    errors = []
    for command in commands:
        if command.verb is Verb.MAIL and policy.check(CallbackLanguage.MAIL) is not None:
            errors.append(FieldError(path, f"'{command.text}' needs mail: {policy.check('mail')}"))
        elif (
            command.scope is Scope.WORK
            and not _binds(callback, "work")
            and not callback.spec.work  # checked, with its own path, by compile_callback
            and (name := named_extra(callback, "work"))
            and owner is not None
            and owner.work_named(name) is None
        ):
            errors.append(
                FieldError(
                    path,
                    f"'{command.text}' (offset {command.offset}) acts on work {name!r} of this "
                    "job, which has no such work item",
                )
            )
        elif command.scope is Scope.WORK and not work_target(callback):
            errors.append(
                FieldError(
                    path,
                    f"'{command.text}' (offset {command.offset}) needs a work item: use '*' in a "
                    "work atom of the trigger, or name one (complete-work-A-12)",
                )
            )
        elif command.scope is Scope.SUBJOB and not subjob_target(callback):
            errors.append(
                FieldError(
                    path,
                    f"'{command.text}' (offset {command.offset}) needs a subjob: use '*' in a "
                    "subjob atom of the trigger, or name one (done-subjob-self-2)",
                )
            )
    return errors


def work_target(callback: Callback) -> bool:
    return bool(callback.spec.work) or any(
        w.type.value == "work" and w.extra for w in callback.watches
    )


def subjob_target(callback: Callback) -> bool:
    return any(w.type.value == "subjob" and w.extra for w in callback.watches)


def named_extra(callback: Callback, kind: str) -> str:
    """The work or subjob a trigger names explicitly (the first, when several are named)."""
    for watch in callback.watches:
        if watch.type.value == kind and watch.extra and watch.extra != "*":
            return watch.extra
    return ""


def qube_run_actions(callback: Callback, binding: str) -> list[CallbackAction]:
    """The actions a qube callback asks for when it fires with ``binding``.

    Work-scoped commands act on the work item the trigger's ``*`` bound, else on the
    callback's ``work``, else on the work item its trigger names.
    """
    commands = parse_qube(callback.spec.code)
    if _binds(callback, "work"):
        work_name = binding
    else:
        work_name = callback.spec.work or named_extra(callback, "work")
    subjob = binding if _binds(callback, "subjob") else named_extra(callback, "subjob")
    actions = qube_actions(commands, callback.job_id, work_name, int(subjob) if subjob else -1)
    if callback.skip_work and any(_unblocks_job(a) for a in actions):
        # A dependency's whole-job release: the frames with entries of their own stay held
        # until their callbacks release them (core.triggers.dependency).
        actions += [
            CallbackAction(Verb.BLOCK, Scope.WORK, callback.job_id, work_name=name)
            for name in sorted(callback.skip_work)
        ]
    return actions


def _unblocks_job(action: CallbackAction) -> bool:
    return action.verb is Verb.UNBLOCK and action.scope is Scope.JOB


def _binds(callback: Callback, kind: str) -> bool:
    return any(w.type.value == kind and w.wildcard for w in callback.watches)


def _dispatch() -> tuple[dict[Verb, JobTransition], dict[Verb, WorkTransition]]:
    """verb -> transition for job actions and for work (and subjob) actions, derived from the
    verb table (``VERBS``) and the transition table (``TRANSITIONS``); fails at import if a
    verb has no transition for a scope it applies to."""
    job: dict[Verb, JobTransition] = {}
    work: dict[Verb, WorkTransition] = {}
    for verb, spec in VERBS.items():
        if verb.value in NO_TRANSITION:
            continue
        carriers = TRANSITIONS.get(verb.value, Carriers())
        if Scope.JOB in spec.scopes:
            if carriers.job is None:
                raise LookupError(f"no transition carries out {verb.value!r} on a job")
            job[verb] = carriers.job
        if spec.scopes & {Scope.WORK, Scope.SUBJOB}:
            if carriers.work is None:
                raise LookupError(f"no transition carries out {verb.value!r} on a work item")
            work[verb] = carriers.work
    return job, work


_JOB_VERBS, _WORK_VERBS = _dispatch()
_WORK_SCOPE = verbs_for(Scope.WORK)
_SUBJOB_SCOPE = verbs_for(Scope.SUBJOB)


class ActionRefused(Exception):
    """An action the owner may not take, or that has no target; nothing is applied."""


def check_actions(
    actions: Sequence[CallbackAction], owner: Job, jobs: Callable[[int], Job | None]
) -> None:
    """Refuse the whole list if any action is not allowed: all or nothing."""
    for action in actions:
        job = jobs(action.job_id)
        if job is None:
            raise ActionRefused(f"{action.describe()}: job {action.job_id} does not exist")
        if job.removed:
            raise ActionRefused(f"{action.describe()}: job {action.job_id} was removed")
        if job.user != owner.user:
            raise ActionRefused(
                f"{action.describe()}: job {job.id} belongs to {job.user!r}, "
                f"the callback's owner is {owner.user!r}"
            )
        if action.scope is Scope.WORK and action.verb not in _WORK_SCOPE:
            raise ActionRefused(f"{action.verb.value} does not apply to a work item")
        if action.scope is Scope.SUBJOB and action.verb not in _SUBJOB_SCOPE:
            raise ActionRefused(f"{action.verb.value} does not apply to a subjob")


def apply_actions(
    changes: Changes,
    actions: Sequence[CallbackAction],
    jobs: Callable[[int], Job | None],
    reason: str,
) -> list[str]:
    """Apply checked actions; returns a line per action saying what it did."""
    report: list[str] = []
    for action in actions:
        job = jobs(action.job_id)
        assert job is not None  # checked by check_actions
        if action.verb in (Verb.MAIL, Verb.SUBMIT):
            # Mail is sent by the caller before anything is applied; jobs are submitted by
            # the caller after (callback_submit.py).
            continue
        if action.scope is Scope.JOB:
            changed = _JOB_VERBS[action.verb](changes, job, reason)
        elif action.scope is Scope.WORK:
            work = job.work_named(action.work_name)
            if work is None:
                report.append(f"{action.describe()}: no such work item, nothing done")
                continue
            changed = _WORK_VERBS[action.verb](changes, job, work, reason)
        else:
            running = [
                w
                for w in job.work
                if w.status is WorkStatus.RUNNING and w.subjob_id == action.subjob_id
            ]
            if not running:
                report.append(f"{action.describe()}: nothing runs there, nothing done")
                continue
            changed = _WORK_VERBS[action.verb](changes, job, running[0], reason)
        report.append(f"{action.describe()}: {'done' if changed else 'already so'}")
    return report


def needs_async(callback: Callback) -> bool:
    """Whether a callback's run waits on something (a sandbox process, an SMTP server)."""
    if callback.spec.language != CallbackLanguage.QUBE:
        return True
    return any(command.verb is Verb.MAIL for command in parse_qube(callback.spec.code))
