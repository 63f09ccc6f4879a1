"""The syntax tree of a trigger expression, and its canonical printed form.

Printing and parsing are inverse: ``parse(format(parse(text)))`` equals ``parse(text)``, so a
trigger can be shown back to its author exactly as the supervisor understood it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..events import EventName, EventType

# Qube counts time in seconds since 2000-01-01 00:00 US Eastern (Unix time 946702800).
QUBE_EPOCH = 946_702_800

# The grammar's words come from the core enums, so an event added there is at once writable in a
# trigger (and an unknown word is refused with a suggestion instead of never firing).
# "done" is a trigger word only: no event is stored under it; it matches complete, failed or
# killed (see resolve.DONE_NAMES).
DONE = "done"
EVENT_NAMES: tuple[str, ...] = (*(name.value for name in EventName), DONE)
# Global atoms have their own form (globaltime-TIME, globalrepeat-TIME-SECONDS) and no context.
GLOBAL_TYPES: tuple[str, ...] = (EventType.GLOBALTIME.value, EventType.GLOBALREPEAT.value)
# Callback events announce callback runs; a trigger may not watch them (no feedback loops).
UNWATCHABLE_TYPES = frozenset({EventType.CALLBACK})
EVENT_TYPES: tuple[str, ...] = tuple(
    type_.value
    for type_ in EventType
    if type_ not in UNWATCHABLE_TYPES and type_.value not in GLOBAL_TYPES
)


_NUMBER = re.compile(r"[0-9]{1,12}")


def is_number(text: str) -> bool:
    """ASCII digits only, and few enough for ``int`` (``str.isdigit`` accepts '²')."""
    return _NUMBER.fullmatch(text) is not None


class TriggerSyntaxError(ValueError):
    """A trigger that cannot be read or resolved; ``offset`` is a character index into it."""

    def __init__(self, message: str, offset: int, hint: str = "") -> None:
        super().__init__(f"{message} at {offset}" + (f"; {hint}" if hint else ""))
        self.message = message
        self.offset = offset
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Atom:
    """``name-type-context[-extra]``, or a global time atom (context empty). A host atom's
    extra is the host's name or ``*``; its context is ``self`` (Qube's shape) or empty.

    ``time`` is Unix seconds for time, repeat and global atoms; ``seconds`` the repeat period.
    ``offset`` (where the atom starts in the text) is not part of its identity.
    """

    name: str
    type: str
    context: str = ""
    extra: str = ""
    time: int = 0
    seconds: int = 0
    offset: int = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Atom):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def key(self) -> tuple[str, str, str, str, int, int]:
        return (self.name, self.type, self.context, self.extra, self.time, self.seconds)

    @property
    def wildcard(self) -> bool:
        return self.extra == "*"

    def format(self) -> str:
        if self.type == "globaltime":
            return f"globaltime-{self.time - QUBE_EPOCH}"
        if self.type == "globalrepeat":
            return f"globalrepeat-{self.time - QUBE_EPOCH}-{self.seconds}"
        if self.type == "host" and not self.context:
            return f"{self.name}-host-{self.extra}"
        text = f"{self.name}-{self.type}-{self.context}"
        if self.type == "time":
            return f"{text}-{self.time - QUBE_EPOCH}"
        if self.type == "repeat":
            return f"{text}-{self.time - QUBE_EPOCH}-{self.seconds}"
        return f"{text}-{self.extra}" if self.extra else text


@dataclass(frozen=True, slots=True)
class AllOf:
    operands: tuple[Expr, ...]

    def format(self) -> str:
        return " && ".join(_nested(op, AnyOf) for op in self.operands)


@dataclass(frozen=True, slots=True)
class AnyOf:
    operands: tuple[Expr, ...]

    def format(self) -> str:
        return " || ".join(_nested(op, AllOf) for op in self.operands)


Expr = Atom | AllOf | AnyOf


def _nested(expr: Expr, needs_parens: type) -> str:
    text = expr.format()
    return f"({text})" if isinstance(expr, needs_parens) else text


def atoms(expr: Expr) -> list[Atom]:
    """Every atom of ``expr``, left to right."""
    if isinstance(expr, Atom):
        return [expr]
    return [atom for op in expr.operands for atom in atoms(op)]


def evaluate(expr: Expr, holds: set[Atom]) -> bool:
    if isinstance(expr, Atom):
        return expr in holds
    if isinstance(expr, AllOf):
        return all(evaluate(op, holds) for op in expr.operands)
    return any(evaluate(op, holds) for op in expr.operands)
