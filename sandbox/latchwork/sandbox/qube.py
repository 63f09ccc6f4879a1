"""The ``qube`` callback language: Qube's code strings such as ``unblock-self``.

It is data, not code: a list of commands checked at submit and turned into actions when the
callback fires, so it runs in the supervisor without a sandbox.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .actions import VERBS, CallbackAction, Scope, Verb

COMMANDS: Mapping[str, tuple[Verb, Scope]] = MappingProxyType(
    {
        command: (verb, scope)
        for verb, spec in VERBS.items()
        for scope, spelling in spec.spellings().items()
        for command in spelling.qube
    }
)
"""command -> (verb, scope), derived from the one table of verbs (``actions.VERBS``)."""

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
) -> list[CallbackAction]:
    """The actions ``commands`` ask for, aimed at the owner (and the bound work or subjob)."""
    actions: list[CallbackAction] = []
    for command in commands:
        if command.scope is Scope.WORK:
            actions.append(CallbackAction(command.verb, Scope.WORK, owner_id, work_name=work_name))
        elif command.scope is Scope.SUBJOB:
            actions.append(
                CallbackAction(command.verb, Scope.SUBJOB, owner_id, subjob_id=subjob_id)
            )
        else:
            actions.append(CallbackAction(command.verb, Scope.JOB, owner_id))
    return actions
