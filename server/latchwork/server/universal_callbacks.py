"""Universal callbacks: the admin's callbacks, attached to every job submitted (Qube 6.6).

A site administrator puts a ``callbacks.conf`` of ``file = trigger`` lines in a directory
(``universal_callbacks_dir``) with the files it names next to it; the file's extension says its
language (``.py`` Python, ``.qcb`` qube commands, ``.mail`` a mail template). The set is read
and checked whole, exactly as a submitted callback is, when the supervisor starts (a bad line
stops it, naming ``callbacks.conf:LINE``) and when it is reloaded (SIGHUP, which only root or
the supervisor's user may send: a bad line keeps the previous set). Each job submitted afterwards
gets a copy of every entry, compiled in the same transaction as the job, owned by the job as if
its owner had attached it: its actions have the owner's rights and no more
(docs/callbacks.md#universal-callbacks).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from latchwork.sandbox.actions import Verb
from latchwork.sandbox.qube import QubeCodeError, parse_qube

from .callbacks import LanguagePolicy, compile_callback
from .core.limits import Limits
from .core.model import CallbackLanguage, CallbackSpec, Job, JobSpec
from .core.submission import check_callback_sizes, make_job, normalize
from .core.triggers.engine import Callback
from .core.triggers.parser import parse_trigger
from .core.triggers.resolve import ResolveContext
from .core.triggers.syntax import TriggerSyntaxError
from .throttled_log import ThrottledLog

if TYPE_CHECKING:
    from .triggering import Triggering

log = logging.getLogger(__name__)
_skipped_log = ThrottledLog(log)

CONF_NAME = "callbacks.conf"
LANGUAGE_BY_SUFFIX = {
    ".py": CallbackLanguage.PYTHON,
    ".qcb": CallbackLanguage.QUBE,
    ".mail": CallbackLanguage.MAIL,
}
MAX_UNIVERSAL_CALLBACKS = 8
"""Entries of one callbacks.conf. Each is compiled for every job submitted, on the loop, in the
Submit's commit: ~40 us per entry and job (2 entries made a 400-job Submit 20 -> 52 ms), so 8
add at most ~0.6 s to the largest Submit (2,000 jobs); Qube's examples use 3."""
_PROBE_ID = 1


class UniversalCallbacksError(ValueError):
    """A callbacks.conf that cannot be used; the message names ``callbacks.conf:LINE``."""


@dataclass(frozen=True, slots=True)
class UniversalCallback:
    """One line of callbacks.conf, read and checked."""

    file: str
    """The implementation's file name, as callbacks.conf gives it (shown in GetJob)."""
    line: int
    spec: CallbackSpec
    needs_mail: bool
    """Mails the job's ``mailaddress``: attached only to jobs that have one."""


def read_universal_callbacks(
    directory: Path, policy: LanguagePolicy, limits: Limits
) -> tuple[UniversalCallback, ...]:
    """Every entry of ``directory/callbacks.conf``, each checked as a submitted callback is;
    raises :class:`UniversalCallbacksError` naming the first bad line."""
    conf = directory / CONF_NAME
    try:
        _check_admin_only(directory, str(directory))
        _check_admin_only(conf, str(conf))
        text = conf.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UniversalCallbacksError(f"{conf}: cannot be read ({error})") from None
    entries: list[UniversalCallback] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(entries) == MAX_UNIVERSAL_CALLBACKS:
            raise UniversalCallbacksError(
                f"{conf}:{number}: more than {MAX_UNIVERSAL_CALLBACKS} universal callbacks"
            )
        entries.append(_entry(conf, number, line, policy, limits))
    return tuple(entries)


def _entry(
    conf: Path, number: int, line: str, policy: LanguagePolicy, limits: Limits
) -> UniversalCallback:
    where = f"{conf}:{number}"
    name, equals, trigger = (part.strip() for part in line.partition("="))
    if not equals or not name or not trigger:
        raise UniversalCallbacksError(f"{where}: expected 'file = trigger', got {line!r}")
    if "/" in name or name in (".", "..") or name == CONF_NAME:
        raise UniversalCallbacksError(f"{where}: {name!r}: give a file name in {conf.parent}")
    suffix = Path(name).suffix.lower()
    if suffix == ".pl":
        raise UniversalCallbacksError(
            f"{where}: {name}: Perl callbacks are not supported; write it in Python (.py), "
            "as qube commands (.qcb) or as a mail template (.mail)"
        )
    language = LANGUAGE_BY_SUFFIX.get(suffix)
    if language is None:
        raise UniversalCallbacksError(
            f"{where}: {name}: unknown kind of file {suffix or '(no extension)'!r}; use .py "
            "(Python), .qcb (qube commands) or .mail (a mail template)"
        )
    try:
        _check_admin_only(conf.parent / name, f"{where}: {name}")
        code = (conf.parent / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UniversalCallbacksError(f"{where}: {name}: cannot be read ({error})") from None
    spec = CallbackSpec(triggers=trigger, language=language.value, code=code)
    problems = check_callback_sizes(spec, "", limits)
    if not problems:
        _, problems = compile_callback(spec, _PROBE_ID, _probe_context(), "", policy)
    if problems:
        what = {".triggers": f"trigger {trigger!r}", ".code": name, ".language": name}
        first = problems[0]
        message = first.message
        if first.path == ".triggers" and _parses(trigger):
            message += "; a universal callback may watch only its own job (self)"
        raise UniversalCallbacksError(f"{where}: {what.get(first.path, name)}: {message}")
    return UniversalCallback(name, number, spec, _mails(spec))


def _check_admin_only(path: Path, where: str) -> None:
    """Only the admin may change what runs on every job: refuse a file or directory that
    group or others may write, or that belongs to someone but root or this process's user
    (what the file system lets a user change, the supervisor would run for every job)."""
    status = path.stat()
    if status.st_mode & 0o022:
        raise UniversalCallbacksError(
            f"{where}: group or others may write it (mode {status.st_mode & 0o777:o}); "
            "only the admin may change universal callbacks: chmod go-w"
        )
    if status.st_uid not in (0, os.geteuid()):
        raise UniversalCallbacksError(
            f"{where}: belongs to uid {status.st_uid}; universal callbacks must belong to root "
            "or to the user the supervisor runs as"
        )


def _probe_context() -> ResolveContext:
    """A job that sees no other job: a universal trigger may name only the job itself (any
    other job, label or global trigger fails to resolve against it)."""
    spec = normalize(JobSpec(name="probe", cmdline="true", mailaddress="probe@localhost"))
    probe = make_job(spec, _PROBE_ID, _PROBE_ID, "probe", "probe", 0.0)
    return ResolveContext(owner=probe, job_by_id=lambda _: None, job_by_label=lambda _: None)


def _parses(trigger: str) -> bool:
    try:
        parse_trigger(trigger)
    except TriggerSyntaxError:
        return False
    return True


def _mails(spec: CallbackSpec) -> bool:
    if spec.language == CallbackLanguage.MAIL:
        return True
    if spec.language != CallbackLanguage.QUBE:
        return False
    try:
        return any(command.verb is Verb.MAIL for command in parse_qube(spec.code))
    except QubeCodeError:
        return False


class UniversalCallbacks:
    """The universal set in force: read at the start, swapped whole by a reload."""

    def __init__(self, policy: LanguagePolicy, limits: Limits) -> None:
        self._policy = policy
        self._limits = limits
        self.directory: Path | None = None
        self.entries: tuple[UniversalCallback, ...] = ()

    def load(self, directory: Path) -> tuple[UniversalCallback, ...]:
        """Read ``directory`` and put its set in force; raises (the set in force unchanged)."""
        entries = read_universal_callbacks(directory, self._policy, self._limits)
        self.directory, self.entries = directory, entries
        return entries

    def reload(self) -> tuple[UniversalCallback, ...]:
        """Read the configured directory again; on error the previous set stays in force.
        Jobs submitted afterwards get the new set; those submitted before keep theirs. Runs on
        the loop: at most 8 small files, Python checked once per distinct source."""
        if self.directory is None:
            raise UniversalCallbacksError("no universal_callbacks_dir is configured")
        entries = self.load(self.directory)
        log.info("universal callbacks reloaded: %s", ", ".join(e.file for e in entries) or "none")
        return entries

    def attach(
        self, triggering: Triggering, job: Job, path: str, *, registered_seq: int
    ) -> list[Callback]:
        """Compile the set for a job being submitted (ids taken from ``triggering``).

        An entry that cannot apply to this job (a mail one on a job without ``mailaddress``)
        is left out; it never makes the user's submission fail.
        """
        attached: list[Callback] = []
        for entry in self.entries:
            if entry.needs_mail and not job.spec.mailaddress.strip():
                continue
            compiled, problems = triggering.compile(
                job,
                [entry.spec],
                path,
                registered_seq=registered_seq,
                check_python_code=False,  # checked when the set was read
            )
            if problems:
                _skipped_log.warning(
                    "universal callback %s not attached to job %d: %s",
                    entry.file,
                    job.id,
                    "; ".join(p.message for p in problems),
                )
                continue
            for callback in compiled:
                callback.universal = entry.file
            attached.extend(compiled)
        return attached


def watch_universal_callbacks(universal: UniversalCallbacks, directory: str) -> None:
    """At the start: put the set of ``directory`` in force ("" for none), and reload it on
    SIGHUP. Raises :class:`UniversalCallbacksError` (the supervisor does not start)."""
    if not directory:
        return
    entries = universal.load(Path(directory))
    log.info("universal callbacks: %s", ", ".join(e.file for e in entries) or "none")
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, _reload_logged, universal)


def _reload_logged(universal: UniversalCallbacks) -> None:
    try:
        universal.reload()
    except UniversalCallbacksError as error:
        log.error("universal callbacks not reloaded, the previous set stays: %s", error)
