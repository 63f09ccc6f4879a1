"""What callback code sees: ``qb`` (Qube's callback API), ``event``, ``job`` and ``tree``.

``qb`` records actions; it changes nothing. ``event``, ``job`` and the jobs of ``tree`` are
read-only records over the snapshots the supervisor sent: fields read as attributes
(``job.status``) or items (``job['status']``), nested dicts are records too, lists are tuples.
``qb.jobinfo()`` returns plain dicts, fresh copies the code may change as it likes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from latchwork.sandbox.actions import VERBS, CallbackAction, Scope, Verb
from latchwork.sandbox.submission import MAX_SUBMIT_JOBS, encode_submission

from .policy import NOT_FOUND, Facade
from .protocol import (
    MAX_ACTIONS,
    MAX_JOB_ID,
    MAX_MAIL_TEXT,
    MAX_SUBJOB_ID,
    MAX_TEXT_TOTAL,
    check_action,
    valid_work_name,
)


def _copy(value: object) -> Any:
    """A deep copy of JSON data."""
    if type(value) is dict:
        return {key: _copy(item) for key, item in value.items()}
    if type(value) is list:
        return [_copy(item) for item in value]
    return value


def _wrap(value: object, label: str) -> Any:
    if type(value) is dict:
        return Record(value, label)
    if type(value) is list:
        return tuple(_wrap(item, f"{label}[{index}]") for index, item in enumerate(value))
    return value


class Record(Facade):
    """A read-only view of a JSON object: ``event``, ``job``, ``job.data``, ``tree[0]``, ..."""

    __slots__ = ("_cache", "_fields", "_label")
    _cache: dict[str, Any]
    _fields: Mapping[str, object]
    _label: str
    _sandbox_subscriptable_ = True
    _METHODS = frozenset({"get", "keys", "values", "items"})

    def __init__(self, fields: Mapping[str, object], label: str) -> None:
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "_cache", {})
        object.__setattr__(self, "_label", label)

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not methods: the record's fields.
        if not name.startswith("_") and name in self._fields:
            return self[name]
        raise AttributeError(f"{self._label} has no field {name!r}")

    def __getitem__(self, key: str) -> Any:
        cache = self._cache
        if key in cache:
            return cache[key]
        value = _wrap(self._fields[key], f"{self._label}.{key}")
        cache[key] = value
        return value

    def get(self, key: str, default: object = None) -> Any:
        try:
            return self[key]
        except (KeyError, TypeError):
            return default

    def keys(self) -> list[str]:
        return list(self._fields)

    def values(self) -> list[Any]:
        return [self[key] for key in self._fields]

    def items(self) -> list[tuple[str, Any]]:
        return [(key, self[key]) for key in self._fields]

    def __contains__(self, key: object) -> bool:
        try:
            return key in self._fields
        except TypeError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._fields))

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return bool(self._fields == other._fields)
        if type(other) is dict:
            return bool(self._fields == other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._fields)

    def _sandbox_lookup_(self, name: str) -> Any:
        if name in self._METHODS:
            return getattr(self, name)
        if name in self._fields:
            return self[name]
        return NOT_FOUND

    def _sandbox_label_(self) -> str:
        return self._label

    def _sandbox_plain_(self) -> object:
        return _copy(self._fields)


# The qb functions, derived from the one table of verbs (latchwork.sandbox.actions.VERBS).
# Job functions: name -> (verb, whether "jobid.subid" strings may name a subjob). qb.mail and
# qb.submit have methods of their own: they take a text and job dicts, not jobs.
_OWN_METHODS = frozenset({Verb.MAIL, Verb.SUBMIT})
_JOB_COMMANDS: dict[str, tuple[Verb, bool]] = {
    name: (verb, Scope.SUBJOB in spec.scopes)
    for verb, spec in VERBS.items()
    if spec.job is not None and verb not in _OWN_METHODS
    for name in spec.job.qb
}
_WORK_COMMANDS: dict[str, Verb] = {
    name: verb for verb, spec in VERBS.items() if spec.work is not None for name in spec.work.qb
}
QB_FUNCTIONS = frozenset(
    name
    for spec in VERBS.values()
    for spelling in spec.spellings().values()
    for name in spelling.qb
)
"""The qb functions that record actions."""
QB_METHODS = frozenset({"jobid", "jobinfo", *QB_FUNCTIONS})
"""Every name callback code may look up on ``qb``."""

_NUMBER_FILTERS = ("id", "pgrp", "pid")
_TEXT_FILTERS = ("status", "user", "name", "label")
_JOBINFO_FLAGS = ("agenda", "subjobs", "callbacks", "data", "fields")

_JOB_REF = re.compile(r"(\d{1,19})(?:\.(\d{1,10}))?")
_WORK_REF = re.compile(r"(\d{1,19}):(.+)", re.DOTALL)


def _job_id(value: int) -> int:
    if not 0 < value <= MAX_JOB_ID:
        raise ValueError(f"job id {value} is out of range")
    return value


def _job_ref(item: object) -> tuple[int, int | None]:
    """``12`` / ``"12"`` / a job dict or record -> (12, None); ``"12.3"`` -> (12, 3)."""
    if type(item) is int:
        return _job_id(item), None
    if type(item) is str:
        match = _JOB_REF.fullmatch(item.strip())
        if match:
            subjob = int(match.group(2)) if match.group(2) is not None else None
            if subjob is not None and subjob > MAX_SUBJOB_ID:
                raise ValueError(f"subjob id {subjob} is out of range")
            return _job_id(int(match.group(1))), subjob
    if type(item) is dict or isinstance(item, Record):
        job_id = item.get("id")
        if type(job_id) is int:
            return _job_id(job_id), None
    raise TypeError(
        "a job is named by its id: an int, a '12' or '12.3' (job.subjob) string, or a job "
        f"from qb.jobinfo(); got {type(item).__name__}"
    )


def _work_ref(item: object) -> tuple[int, str]:
    """``"12:frame5"`` or ``(12, "frame5")`` -> (12, "frame5")."""
    job_id: object = None
    name: object = None
    if type(item) is str:
        match = _WORK_REF.fullmatch(item.strip())
        if match:
            job_id, name = int(match.group(1)), match.group(2)
    elif type(item) is tuple and len(item) == 2:
        job_id, name = item
    if type(job_id) is int and type(name) is str:
        if not valid_work_name(name):
            raise ValueError(f"invalid work name {name[:40]!r}: no whitespace, at most 256 chars")
        return _job_id(job_id), name
    raise TypeError(
        "a work item is named 'jobid:workname' (a string) or (jobid, 'workname'); "
        f"got {type(item).__name__}"
    )


def _several(value: object, pairs: bool) -> list[object]:
    if type(value) is list or (type(value) is tuple and not pairs):
        return list(value)
    return [value]


class Qb(Facade):
    """Qube's callback API. Each command records actions; the supervisor applies them later,
    all or none, after checking the owner's rights."""

    __slots__ = ("_actions", "_owner_id", "_snapshots", "_submitted", "_text_total")
    _actions: list[CallbackAction]
    _owner_id: int
    _snapshots: dict[int, Mapping[str, object]]
    _submitted: int
    _text_total: int

    def __init__(
        self, owner_id: int, owner: Mapping[str, object], jobs: Mapping[str, Mapping[str, object]]
    ) -> None:
        snapshots: dict[int, Mapping[str, object]] = {}
        for key, snapshot in jobs.items():
            if key.isdigit():
                snapshots[int(key)] = snapshot
        snapshots[owner_id] = owner
        object.__setattr__(self, "_owner_id", owner_id)
        object.__setattr__(self, "_snapshots", snapshots)
        object.__setattr__(self, "_actions", [])
        object.__setattr__(self, "_text_total", 0)
        object.__setattr__(self, "_submitted", 0)

    def _sandbox_lookup_(self, name: str) -> Any:
        return getattr(self, name) if name in QB_METHODS else NOT_FOUND

    def _sandbox_label_(self) -> str:
        return "qb"

    def __repr__(self) -> str:
        return "<qb>"

    # --- reading -----------------------------------------------------------------------------

    def jobid(self) -> int:
        """The id of the job that owns this callback."""
        return self._owner_id

    def jobinfo(self, *args: object, **kwargs: object) -> list[dict[str, Any]]:
        """Jobs as dicts, Qube style: ``jobinfo("-id", 12)``, ``jobinfo(pgrp=5)``, ...

        Filters: id, pgrp, pid (ints), status, user, name, label (strings); each takes one
        value or a list. Flags such as ``-agenda`` are accepted (work is always included, as
        both ``work`` and ``agenda``). Only the jobs the supervisor sent are known: the
        owner, its process group, and the jobs its trigger watches.
        """
        filters: dict[str, object] = {}
        position = 0
        while position < len(args):
            token = args[position]
            key = token[1:] if type(token) is str and token.startswith("-") else ""
            if key in _NUMBER_FILTERS or key in _TEXT_FILTERS:
                if position + 1 >= len(args):
                    raise ValueError(f"jobinfo(): {token!r} needs a value")
                filters[key] = args[position + 1]
                position += 2
            elif key in _JOBINFO_FLAGS:
                position += 1
            else:
                raise ValueError(
                    f"jobinfo(): unknown argument {str(token)[:40]!r}; use -id, -pgrp, -pid, "
                    "-status, -user, -name, -label (each with a value) or flags like -agenda"
                )
        for key, value in kwargs.items():
            if key in _NUMBER_FILTERS or key in _TEXT_FILTERS:
                filters[key] = value
            elif key not in _JOBINFO_FLAGS:
                raise ValueError(f"jobinfo(): unknown keyword {key!r}")
        wanted: dict[str, set[object]] = {}
        for key, value in filters.items():
            values = _several(value, pairs=False)
            if key in _NUMBER_FILTERS:
                wanted[key] = {_job_ref(v)[0] for v in values}
            else:
                if not all(type(v) is str for v in values):
                    raise TypeError(f"jobinfo(): {key} takes strings")
                wanted[key] = set(values)
        result = []
        for job_id in sorted(self._snapshots):
            snapshot = self._snapshots[job_id]
            if all(snapshot.get(key) in accepted for key, accepted in wanted.items()):
                job = _copy(snapshot)
                if "work" in job and "agenda" not in job:
                    job["agenda"] = _copy(job["work"])
                result.append(job)
        return result

    # --- commands ----------------------------------------------------------------------------

    def _add(self, action: CallbackAction) -> None:
        if len(self._actions) >= MAX_ACTIONS:
            raise RuntimeError(f"a callback may ask for at most {MAX_ACTIONS} actions")
        problem = check_action(action)
        if problem:
            raise ValueError(problem)
        total = self._text_total + len(action.text) + len(action.work_name)
        if total > MAX_TEXT_TOTAL:
            raise RuntimeError(
                f"the mail texts, submitted jobs and work names of one run exceed {MAX_TEXT_TOTAL}"
            )
        object.__setattr__(self, "_text_total", total)
        self._actions.append(action)

    def _job_command(self, command: str, jobs: object) -> None:
        verb, subjobs = _JOB_COMMANDS[command]
        for item in _several(jobs, pairs=False):
            job_id, subjob = _job_ref(item)
            if subjob is None:
                self._add(CallbackAction(verb, Scope.JOB, job_id))
            elif subjobs:
                self._add(CallbackAction(verb, Scope.SUBJOB, job_id, subjob_id=subjob))
            else:
                raise ValueError(f"qb.{command}() acts on jobs, not on subjob {item!r}")

    def _work_command(self, command: str, works: object) -> None:
        verb = _WORK_COMMANDS[command]
        for item in _several(works, pairs=True):
            job_id, name = _work_ref(item)
            self._add(CallbackAction(verb, Scope.WORK, job_id, work_name=name))

    def mail(self, text: str = "") -> None:
        """Mail the owner's ``mailaddress`` (the supervisor's status mail when ``text`` is "")."""
        if type(text) is not str:
            raise TypeError("qb.mail() takes a string")
        if len(text) > MAX_MAIL_TEXT:
            raise ValueError(f"a mail text has at most {MAX_MAIL_TEXT} characters")
        self._add(CallbackAction(Verb.MAIL, Scope.JOB, self._owner_id, text=text))

    def submit(self, jobs: object, pgrp: int = 0) -> None:
        """Submit jobs as the callback's owner, Qube style: ``qb.submit({"name": ..., "package":
        {"cmdline": ...}})`` or a list of such dicts; ``pgrp``: join that process group.

        The jobs are checked and submitted by the supervisor after the code returns, with the
        run's other actions, all or none, exactly as a Submit from the owner would be. So this
        returns None, not job ids: the run's record (its output) lists the jobs submitted.
        """
        text, count = encode_submission(jobs, pgrp)
        if self._submitted + count > MAX_SUBMIT_JOBS:
            raise RuntimeError(f"a callback run submits at most {MAX_SUBMIT_JOBS} jobs")
        self._add(CallbackAction(Verb.SUBMIT, Scope.JOB, self._owner_id, text=text))
        object.__setattr__(self, "_submitted", self._submitted + count)


def _job_function(name: str) -> Callable[[Qb, object], None]:
    verb = _JOB_COMMANDS[name][0]

    def command(self: Qb, jobs: object) -> None:
        self._job_command(name, jobs)

    command.__name__ = command.__qualname__ = name
    command.__doc__ = f"Ask the supervisor to {verb} these jobs (ids, or 'id.subid' strings)."
    return command


def _work_function(name: str) -> Callable[[Qb, object], None]:
    verb = _WORK_COMMANDS[name]

    def command(self: Qb, works: object) -> None:
        self._work_command(name, works)

    command.__name__ = command.__qualname__ = name
    command.__doc__ = f"Ask the supervisor to {verb} these work items ('id:name' strings)."
    return command


# qb's action functions come from the verb table: a verb added there (with its qb names) is a
# qb function here with no edit.
for _name in _JOB_COMMANDS:
    setattr(Qb, _name, _job_function(_name))
for _name in _WORK_COMMANDS:
    setattr(Qb, _name, _work_function(_name))


def recorded_actions(qb: Qb) -> list[CallbackAction]:
    """The actions ``qb`` recorded, in order (for the worker; callback code cannot call it)."""
    return list(qb._actions)  # noqa: SLF001


def callback_names(
    qb: Qb,
    event: Mapping[str, object],
    job: Mapping[str, object],
    tree: list[dict[str, object]] | None,
    binding: str,
) -> dict[str, object]:
    """The names callback code runs with, besides the builtins."""
    return {
        "qb": qb,
        "event": Record({**event, "binding": binding}, "event"),
        "job": Record(job, "job"),
        "tree": None
        if tree is None
        else tuple(Record(item, f"tree[{index}]") for index, item in enumerate(tree)),
    }
