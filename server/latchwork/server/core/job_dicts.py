"""Qube job dicts to job specs, for the jobs a callback submits with ``qb.submit``.

The Python client reads the same dicts into protobuf messages (``latchwork.client.jobspec``);
callback code has no client, so the supervisor reads them here, into :class:`JobSpec`, with
the same keys: every plain field under its own name (``name``, ``priority``, ``env``...), and
the shaped ones as Qube spells them (``package: {cmdline, range, padding}``, ``prototype``,
``status``, ``agenda``, ``callbacks``). A key it does not know is an error naming it, never
dropped: a job must not run without a condition its author set. The specs then go through the
Submit's own checks (``core.submission``), so the errors read the same as a Submit's.

Pure and standard library only: what a worker sent is untrusted and each value's type is
checked before it is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import FieldError
from .model import (
    PLAIN_SPEC_FIELDS,
    CallbackSpec,
    JobSpec,
    Prototype,
    WorkSpec,
)
from .states import JobStatus, WorkStatus

ALIASES = {"retrywork": "retry"}
"""Other Qube spellings of a field, as the Python client reads them."""

_KIND = {name: str(JobSpec.__dataclass_fields__[name].type) for name in PLAIN_SPEC_FIELDS}
_STATUS = {"pending": JobStatus.PENDING, "blocked": JobStatus.BLOCKED}
_WORK_STATUS = {"pending": WorkStatus.PENDING, "blocked": WorkStatus.BLOCKED}
_CALLBACK_KEYS = frozenset(
    {"triggers", "language", "code", "max", "work", "catch_up", "criteria", "include_data"}
)


class _Reader:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, where: str, message: str) -> None:
        self.errors.append(FieldError(where, message))

    def text(self, value: Any, where: str) -> str:
        if type(value) in (str, int, float):
            return str(value)
        self.fail(where, f"expected a string, got {type(value).__name__}")
        return ""

    def number(self, value: Any, where: str) -> int:
        if type(value) is int:
            return int(value)
        if type(value) is str and value.strip().lstrip("-").isdigit() and len(value) < 20:
            return int(value)
        self.fail(where, f"{str(value)[:40]!r} is not a whole number")
        return 0

    def flag(self, value: Any, where: str) -> bool:
        if type(value) is bool or value in (0, 1):
            return bool(value)
        self.fail(where, f"{str(value)[:40]!r} is not true or false")
        return False

    def strings(self, value: Any, where: str) -> dict[str, str]:
        if type(value) is not dict:
            self.fail(where, "expected a dictionary")
            return {}
        return {str(k): self.text(v, f"{where}.{k}") for k, v in value.items()}

    def job(self, job: Mapping[str, Any], where: str) -> JobSpec:
        spec = JobSpec()
        for key, value in job.items():
            at = f"{where}.{key}"
            name = ALIASES.get(key, key)
            if name in _KIND:
                kind = _KIND[name]
                if kind == "str":
                    setattr(spec, name, self.text(value, at))
                elif kind == "int":
                    setattr(spec, name, self.number(value, at))
                elif kind == "bool":
                    setattr(spec, name, self.flag(value, at))
                else:
                    setattr(spec, name, self.strings(value, at))
            elif name == "status":
                if value not in _STATUS:
                    self.fail(at, f"{str(value)[:40]!r} is not 'pending' or 'blocked'")
                else:
                    spec.status = _STATUS[value]
            elif name == "prototype":
                if value not in ("cmdline", "cmdrange"):
                    self.fail(at, f"{str(value)[:40]!r} is not 'cmdline' or 'cmdrange'")
                else:
                    spec.prototype = Prototype(value)
            elif name == "package":
                self.package(spec, value, at)
            elif name == "agenda":
                spec.agenda = [self.work(item, f"{at}[{i}]") for i, item in enumerate(_list(value))]
            elif name == "callbacks":
                spec.callbacks = [
                    self.callback(item, f"{at}[{i}]") for i, item in enumerate(_list(value))
                ]
            elif name != "pgrp":  # the submission's group: read by the caller
                self.fail(at, "unknown job attribute")
        return spec

    def package(self, spec: JobSpec, package: Any, where: str) -> None:
        if type(package) is not dict:
            self.fail(where, "expected a dictionary with 'cmdline'")
            return
        for key, value in package.items():
            if key == "cmdline":
                spec.cmdline = self.text(value, f"{where}.cmdline")
            elif key in ("range", "frame_range"):
                spec.frame_range = self.text(value, f"{where}.{key}")
            elif key == "padding":
                spec.padding = self.number(value, f"{where}.padding")
            else:
                self.fail(f"{where}.{key}", "unknown package key")

    def work(self, item: Any, where: str) -> WorkSpec:
        if type(item) in (str, int):
            return WorkSpec(str(item))
        if type(item) is dict and "name" in item:
            work = WorkSpec(self.text(item["name"], f"{where}.name"))
            status = item.get("status")
            if status is not None:
                if status not in _WORK_STATUS:
                    self.fail(
                        f"{where}.status", f"{str(status)[:40]!r} is not 'pending' or 'blocked'"
                    )
                else:
                    work.status = _WORK_STATUS[status]
            return work
        self.fail(where, "expected a work name or a dictionary with 'name'")
        return WorkSpec("")

    def callback(self, item: Any, where: str) -> CallbackSpec:
        if type(item) is not dict:
            self.fail(where, "expected a dictionary with 'triggers' and 'code'")
            return CallbackSpec("", "qube", "")
        for key in item:
            if key not in _CALLBACK_KEYS:
                self.fail(f"{where}.{key}", "unknown callback attribute")
        spec = CallbackSpec(
            triggers=self.text(item.get("triggers", ""), f"{where}.triggers"),
            language=self.text(item.get("language", "qube"), f"{where}.language"),
            code=self.text(item.get("code", ""), f"{where}.code"),
            max=self.number(item.get("max", 0), f"{where}.max"),
            work=self.text(item.get("work", ""), f"{where}.work"),
            criteria=self.strings(item.get("criteria") or {}, f"{where}.criteria"),
            include_data=[
                self.text(k, f"{where}.include_data[{i}]")
                for i, k in enumerate(_list(item.get("include_data")))
            ],
        )
        if "catch_up" in item:
            spec.catch_up = self.flag(item["catch_up"], f"{where}.catch_up")
        return spec


def _list(value: Any) -> list[Any]:
    return list(value) if type(value) is list else [] if value is None else [value]


def job_specs(
    jobs: tuple[Mapping[str, Any], ...], path: str
) -> tuple[list[JobSpec], list[FieldError]]:
    """The specs of Qube job dicts, or every problem with its field path (``path``
    ``jobs[0].package.cmdline``...). A job's own ``pgrp`` key is left to the caller."""
    reader = _Reader()
    specs = [reader.job(job, f"{path}jobs[{i}]") for i, job in enumerate(jobs)]
    return specs, reader.errors


def dict_pgrp(
    jobs: tuple[Mapping[str, Any], ...], pgrp: int, path: str
) -> tuple[int, list[FieldError]]:
    """The group the jobs join: ``pgrp``, or the ``pgrp`` their dicts name (Qube's way); they
    must agree, as the Python client's ``submission_pgrp`` demands."""
    chosen: tuple[str, int] | None = (f"{path}pgrp", pgrp) if pgrp else None
    for index, job in enumerate(jobs):
        if "pgrp" not in job:
            continue
        where = f"{path}jobs[{index}].pgrp"
        value = job["pgrp"]
        if type(value) is not int or value < 0:
            return 0, [FieldError(where, f"{str(value)[:40]!r} is not a process group id")]
        if chosen is None:
            chosen = (where, value)
        elif chosen[1] != value:
            return 0, [
                FieldError(
                    where,
                    f"{value} differs from {chosen[0]} ({chosen[1]}): one submission joins one "
                    "process group",
                )
            ]
    return (chosen[1] if chosen else 0), []
