"""The ``qube`` callback language: Qube's code strings such as ``unblock-self``.

It is data, not code: a list of commands checked at submit and turned into actions when the
callback fires, so it runs in the supervisor without a sandbox.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .actions import Action, Scope, Verb

# command -> (verb, scope). Interrupt, migrate and preempt all take a running instance off its
# host and put its work back in the queue; on Latchwork that is one thing: requeue.
COMMANDS: dict[str, tuple[Verb, Scope]] = {
    "unblock-self": (Verb.UNBLOCK, Scope.JOB),
    "block-self": (Verb.BLOCK, Scope.JOB),
    "fail-self": (Verb.FAIL, Scope.JOB),
    "kill-self": (Verb.KILL, Scope.JOB),
    "suspend-self": (Verb.SUSPEND, Scope.JOB),
    "resume-self": (Verb.RESUME, Scope.JOB),
    "retry-self": (Verb.RETRY, Scope.JOB),
    "remove-self": (Verb.REMOVE, Scope.JOB),
    "interrupt-self": (Verb.REQUEUE, Scope.JOB),
    "migrate-self": (Verb.REQUEUE, Scope.JOB),
    "preempt-self": (Verb.REQUEUE, Scope.JOB),
    "unblock-work-self": (Verb.UNBLOCK, Scope.WORK),
    "block-work-self": (Verb.BLOCK, Scope.WORK),
    "kill-work-self": (Verb.KILL, Scope.WORK),
    "retry-work-self": (Verb.RETRY, Scope.WORK),
    "requeue-work-self": (Verb.REQUEUE, Scope.WORK),
    "complete-work-self": (Verb.COMPLETE, Scope.WORK),
    "fail-work-self": (Verb.FAIL, Scope.WORK),
    "kill-subjob-self": (Verb.KILL, Scope.SUBJOB),
    "retry-subjob-self": (Verb.RETRY, Scope.SUBJOB),
    "requeue-subjob-self": (Verb.REQUEUE, Scope.SUBJOB),
    "interrupt-subjob-self": (Verb.REQUEUE, Scope.SUBJOB),
    "migrate-subjob-self": (Verb.REQUEUE, Scope.SUBJOB),
    "preempt-subjob-self": (Verb.REQUEUE, Scope.SUBJOB),
    "mail-status": (Verb.MAIL, Scope.JOB),
}

_SEPARATOR = re.compile(r"[;\n]")


class QubeCodeError(ValueError):
    """A command that does not exist or cannot act; ``offset`` points into the code."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at {offset}")
        self.message = message
        self.offset = offset


@dataclass(frozen=True, slots=True)
class QubeCommand:
    text: str
    verb: Verb
    scope: Scope
    offset: int


def parse_qube(code: str) -> list[QubeCommand]:
    """The commands of ``code`` (separated by newlines or ';'); at least one."""
    commands: list[QubeCommand] = []
    position = 0
    for piece in _SEPARATOR.split(code):
        stripped = piece.strip()
        offset = position + len(piece) - len(piece.lstrip())
        position += len(piece) + 1
        if not stripped or stripped.startswith("#"):
            continue
        entry = COMMANDS.get(stripped)
        if entry is None:
            close = difflib.get_close_matches(stripped, COMMANDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise QubeCodeError(f"unknown qube command {stripped!r}{hint}", offset)
        commands.append(QubeCommand(stripped, entry[0], entry[1], offset))
    if not commands:
        raise QubeCodeError("no command: write e.g. 'unblock-self'", 0)
    return commands


def qube_actions(
    commands: list[QubeCommand], owner_id: int, work_name: str, subjob_id: int
) -> list[Action]:
    """The actions ``commands`` ask for, aimed at the owner (and the bound work or subjob)."""
    actions: list[Action] = []
    for command in commands:
        if command.scope is Scope.WORK:
            actions.append(Action(command.verb, Scope.WORK, owner_id, work_name=work_name))
        elif command.scope is Scope.SUBJOB:
            actions.append(Action(command.verb, Scope.SUBJOB, owner_id, subjob_id=subjob_id))
        else:
            actions.append(Action(command.verb, Scope.JOB, owner_id))
    return actions
