"""The wire between the supervisor and a sandbox worker: length-prefixed JSON, never pickle.

Every message is a 4-byte big-endian length, then that many bytes of UTF-8 JSON (an object).
The supervisor sends the worker its settings on the command line and then one request per
run; the worker answers ``{"ready": ...}`` once it is locked down, then one reply per request.

The worker is untrusted: :func:`action_from_wire` re-validates every action it returns, and
the parent caps the size of every reply before reading it.
"""

from __future__ import annotations

import json
import re
import struct
from typing import Any

from latchwork.sandbox.actions import CallbackAction, Scope, Verb, verbs_for
from latchwork.sandbox.submission import SubmissionError, decode_submission

HEADER = struct.Struct(">I")
MAX_REQUEST_BYTES = 64 * 2**20

MAX_ACTIONS = 1000
"""At most this many actions per run."""
MAX_NAME_LENGTH = 256
"""Work names: at most this long, no whitespace (as the supervisor accepts them)."""
MAX_MAIL_TEXT = 16 * 1024
"""One ``qb.mail()`` text: at most this many characters."""
MAX_TEXT_TOTAL = 256 * 1024
"""All the mail texts, submitted jobs (``qb.submit``'s JSON) and work names of one run together:
at most this many characters."""
MAX_ERROR_LENGTH = 2000
MAX_JOB_ID = 2**63 - 1
MAX_SUBJOB_ID = 2**31 - 1

_WORK_NAME = re.compile(r"\S+")
# Which verb applies to which scope: derived from the one table, latchwork.sandbox.actions.VERBS.
_SUBJOB_VERBS = verbs_for(Scope.SUBJOB)
_WORK_VERBS = verbs_for(Scope.WORK)
_JOB_VERBS = verbs_for(Scope.JOB)


class ProtocolError(Exception):
    """The other side broke the protocol (for the parent: the worker cannot be trusted)."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame. ASCII JSON: lone surrogates travel escaped instead of failing."""
    body = json.dumps(message, separators=(",", ":")).encode("ascii")
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message is a JSON object")
    return message


def valid_work_name(name: str) -> bool:
    if not name or len(name) > MAX_NAME_LENGTH or not _WORK_NAME.fullmatch(name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_action(action: CallbackAction) -> str | None:
    """Why ``action`` is malformed, or None. The same rules on both sides of the wire."""
    if not 0 < action.job_id <= MAX_JOB_ID:
        return f"job id {action.job_id} is out of range"
    if action.scope is Scope.WORK:
        if action.verb not in _WORK_VERBS:
            return f"{action.verb.value} does not apply to a work item"
        if not valid_work_name(action.work_name):
            return f"invalid work name {action.work_name[:40]!r}"
    elif action.work_name:
        return "only a work action names a work item"
    if action.scope is Scope.SUBJOB:
        if action.verb not in _SUBJOB_VERBS:
            return f"{action.verb.value} does not apply to a subjob"
        if not 0 <= action.subjob_id <= MAX_SUBJOB_ID:
            return f"subjob id {action.subjob_id} is out of range"
    elif action.subjob_id != -1:
        return "only a subjob action names a subjob"
    if action.scope is Scope.JOB and action.verb not in _JOB_VERBS:
        return f"{action.verb.value} does not apply to a job"
    if action.verb is Verb.MAIL:
        if action.scope is not Scope.JOB:
            return "mail is sent about a job"
        if len(action.text) > MAX_MAIL_TEXT:
            return f"a mail text has at most {MAX_MAIL_TEXT} characters"
    elif action.verb is Verb.SUBMIT:
        if action.scope is not Scope.JOB:
            return "jobs are submitted by the callback's own job"
        try:
            decode_submission(action.text)
        except SubmissionError as error:
            return f"submit: {error}"
    elif action.text:
        return "only a mail or submit action has a text"
    return None


def action_to_wire(action: CallbackAction) -> dict[str, Any]:
    return {
        "verb": action.verb.value,
        "scope": action.scope.value,
        "job_id": action.job_id,
        "work_name": action.work_name,
        "subjob_id": action.subjob_id,
        "text": action.text,
    }


_ACTION_KEYS = frozenset({"verb", "scope", "job_id", "work_name", "subjob_id", "text"})


def action_from_wire(data: object) -> CallbackAction:
    """An action from an untrusted worker, or ProtocolError: exact keys, exact types."""
    if not isinstance(data, dict) or set(data) != _ACTION_KEYS:
        raise ProtocolError("an action has exactly the keys " + ", ".join(sorted(_ACTION_KEYS)))
    verb, scope, job_id = data["verb"], data["scope"], data["job_id"]
    work_name, subjob_id, text = data["work_name"], data["subjob_id"], data["text"]
    if type(job_id) is not int or type(subjob_id) is not int:
        raise ProtocolError("job and subjob ids are integers")
    if type(work_name) is not str or type(text) is not str:
        raise ProtocolError("work names and texts are strings")
    try:
        action = CallbackAction(Verb(verb), Scope(scope), job_id, work_name, subjob_id, text)
    except (ValueError, TypeError):
        raise ProtocolError(
            f"unknown verb or scope {str(verb)[:20]!r}/{str(scope)[:20]!r}"
        ) from None
    problem = check_action(action)
    if problem:
        raise ProtocolError(problem)
    return action
