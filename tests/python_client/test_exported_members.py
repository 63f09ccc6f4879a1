"""The public surface of ``latchwork.client`` is pinned: a change is a decision, not an accident.

Scripts import from the package (``from latchwork.client import Client, NotFoundError``) and the
docs name a few module addresses (``latchwork.client.aio.AsyncClient``, ``resume_sync``). Moving
code between the modules behind them (``client``, ``aio``, ``_base``, ``errors``) must keep every
one of those names, and add none by accident.
"""

from __future__ import annotations

import types

import latchwork.client
from latchwork.client import aio, client, errors, qb

# What ``latchwork.client`` exports; adding or removing a name means editing this list.
PUBLIC = [
    "AlreadyExistsError",
    "AsyncClient",
    "Client",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "FieldViolation",
    "InternalError",
    "InvalidArgumentError",
    "LatchworkError",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "RequestError",
    "ResourceExhaustedError",
    "StreamGapError",
    "UnauthenticatedError",
    "UnavailableError",
    "job_spec_from_dict",
]


def test_all_is_pinned() -> None:
    assert latchwork.client.__all__ == PUBLIC


def test_every_exported_name_exists() -> None:
    for name in PUBLIC:
        assert hasattr(latchwork.client, name), name


def test_nothing_public_is_left_out_of_all() -> None:
    """Every public, non-module attribute of the package is in ``__all__``: nothing leaks."""
    public = {
        name
        for name, value in vars(latchwork.client).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(PUBLIC)


def test_every_error_is_one_class_whatever_the_address() -> None:
    """``except latchwork.client.X`` catches what any module raises: one class per error."""
    for name in PUBLIC:
        if name.endswith("Error") or name == "FieldViolation":
            assert getattr(latchwork.client, name) is getattr(errors, name), name
    assert aio.StreamGapError is latchwork.client.StreamGapError


def test_documented_module_addresses_still_resolve() -> None:
    """The addresses docs/python-client.md and docs/subscribe.md give, and the CLI uses."""
    assert aio.AsyncClient is latchwork.client.AsyncClient
    assert callable(aio.resume_sync)
    assert client.Client is latchwork.client.Client
    assert client.__all__ == [
        "Client",
        "FieldViolation",
        "LatchworkError",
        "call_metadata",
        "open_channel",
    ]
    for name in client.__all__:
        assert hasattr(client, name), name


# What ``latchwork.client.qb`` offers (Qube's names); the modules behind it (qb_objects,
# qb_jobinfo, qb_work, qb_connection, qb_hosts) may move code, never these names.
QB_PUBLIC = [
    "Host",
    "Job",
    "JobAttributeError",
    "LatchworkError",
    "Work",
    "block",
    "blockwork",
    "connect",
    "genchunks",
    "genframes",
    "hostinfo",
    "interrupt",
    "jobinfo",
    "kill",
    "killwork",
    "modify",
    "remove",
    "requeue",
    "requeuework",
    "resume",
    "retry",
    "retrywork",
    "submit",
    "submitcallback",
    "suspend",
    "unblock",
    "unblockwork",
    "waitfor",
    "workblock",
    "workinfo",
    "workkill",
    "workrequeue",
    "workretry",
    "workunblock",
]


def test_qb_surface_is_pinned() -> None:
    assert qb.__all__ == QB_PUBLIC
    for name in QB_PUBLIC:
        assert hasattr(qb, name), name
    assert qb.LatchworkError is latchwork.client.LatchworkError
    assert qb.requeuework is qb.workrequeue
    assert qb.retrywork is qb.workretry and qb.blockwork is qb.workblock


# The calls ``Client`` and ``AsyncClient`` offer, the same names on both; adding one (as
# ``explain_job`` for ExplainJob, issue 15) means editing this list.
CLIENT_METHODS = [
    "add_callbacks",
    "callback_runs",
    "close",
    "control",
    "control_hosts",
    "explain_job",
    "get_host",
    "get_job",
    "list_hosts",
    "list_jobs",
    "lock_hosts",
    "modify_jobs",
    "submit",
    "subscribe",
    "summarize_farm",
    "unlock_hosts",
    "validate_trigger",
    "work_output",
]


def test_client_methods_are_pinned_and_the_same_sync_and_async() -> None:
    for cls in (latchwork.client.Client, latchwork.client.AsyncClient):
        assert sorted(n for n in dir(cls) if not n.startswith("_")) == CLIENT_METHODS, cls
