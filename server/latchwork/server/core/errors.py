"""The one tree of errors the supervisor answers a caller with.

Every kind says what the caller did wrong (an invalid request, a missing job, a reused request
id, someone else's job, a cursor outside the log, a step skipped) or what is unavailable (the
storage, whose errors in ``store/errors.py`` derive from ``SupervisorError`` too). A servicer
raises them and never catches them: ``api/errors.py`` maps each kind to its gRPC status once,
and the interceptor in ``api/unexpected.py`` applies that mapping to every RPC. Anything else a
handler lets escape is a bug, answered INTERNAL.

This lives in the core because the core's validation raises ``InvalidRequest`` (as
``SubmissionRejected``); so, like the rest of the core, it imports the standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem in a request: where it is and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SupervisorError(Exception):
    """A request the supervisor did not carry out; nothing was changed.

    ``str(error)`` is the message the caller reads: plain English, bounded on the way out, never
    a class name. Catch this (or a kind) in code that is not a servicer; a servicer lets it go.
    """


class InvalidRequest(SupervisorError):
    """The request is wrong; carries every problem found, so one refusal names them all."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


class NotFound(SupervisorError):
    """A job or work item the request names does not exist."""


class AlreadyExists(SupervisorError):
    """Something the request would create exists already (a request id used for another
    request)."""


class PermissionDenied(SupervisorError):
    """The caller may not do this: another user's job, group or parent, and not an admin."""


class OutOfRange(SupervisorError):
    """A position outside what exists: beyond the event log's head, or no longer retained."""


class FailedPrecondition(SupervisorError):
    """The caller skipped a step the call needs (a worker the supervisor no longer knows must
    register again); retrying the same call will not help."""
