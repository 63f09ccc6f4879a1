"""The size limits and NUL bytes of a submission, checked before anything else about it.

Counts first (:func:`container_problems`: what a request carries, before it is even
converted), then the size of every string and map of each job and callback. Every problem is
reported under its field path (``jobs[2].env['PATH']``), so a client can fix all at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Sized
from typing import Protocol

from .errors import FieldError
from .limits import DEFAULT_LIMITS, Limits
from .model import PLAIN_SPEC_FIELDS, CallbackSpec, JobSpec

NUL_MESSAGE = "contains a NUL byte"


def byte_size(text: str) -> int:
    """Its size in UTF-8 bytes, what the kernel counts (lone surrogates included)."""
    return len(text.encode("utf-8", "surrogatepass"))


def key_in_path(key: str) -> str:
    """A map key as it appears in a field path: quoted, and cut short when it is long."""
    return repr(key if len(key) <= 40 else key[:40] + "...")


class _JobCounts(Protocol):
    """The containers of a job as a request carries them (a protobuf JobSpec, or a JobSpec)."""

    @property
    def agenda(self) -> Sized: ...

    @property
    def env(self) -> Sized: ...

    @property
    def data(self) -> Sized: ...

    @property
    def callbacks(self) -> Sequence[_CallbackCounts]: ...


class _CallbackCounts(Protocol):
    @property
    def criteria(self) -> Sized: ...

    @property
    def include_data(self) -> Sized: ...


def container_problems(
    jobs: Sequence[_JobCounts], request_bytes: int = 0, limits: Limits = DEFAULT_LIMITS
) -> list[FieldError]:
    """The count limits of a request's lists and maps, checked before anything is converted.

    Converting a request costs time in proportion to its entries, on the event loop; counting
    them costs nothing. A request refused here is refused before any other work.
    """
    errors: list[FieldError] = []
    if request_bytes > limits.request_bytes:
        errors.append(
            FieldError(
                "request",
                f"the request is {request_bytes} bytes; a Submit is at most "
                f"{limits.request_bytes} bytes (split it into several)",
            )
        )
    if len(jobs) > limits.jobs_per_submit:
        errors.append(
            FieldError(
                "jobs",
                f"{len(jobs)} jobs; a Submit has at most {limits.jobs_per_submit} "
                "(split it into several, in the same pgrp)",
            )
        )
    if errors:
        return errors
    for index, job in enumerate(jobs):
        path = f"jobs[{index}]"
        for field, count, limit in (
            ("agenda", len(job.agenda), limits.work_items_per_job),
            ("env", len(job.env), limits.env_vars),
            ("data", len(job.data), limits.data_entries),
            ("callbacks", len(job.callbacks), limits.callbacks_per_job),
        ):
            if count > limit:
                errors.append(FieldError(f"{path}.{field}", f"{count} entries; at most {limit}"))
        if len(job.callbacks) > limits.callbacks_per_job:
            continue
        for number, callback in enumerate(job.callbacks):
            where = f"{path}.callbacks[{number}]"
            for field, count, limit in (
                ("criteria", len(callback.criteria), limits.criteria_entries),
                ("include_data", len(callback.include_data), limits.include_data_entries),
            ):
                if count > limit:
                    errors.append(
                        FieldError(f"{where}.{field}", f"{count} entries; at most {limit}")
                    )
    return errors


class _Checker:
    """Collects size and NUL problems of one job's fields under their paths."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[FieldError] = []

    def bad(self, field: str, message: str) -> None:
        self.errors.append(FieldError(f"{self.path}.{field}" if field else self.path, message))

    def text(self, field: str, value: str, limit: int, *, unit: str = "bytes") -> None:
        """``value`` has no NUL and is within ``limit`` (characters or bytes)."""
        if "\x00" in value:
            self.bad(field, NUL_MESSAGE)
        size = byte_size(value) if unit == "bytes" else len(value)
        if size > limit:
            self.bad(field, f"{size} {unit}; at most {limit}")

    def mapping(
        self,
        field: str,
        values: Mapping[str, str],
        *,
        entries: int,
        key_bytes: int,
        value_bytes: int,
        total_bytes: int,
    ) -> None:
        if len(values) > entries:
            self.bad(field, f"{len(values)} entries; at most {entries}")
            return
        total = 0
        for key, value in values.items():
            where = f"{field}[{key_in_path(key)}]"
            if "\x00" in key:
                self.bad(where, "the name " + NUL_MESSAGE)
            elif byte_size(key) > key_bytes:
                self.bad(where, f"the name is {byte_size(key)} bytes; at most {key_bytes}")
            self.text(where, value, value_bytes)
            total += byte_size(key) + byte_size(value) + 2
        if total > total_bytes:
            self.bad(field, f"{total} bytes in all; at most {total_bytes}")

    def names(self, field: str, values: Iterable[str], entries: int, key_bytes: int) -> None:
        names = list(values)
        if len(names) > entries:
            self.bad(field, f"{len(names)} entries; at most {entries}")
            return
        for index, name in enumerate(names):
            self.text(f"{field}[{index}]", name, key_bytes)


def check_callback_sizes(
    spec: CallbackSpec, path: str, limits: Limits = DEFAULT_LIMITS
) -> list[FieldError]:
    """A callback's size limits and NUL bytes, checked before anything is compiled."""
    check = _Checker(path)
    check.text("triggers", spec.triggers, limits.trigger_chars, unit="characters")
    check.text("language", spec.language, limits.language_chars, unit="characters")
    check.text("code", spec.code, limits.code_bytes)
    check.mapping(
        "criteria",
        spec.criteria,
        entries=limits.criteria_entries,
        key_bytes=limits.criteria_key_bytes,
        value_bytes=limits.criteria_value_bytes,
        total_bytes=limits.criteria_entries * limits.criteria_value_bytes,
    )
    check.names(
        "include_data", spec.include_data, limits.include_data_entries, limits.data_key_bytes
    )
    return check.errors


# The plain text and map fields job_size_problems checks by name, each with its own limit.
_CHECKED_BY_NAME = frozenset(
    {"name", "label", "user", "cwd", "mailaddress", "dependency", "env", "data"}
)
_DEFAULTS = JobSpec()
_UNCHECKED_TEXT = tuple(
    name
    for name in PLAIN_SPEC_FIELDS
    if name not in _CHECKED_BY_NAME and isinstance(getattr(_DEFAULTS, name), str)
)
_UNCHECKED_MAPS = tuple(
    name
    for name in PLAIN_SPEC_FIELDS
    if name not in _CHECKED_BY_NAME and isinstance(getattr(_DEFAULTS, name), dict)
)


def job_size_problems(spec: JobSpec, path: str, limits: Limits) -> list[FieldError]:
    """Every size limit and NUL byte of one job (its counts were checked before)."""
    check = _Checker(path)
    check.text("name", spec.name, limits.name_chars, unit="characters")
    check.text("label", spec.label, limits.label_chars, unit="characters")
    check.text("user", spec.user, limits.name_chars, unit="characters")
    check.text("command.cmdline", spec.cmdline, limits.cmdline_bytes)
    check.text("command.frame_range", spec.frame_range, limits.frame_range_chars, unit="characters")
    if spec.padding > limits.padding:
        check.bad("command.padding", f"{spec.padding}; at most {limits.padding}")
    check.text("cwd", spec.cwd, limits.cwd_bytes)
    check.text("mailaddress", spec.mailaddress, limits.mailaddress_bytes)
    check.text("dependency", spec.dependency, limits.dependency_chars, unit="characters")
    check.mapping(
        "env",
        spec.env,
        entries=limits.env_vars,
        key_bytes=limits.env_name_bytes,
        value_bytes=limits.env_value_bytes,
        total_bytes=limits.env_total_bytes,
    )
    check.mapping(
        "data",
        spec.data,
        entries=limits.data_entries,
        key_bytes=limits.data_key_bytes,
        value_bytes=limits.data_value_bytes,
        total_bytes=limits.data_total_bytes,
    )
    # A plain field added later without a line above is still bounded (and NUL-free).
    for name in _UNCHECKED_TEXT:
        check.text(name, getattr(spec, name), limits.other_text_bytes)
    for name in _UNCHECKED_MAPS:
        check.mapping(
            name,
            getattr(spec, name),
            entries=limits.data_entries,
            key_bytes=limits.data_key_bytes,
            value_bytes=limits.data_value_bytes,
            total_bytes=limits.data_total_bytes,
        )
    # The agenda's and the callbacks' counts: container_problems, before this.
    for index, callback in enumerate(spec.callbacks):
        check.errors.extend(check_callback_sizes(callback, f"{path}.callbacks[{index}]", limits))
    return check.errors
